/**
 * `ctx.debug`, the client of the debug actions.
 *
 * @module
 */

import type { CallOptions } from "../k8s.ts";
import type { GoProfileOptions, GoProfileResult } from "./go_profile.ts";
import type {
  JavaHeapHistogramOptions,
  JavaHeapHistogramResult,
  JavaProfileOptions,
  JavaProfileResult,
  JavaThreadDumpResult,
} from "./java.ts";
import type { NetworkCheckOptions, NetworkCheckResult } from "./network_check.ts";
import type { NodeProfileOptions, NodeProfileResult } from "./node_profile.ts";
import type { ProcessListResult } from "./process_list.ts";
import type { PythonDebuggerOptions, PythonDebuggerResult } from "./python_debugger.ts";
import type { PythonInspectResult } from "./python_inspect.ts";
import type { PythonMemoryOptions, PythonMemoryResult } from "./python_memory.ts";
import type { PythonProfileOptions, PythonProfileResult } from "./python_profile.ts";
import type { PythonStackTraceOptions, PythonStackTraceResult } from "./python_stack_trace.ts";
import type { DebugTarget, PidOptions } from "./target.ts";

/**
 * `ctx.debug`: run the debug agent against a container.
 *
 * @example
 * ```ts
 * import type { DebugClient, PythonProfileResult } from "./mod.ts";
 * import type { PodRef } from "../event.ts";
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
  /** Lists the processes in the target container, each with its runtime. */
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
  /** Profiles a Go process and dumps its goroutines, through its net/http/pprof. */
  goProfile(target: DebugTarget, options: GoProfileOptions): Promise<GoProfileResult>;
  /** Profiles a Node.js process through its inspector (opened and closed again). */
  nodeProfile(target: DebugTarget, options: NodeProfileOptions): Promise<NodeProfileResult>;
  /** Lists the pod's sockets; resolves names, connects and GETs from its network namespace. */
  networkCheck(target: DebugTarget, options?: NetworkCheckOptions): Promise<NetworkCheckResult>;
  /** Dumps a JVM's threads and the deadlocks it detects, through its attach mechanism. */
  javaThreadDump(target: DebugTarget, options: PidOptions): Promise<JavaThreadDumpResult>;
  /** Counts a JVM's heap by class (after a full GC unless `liveOnly: false`). */
  javaHeapHistogram(
    target: DebugTarget,
    options: JavaHeapHistogramOptions,
  ): Promise<JavaHeapHistogramResult>;
  /** Records a JVM with JFR: hot methods and the classes it allocates most. */
  javaProfile(target: DebugTarget, options: JavaProfileOptions): Promise<JavaProfileResult>;
}
