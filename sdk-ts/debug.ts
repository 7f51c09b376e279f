/**
 * The debug actions a workflow reaches through `ctx.debug`. Each runs the
 * debug agent next to the target container (in an ephemeral container) and
 * needs the capability of the same name, e.g. `debug.pythonProfile`.
 *
 * Results are the agent's JSON replies (`host/agent/models.py`, keys in
 * camelCase) with every embedded file replaced by an {@linkcode ArtifactRef}
 * handle in `artifacts`: attach it to a finding as is. Every key the agent
 * sends is always present; "no value" is `null`, never a missing key. The
 * six results are object type aliases rather than interfaces, so each is
 * also a `Record<string, unknown>`.
 *
 * The host requires `pid` for every action but `processList`: list the
 * processes first and pick the Python ones (`python: true`).
 *
 * @module
 */

import type { PodRef } from "./event.ts";
import type { ArtifactRef } from "./finding.ts";
import type { CallOptions } from "./k8s.ts";

/**
 * The container a debug action targets: a {@linkcode PodRef}. Without
 * `container`, the host picks the pod's first container.
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
  /**
   * The process id, as `ctx.debug.processList` reports it. The host refuses
   * the call without one (`InvalidParamsError`).
   */
  readonly pid: number;
}

// --- processList ---------------------------------------------------------------------------

/**
 * One process in the target container, as `ctx.debug.processList` reports it.
 *
 * @example
 * ```ts
 * import type { ProcessInfo } from "./debug.ts";
 *
 * const process: ProcessInfo = {
 *   pid: 7,
 *   ppid: 1,
 *   user: "app",
 *   exe: "/usr/local/bin/python3.11",
 *   cmdline: ["python", "app.py"],
 *   threads: 4,
 *   rssBytes: 52_428_800,
 *   cpuPercent: 37.5,
 *   startTime: "2024-05-01T10:00:00Z",
 *   python: true,
 *   pythonVersion: "3.11",
 * };
 * ```
 */
export interface ProcessInfo {
  /** The process id. */
  readonly pid: number;
  /** The parent's process id. */
  readonly ppid: number;
  /** The user name (or numeric uid without a passwd entry); `null` when unreadable. */
  readonly user: string | null;
  /** The executable's path; `null` when unreadable. */
  readonly exe: string | null;
  /** The command line, one element per argument (empty for kernel threads). */
  readonly cmdline: readonly string[];
  /** The number of OS threads. */
  readonly threads: number;
  /** Resident memory in bytes. */
  readonly rssBytes: number;
  /** CPU use over the agent's short sampling window (100 = one core). */
  readonly cpuPercent: number;
  /** When the process started (RFC 3339). */
  readonly startTime: string;
  /** Whether the process is a CPython interpreter (the `python*` actions need one). */
  readonly python: boolean;
  /** The interpreter's `major.minor`, e.g. `3.11`, for Python processes; else `null`. */
  readonly pythonVersion: string | null;
}

/**
 * The result of `ctx.debug.processList`.
 *
 * @example
 * ```ts
 * import type { ProcessListResult } from "./debug.ts";
 *
 * function pythonPids(result: ProcessListResult): number[] {
 *   return result.processes.filter((process) => process.python).map((process) => process.pid);
 * }
 * ```
 */
export type ProcessListResult = {
  /**
   * Set when the agent only sees one process and its descendants (the local
   * cluster): that process's id. `null` in a pod, where every process of the
   * container is visible.
   */
  readonly scopePid: number | null;
  /** The processes, by pid. The agent leaves itself out. */
  readonly processes: readonly ProcessInfo[];
};

// --- pythonProfile -------------------------------------------------------------------------

/**
 * Options of `ctx.debug.pythonProfile` (py-spy record).
 *
 * @example
 * ```ts
 * import type { PythonProfileOptions } from "./debug.ts";
 *
 * const options: PythonProfileOptions = { pid: 7, duration: 5, rate: 100 };
 * ```
 */
