/**
 * The debug actions a workflow reaches through `ctx.debug`. Each runs the
 * debug agent next to the target container (in an ephemeral container) and
 * needs the capability of the same name, e.g. `debug.pythonProfile`.
 *
 * Results are the agent's JSON with large outputs replaced by
 * {@linkcode ArtifactRef} handles; they are typed loosely (the fields listed
 * are the ones a workflow can rely on, everything else is `unknown`).
 *
 * @module
 */

import type { PodRef } from "./event.ts";
import type { ArtifactRef } from "./finding.ts";
import type { CallOptions } from "./k8s.ts";

/**
 * The container a debug action targets: a {@linkcode PodRef}.
 *
 * @example
 * ```ts
 * import type { DebugTarget } from "./debug.ts";
 *
 * const target: DebugTarget = { namespace: "shop", name: "web-1", container: "app" };
 * ```
 */
export type DebugTarget = PodRef;

/**
 * The fields every debug result may carry, besides action-specific ones.
 *
 * @example
 * ```ts
 * import type { DebugResult } from "./debug.ts";
 *
 * const result: DebugResult = { pid: 7, warnings: [] };
 * ```
 */
export interface DebugResult {
  /** The process the action ran against, when it ran against one. */
  readonly pid?: number;
  /** Non-fatal problems the agent met. */
  readonly warnings?: readonly string[];
  /** Anything else the agent returned. */
  readonly [key: string]: unknown;
}

/**
 * Options that pick a process in the target container.
 *
 * @example
 * ```ts
 * import type { PidOptions } from "./debug.ts";
 *
 * const options: PidOptions = { pid: 7 };
 * ```
 */
export interface PidOptions extends CallOptions {
  /** The process id in the container; the agent picks the main Python process when absent. */
  readonly pid?: number;
}

/**
 * One process in the target container.
 *
 * @example
 * ```ts
 * import type { ProcessInfo } from "./debug.ts";
 *
 * const process: ProcessInfo = { pid: 7, cmdline: "python app.py" };
 * ```
 */
export interface ProcessInfo {
  /** The process id. */
  readonly pid: number;
  /** The parent's process id. */
  readonly ppid?: number;
  /** The command line. */
  readonly cmdline?: string;
  /** Anything else the agent returned. */
  readonly [key: string]: unknown;
}

/**
 * The result of `ctx.debug.processList`.
 *
 * @example
 * ```ts
 * import type { ProcessListResult } from "./debug.ts";
 *
 * function pids(result: ProcessListResult): number[] {
 *   return (result.processes ?? []).map((process) => process.pid);
 * }
 * ```
 */
export interface ProcessListResult extends DebugResult {
  /** The processes in the container. */
  readonly processes?: readonly ProcessInfo[];
}

/**
 * Options of `ctx.debug.pythonProfile` (py-spy record).
 *
 * @example
 * ```ts
 * import type { PythonProfileOptions } from "./debug.ts";
 *
 * const options: PythonProfileOptions = { duration: 5, rate: 100 };
 * ```
 */
export interface PythonProfileOptions extends PidOptions {
  /** Seconds to sample. */
  readonly duration: number;
  /** Samples per second. */
  readonly rate?: number;
  /** Include idle (sleeping) threads. */
  readonly idle?: boolean;
  /** Profile child processes too. */
  readonly subprocesses?: boolean;
  /** Include native frames. */
  readonly native?: boolean;
}

/**
 * The result of `ctx.debug.pythonProfile`.
 *
 * @example
 * ```ts
 * import type { PythonProfileResult } from "./debug.ts";
 *
 * function svg(result: PythonProfileResult) {
 *   return result.flamegraph;
 * }
 * ```
 */
export interface PythonProfileResult extends DebugResult {
  /** The flamegraph (SVG), when the agent produced one. */
  readonly flamegraph?: ArtifactRef;
}

/**
 * Options of `ctx.debug.pythonStackTrace` (py-spy dump).
 *
 * @example
 * ```ts
 * import type { PythonStackTraceOptions } from "./debug.ts";
 *
 * const options: PythonStackTraceOptions = { count: 3, interval: 1, locals: false };
 * ```
 */