export interface PythonProfileOptions extends PidOptions {
  /** Whole seconds to sample, 1 to 300. */
  readonly duration: number;
  /** Samples per second, 1 to 1000 (100 when absent). */
  readonly rate?: number;
  /** Include idle (waiting) threads. */
  readonly idle?: boolean;
  /** Profile child processes too. */
  readonly subprocesses?: boolean;
  /** Include native (C) frames. */
  readonly native?: boolean;
}

/**
 * One function's share of a profile's samples.
 *
 * @example
 * ```ts
 * import type { FunctionStat } from "./debug.ts";
 *
 * const hottest: FunctionStat = {
 *   function: "checksum_catalogue",
 *   file: "/app/shop.py",
 *   line: 24,
 *   selfSamples: 82,
 *   selfShare: 0.41,
 *   totalSamples: 90,
 *   totalShare: 0.45,
 * };
 * ```
 */
export interface FunctionStat {
  /** The function's (qualified) name. */
  readonly function: string;
  /** Its source file; `null` when py-spy could not tell. */
  readonly file: string | null;
  /** The line most samples were on; `null` when unknown. */
  readonly line: number | null;
  /** Samples where this function was the innermost frame. */
  readonly selfSamples: number;
  /** `selfSamples` over all samples, 0 to 1. */
  readonly selfShare: number;
  /** Samples where this function was anywhere on the stack. */
  readonly totalSamples: number;
  /** `totalSamples` over all samples, 0 to 1. */
  readonly totalShare: number;
}

/**
 * The py-spy switches a profile ran with.
 *
 * @example
 * ```ts
 * import type { ProfileFlags } from "./debug.ts";
 *
 * const flags: ProfileFlags = { idle: false, subprocesses: false, native: false };
 * ```
 */
export interface ProfileFlags {
  /** Idle threads were sampled too. */
  readonly idle: boolean;
  /** Child processes were sampled too. */
  readonly subprocesses: boolean;
  /** Native frames were included. */
  readonly native: boolean;
}

/**
 * The result of `ctx.debug.pythonProfile`: the hottest functions and, in
 * `artifacts`, the SVG flamegraph (`image/svg+xml`).
 *
 * @example
 * ```ts
 * import type { PythonProfileResult } from "./debug.ts";
 *
 * function flamegraph(result: PythonProfileResult) {
 *   return result.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
 * }
 * ```
 */
export type PythonProfileResult = {
  /** The process profiled. */
  readonly pid: number;
  /** How long it was sampled, in seconds. */
  readonly durationSeconds: number;
  /** Samples per second asked for. */
  readonly rate: number;
  /** Samples taken (without `idle`, only those where a thread was running). */
  readonly samples: number;
  /** Samples py-spy failed to take. */
  readonly samplingErrors: number;
  /** The switches the profile ran with. */
  readonly options: ProfileFlags;
  /** Functions sorted by self share, hottest first (at most 20). */
  readonly topFunctions: readonly FunctionStat[];
  /** The flamegraph, as handles to attach. */
  readonly artifacts: readonly ArtifactRef[];
};

// --- pythonStackTrace ----------------------------------------------------------------------

/**
 * Options of `ctx.debug.pythonStackTrace` (py-spy dump).
 *
 * @example
 * ```ts
 * import type { PythonStackTraceOptions } from "./debug.ts";
 *
 * const options: PythonStackTraceOptions = { pid: 7, count: 3, interval: 1, locals: false };
 * ```
 */
export interface PythonStackTraceOptions extends PidOptions {
  /** How many dumps to take, 1 to 100 (1 when absent). */
  readonly count?: number;
  /** Seconds between dumps, 0 to 60 (1 when absent). */
  readonly interval?: number;
  /** Include local variables. */
  readonly locals?: boolean;
}

/**
 * A local variable (or argument) of a stack frame.
 *
 * @example
 * ```ts
 * import type { LocalVariable } from "./debug.ts";
 *
 * const item: LocalVariable = { name: "items", repr: "4000", arg: true };
 * ```
 */
export interface LocalVariable {
  /** The variable's name. */
  readonly name: string;
  /** Its `repr`, as py-spy could read it; `null` when it could not. */
  readonly repr: string | null;
  /** Whether it is an argument of the function. */
  readonly arg: boolean;
}

/**
 * One frame of a thread's stack.
 *
 * @example
 * ```ts
 * import type { StackFrame } from "./debug.ts";
 *
 * const frame: StackFrame = { function: "main", file: "/app/shop.py", line: 52, locals: null };
 * ```
 */
export interface StackFrame {
  /** The function's (qualified) name. */
  readonly function: string;
  /** Its source file. */
  readonly file: string;
  /** The line being run. */
  readonly line: number;
  /** The frame's locals when they were asked for (`locals: true`), else `null`. */
  readonly locals: readonly LocalVariable[] | null;
}

/**
 * One thread in a stack dump.
 *
 * @example
 * ```ts
 * import type { ThreadStack } from "./debug.ts";
 *
 * const thread: ThreadStack = {
 *   threadId: 139969844737728,
 *   osThreadId: 25854,
 *   name: "metrics-reporter",
 *   active: false,
 *   ownsGil: false,
 *   frames: [{ function: "Event.wait", file: "threading.py", line: 629, locals: null }],
 * };
 * ```
 */
export interface ThreadStack {
  /** Python's thread identifier (`threading.get_ident()`). */
  readonly threadId: number;
  /** The OS thread id; `null` when py-spy could not tell. */
  readonly osThreadId: number | null;
  /** The thread's name (`threading.Thread.name`); `null` when unknown. */
  readonly name: string | null;
  /** Whether the thread was running (not idle) when dumped. */
  readonly active: boolean;
  /** Whether it held the GIL. */
  readonly ownsGil: boolean;
  /** Its frames, innermost first. */
  readonly frames: readonly StackFrame[];
}

/**
 * One dump of every thread.
 *
 * @example
 * ```ts
 * import type { StackSnapshot } from "./debug.ts";
 *
 * const snapshot: StackSnapshot = { takenAt: "2024-05-01T10:00:00Z", threads: [] };
 * ```
 */
export interface StackSnapshot {
  /** When the dump was taken (RFC 3339). */
  readonly takenAt: string;
  /** The threads, as py-spy listed them. */
  readonly threads: readonly ThreadStack[];
}

/**
 * The result of `ctx.debug.pythonStackTrace`.
 *
 * @example
 * ```ts
 * import type { PythonStackTraceResult } from "./debug.ts";
 *
 * function threadNames(result: PythonStackTraceResult): string[] {
 *   return result.snapshots.flatMap((snapshot) =>
 *     snapshot.threads.map((thread) => thread.name ?? `thread ${thread.threadId}`)
 *   );
 * }
 * ```
 */
export type PythonStackTraceResult = {
  /** The process dumped. */
  readonly pid: number;
  /** How many dumps were asked for. */
  readonly count: number;
  /** Seconds between dumps. */
  readonly intervalSeconds: number;
  /** The dumps, oldest first. */
  readonly snapshots: readonly StackSnapshot[];
};

// --- pythonMemory --------------------------------------------------------------------------

/**
 * Options of `ctx.debug.pythonMemory` (memray, or tracemalloc as a fallback).
 *
 * @example
 * ```ts
 * import type { PythonMemoryOptions } from "./debug.ts";
 *
 * const options: PythonMemoryOptions = { pid: 7, duration: 30 };
 * ```
 */
export interface PythonMemoryOptions extends PidOptions {
  /** Seconds to trace allocations, 1 to 300. */
  readonly duration: number;
}

/**
 * Where memory was allocated, with how much and how often.
 *
 * @example
 * ```ts
 * import type { AllocationSite } from "./debug.ts";
 *
 * const site: AllocationSite = {
 *   function: "remember_session",
 *   file: "/app/shop.py",
 *   line: 30,
 *   bytes: 354_603,
 *   count: 84,
 *   stack: ["remember_session (/app/shop.py:30)", "handle_request (/app/shop.py:34)"],
 * };
 * ```
 */