export interface PythonStackTraceOptions extends PidOptions {
  /** How many dumps to take. */
  readonly count?: number;
  /** Seconds between dumps. */
  readonly interval?: number;
  /** Include local variables. */
  readonly locals?: boolean;
}

/**
 * The result of `ctx.debug.pythonStackTrace`.
 *
 * @example
 * ```ts
 * import type { PythonStackTraceResult } from "./debug.ts";
 *
 * function dumps(result: PythonStackTraceResult): number {
 *   return result.dumps?.length ?? 0;
 * }
 * ```
 */
export interface PythonStackTraceResult extends DebugResult {
  /** One entry per dump, as the agent returned it. */
  readonly dumps?: readonly unknown[];
}

/**
 * Options of `ctx.debug.pythonMemory` (memray, or tracemalloc as a fallback).
 *
 * @example
 * ```ts
 * import type { PythonMemoryOptions } from "./debug.ts";
 *
 * const options: PythonMemoryOptions = { duration: 30 };
 * ```
 */
export interface PythonMemoryOptions extends PidOptions {
  /** Seconds to trace allocations. */
  readonly duration: number;
}

/**
 * The result of `ctx.debug.pythonMemory`.
 *
 * @example
 * ```ts
 * import type { PythonMemoryResult } from "./debug.ts";
 *
 * function tool(result: PythonMemoryResult): string {
 *   return String(result.tool ?? "unknown");
 * }
 * ```
 */
export interface PythonMemoryResult extends DebugResult {
  /** Which tracer ran, e.g. `memray` or `tracemalloc`. */
  readonly tool?: string;
}

/**
 * The result of `ctx.debug.pythonInspect`.
 *
 * @example
 * ```ts
 * import type { PythonInspectResult } from "./debug.ts";
 *
 * function version(result: PythonInspectResult): string {
 *   return String(result.pythonVersion ?? "unknown");
 * }
 * ```
 */
export interface PythonInspectResult extends DebugResult {
  /** The interpreter's version. */
  readonly pythonVersion?: string;
}

/**
 * Options of `ctx.debug.pythonDebugger` (debugpy listen).
 *
 * @example
 * ```ts
 * import type { PythonDebuggerOptions } from "./debug.ts";
 *
 * const options: PythonDebuggerOptions = { port: 5678 };
 * ```
 */
export interface PythonDebuggerOptions extends PidOptions {
  /** The port debugpy listens on in the pod. */
  readonly port: number;
}

/**
 * `ctx.debug`: run the debug agent against a container.
 *
 * @example
 * ```ts
 * import type { DebugClient, PythonProfileResult } from "./debug.ts";
 * import type { PodRef } from "./event.ts";
 *
 * function profile(debug: DebugClient, pod: PodRef): Promise<PythonProfileResult> {
 *   return debug.pythonProfile(pod, { duration: 5 });
 * }
 * ```
 */
export interface DebugClient {
  /** Lists the processes in the target container. */
  processList(target: DebugTarget, options?: CallOptions): Promise<ProcessListResult>;
  /** Samples a Python process with py-spy and renders a flamegraph. */
  pythonProfile(target: DebugTarget, options: PythonProfileOptions): Promise<PythonProfileResult>;
  /** Dumps the stacks of a Python process's threads. */
  pythonStackTrace(
    target: DebugTarget,
    options?: PythonStackTraceOptions,
  ): Promise<PythonStackTraceResult>;
  /** Traces a Python process's allocations. */
  pythonMemory(target: DebugTarget, options: PythonMemoryOptions): Promise<PythonMemoryResult>;
  /** Reports a Python process's interpreter, modules, threads and warnings. */
  pythonInspect(target: DebugTarget, options?: PidOptions): Promise<PythonInspectResult>;
  /** Makes a Python process listen for a debugger (debugpy) on a port. */
  pythonDebugger(target: DebugTarget, options: PythonDebuggerOptions): Promise<DebugResult>;
}