export interface AllocationSite {
  /** The allocating function; `null` with tracemalloc, which records only file and line. */
  readonly function: string | null;
  /** The source file. */
  readonly file: string;
  /** The line. */
  readonly line: number;
  /** Bytes allocated there (in the window, or still held for leak candidates). */
  readonly bytes: number;
  /** Allocations made there. */
  readonly count: number;
  /** The call stack, innermost first, as `"function (file:line)"`; may be empty. */
  readonly stack: readonly string[];
}

/**
 * How code was run inside the target through gdb (memory, inspect, debugger).
 *
 * @example
 * ```ts
 * import type { InjectionInfo } from "./debug.ts";
 *
 * const injection: InjectionInfo = {
 *   strategy: "main-thread-syscall",
 *   threadId: 7,
 *   gdbSeconds: 1.4,
 * };
 * ```
 */
export interface InjectionInfo {
  /**
   * `gil-holder-syscall`: the thread holding the GIL sat in a system call;
   * `main-thread-syscall` / `thread-syscall`: nobody held the GIL and that
   * thread sat in a system call; `pending-call`: the main thread ran it from
   * its interpreter loop.
   */
  readonly strategy:
    | "gil-holder-syscall"
    | "main-thread-syscall"
    | "thread-syscall"
    | "pending-call";
  /** The OS thread id that ran the injected code. */
  readonly threadId: number;
  /** Wall time of the gdb run, attach to detach: an upper bound on the target's pause. */
  readonly gdbSeconds: number;
}

/**
 * The result of `ctx.debug.pythonMemory`. With memray, `artifacts` holds its
 * HTML flamegraph (`text/html`).
 *
 * @example
 * ```ts
 * import type { PythonMemoryResult } from "./debug.ts";
 *
 * function heldPerMinute(result: PythonMemoryResult): number {
 *   return result.stillAllocatedBytes / result.durationSeconds * 60;
 * }
 * ```
 */
export type PythonMemoryResult = {
  /** The process traced. */
  readonly pid: number;
  /** The tracer that ran. */
  readonly method: "memray" | "tracemalloc";
  /** Why memray was not used, when `method` is `tracemalloc`; else `null`. */
  readonly fallbackReason: string | null;
  /** How long allocations were traced, in seconds. */
  readonly durationSeconds: number;
  /** All bytes allocated in the window (memray only, else `null`). */
  readonly totalAllocatedBytes: number | null;
  /** All allocations in the window (memray only, else `null`). */
  readonly totalAllocations: number | null;
  /** The highest traced memory in use during the window. */
  readonly peakBytes: number;
  /** Bytes allocated in the window and not freed at its end. */
  readonly stillAllocatedBytes: number;
  /** The sites that allocated most, biggest first. */
  readonly topAllocationSites: readonly AllocationSite[];
  /** Sites whose allocations in the window outlived it, biggest first. */
  readonly leakCandidates: readonly AllocationSite[];
  /** Remarks of the agent, e.g. about the fallback. */
  readonly notes: readonly string[];
  /** How the tracer was started in the target. */
  readonly injection: InjectionInfo;
  /** The memray flamegraph (HTML), as handles to attach. */
  readonly artifacts: readonly ArtifactRef[];
};

// --- pythonInspect -------------------------------------------------------------------------

/**
 * The interpreter running a process.
 *
 * @example
 * ```ts
 * import type { InterpreterInfo } from "./debug.ts";
 *
 * const interpreter: InterpreterInfo = {
 *   version: "3.11.7",
 *   implementation: "CPython",
 *   executable: "/usr/local/bin/python3.11",
 *   prefix: "/usr/local",
 *   debugBuild: false,
 *   platform: "linux",
 * };
 * ```
 */
export interface InterpreterInfo {
  /** The full version, e.g. `3.11.7`. */
  readonly version: string;
  /** e.g. `CPython`. */
  readonly implementation: string;
  /** `sys.executable`. */
  readonly executable: string;
  /** `sys.prefix` (a virtualenv's directory when one is active). */
  readonly prefix: string;
  /** Whether it is a debug build. */
  readonly debugBuild: boolean;
  /** `sys.platform`. */
  readonly platform: string;
}

/**
 * A top-level module outside the standard library, with its distribution.
 *
 * @example
 * ```ts
 * import type { ModuleInfo } from "./debug.ts";
 *
 * const module: ModuleInfo = {
 *   name: "yaml",
 *   distribution: "PyYAML",
 *   version: "6.0.1",
 *   path: "/app/.venv/lib/python3.11/site-packages/yaml/__init__.py",
 * };
 * ```
 */
export interface ModuleInfo {
  /** The top-level import name. */
  readonly name: string;
  /** The installed distribution providing it; `null` when none does. */
  readonly distribution: string | null;
  /** The distribution's version; `null` when unknown. */
  readonly version: string | null;
  /** The module's file; `null` for built-in or namespace modules. */
  readonly path: string | null;
}

/**
 * A Python thread of the process.
 *
 * @example
 * ```ts
 * import type { ThreadInfo } from "./debug.ts";
 *
 * const thread: ThreadInfo = { name: "MainThread", ident: 140000, nativeId: 7, daemon: false };
 * ```
 */
export interface ThreadInfo {
  /** `threading.Thread.name`. */
  readonly name: string;
  /** `threading.Thread.ident`. */
  readonly ident: number;
  /** The OS thread id; `null` when unknown. */
  readonly nativeId: number | null;
  /** Whether it is a daemon thread. */
  readonly daemon: boolean;
}

/**
 * A file the process holds open.
 *
 * @example
 * ```ts
 * import type { OpenFile } from "./debug.ts";
 *
 * const file: OpenFile = { fd: 3, path: "/var/log/app.log" };
 * ```
 */
export interface OpenFile {
  /** The file descriptor. */
  readonly fd: number;
  /** The path. */
  readonly path: string;
}

/**
 * A socket the process holds open.
 *
 * @example
 * ```ts
 * import type { SocketInfo } from "./debug.ts";
 *
 * const socket: SocketInfo = {
 *   fd: 5,
 *   family: "AF_INET",
 *   type: "SOCK_STREAM",
 *   localAddress: "0.0.0.0:8080",
 *   remoteAddress: null,
 *   status: "LISTEN",
 * };
 * ```
 */
export interface SocketInfo {
  /** The file descriptor. */
  readonly fd: number;
  /** The address family, e.g. `AF_INET`. */
  readonly family: string;
  /** The socket type, e.g. `SOCK_STREAM`. */
  readonly type: string;
  /** `host:port` it is bound to; `null` when unbound. */
  readonly localAddress: string | null;
  /** `host:port` it is connected to; `null` when not connected. */
  readonly remoteAddress: string | null;
  /** The connection state, e.g. `LISTEN` or `ESTABLISHED`. */
  readonly status: string;
}

/**
 * Something about the process worth a look, found while inspecting it.
 *
 * @example
 * ```ts
 * import type { InspectWarning } from "./debug.ts";
 *
 * const warning: InspectWarning = { code: "eol_python", message: "Python 3.7 is end-of-life" };
 * ```
 */
export interface InspectWarning {
  /** A short machine-readable code. */
  readonly code: string;
  /** What it means, for humans. */
  readonly message: string;
}

/**
 * The result of `ctx.debug.pythonInspect`.
 *
 * @example
 * ```ts
 * import type { PythonInspectResult } from "./debug.ts";
 *
 * function describe(result: PythonInspectResult): string {
 *   return `Python ${result.interpreter.version}, ${result.modules.length} packages`;
 * }
 * ```
 */
export type PythonInspectResult = {
  /** The process inspected. */
  readonly pid: number;
  /** How the information was read. */
  readonly method: "gdb-injection";
  /** How code was run in the target. */
  readonly injection: InjectionInfo;
  /** The interpreter. */
  readonly interpreter: InterpreterInfo;
  /** Loaded top-level modules outside the standard library, with distributions. */
  readonly modules: readonly ModuleInfo[];
  /** Loaded top-level standard-library modules, by name. */
  readonly stdlibModules: readonly string[];
  /** The Python threads. */
  readonly threads: readonly ThreadInfo[];
  /** Open files. */
  readonly openFiles: readonly OpenFile[];
  /** Open sockets. */
  readonly sockets: readonly SocketInfo[];
  /** Names of the environment variables; values are never read out. */
  readonly environmentNames: readonly string[];
  /** Things worth a look. */
  readonly warnings: readonly InspectWarning[];
};

// --- pythonDebugger ------------------------------------------------------------------------

/**
 * Options of `ctx.debug.pythonDebugger` (debugpy listen).
 *
 * @example
 * ```ts
 * import type { PythonDebuggerOptions } from "./debug.ts";
 *
 * const options: PythonDebuggerOptions = { pid: 7, port: 5678 };
 * ```
 */
export interface PythonDebuggerOptions extends PidOptions {
  /** The port debugpy listens on, on the pod's loopback interface, 1024 to 65535. */
  readonly port: number;
}

/**
 * The result of `ctx.debug.pythonDebugger`: debugpy listens in the process
 * and stays listening until it exits.
 *
 * @example
 * ```ts
 * import type { PythonDebuggerResult } from "./debug.ts";
 *
 * function howToAttach(result: PythonDebuggerResult): string {
 *   return `${result.portForwardCommand}, then attach to localhost:${result.port}`;
 * }
 * ```
 */
export type PythonDebuggerResult = {
  /** The process now listening. */
  readonly pid: number;
  /** The address debugpy listens on in the pod (the loopback interface). */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** The debugpy version running in the process. */
  readonly debugpyVersion: string;
  /** `target` when the process imported its own debugpy, `agent` for the agent's copy. */
  readonly debugpySource: "target" | "agent";
  /**
   * The `kubectl port-forward` command that reaches the port. It may hold
   * `<namespace>` and `<pod>` placeholders when the agent was not told them.
   */
  readonly portForwardCommand: string;
  /** A VS Code `launch.json` configuration that attaches through the port-forward. */
  readonly launchJson: Readonly<Record<string, unknown>>;
  /** How debugpy was started in the target. */
  readonly injection: InjectionInfo;
};

/**
 * The result of `ctx.debug.pythonDebugger` under the name `protocol.ts` uses
 * for it; the same type as {@linkcode PythonDebuggerResult}.
 *
 * @example
 * ```ts
 * import type { DebugResult, PythonDebuggerResult } from "./debug.ts";
 *
 * function port(result: DebugResult): number {
 *   const same: PythonDebuggerResult = result;
 *   return same.port;
 * }
 * ```
 */
export type DebugResult = PythonDebuggerResult;

/**
 * `ctx.debug`: run the debug agent against a container.
 *
 * @example
 * ```ts
 * import type { DebugClient, PythonProfileResult } from "./debug.ts";
 * import type { PodRef } from "./event.ts";
 *
 * async function profileFirstPython(
 *   debug: DebugClient,
 *   pod: PodRef,
 * ): Promise<PythonProfileResult | undefined> {
 *   const { processes } = await debug.processList(pod);
 *   const python = processes.find((process) => process.python);
 *   return python && await debug.pythonProfile(pod, { pid: python.pid, duration: 5 });
 * }
 * ```
 */
export interface DebugClient {
  /** Lists the processes in the target container, Python ones flagged. */
  processList(target: DebugTarget, options?: CallOptions): Promise<ProcessListResult>;
  /** Samples a Python process with py-spy and renders a flamegraph. */
  pythonProfile(target: DebugTarget, options: PythonProfileOptions): Promise<PythonProfileResult>;
  /** Dumps the stacks of a Python process's threads. */
  pythonStackTrace(
    target: DebugTarget,
    options: PythonStackTraceOptions,
  ): Promise<PythonStackTraceResult>;
  /** Traces a Python process's allocations. */
  pythonMemory(target: DebugTarget, options: PythonMemoryOptions): Promise<PythonMemoryResult>;
  /** Reports a Python process's interpreter, modules, threads, files and sockets. */
  pythonInspect(target: DebugTarget, options: PidOptions): Promise<PythonInspectResult>;
  /** Makes a Python process listen for a debugger (debugpy) on a port. */
  pythonDebugger(
    target: DebugTarget,
    options: PythonDebuggerOptions,
  ): Promise<PythonDebuggerResult>;
}
