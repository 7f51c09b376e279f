/**
 * `ctx.debug.processList`: the processes in the target container.
 *
 * @module
 */

/**
 * What a process runs, as the debug agent reads it from the executable and
 * the mapped libraries (nothing attaches to the process).
 *
 * @example
 * ```ts
 * import type { Runtime } from "./process_list.ts";
 *
 * const runtime: Runtime = "go";
 * ```
 */
export type Runtime = "python" | "go" | "jvm" | "node" | "native";

/**
 * One process in the target container, as `ctx.debug.processList` reports it.
 *
 * @example
 * ```ts
 * import type { ProcessInfo } from "./process_list.ts";
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
 *   runtime: "python",
 *   runtimeVersion: "3.11",
 *   runtimeDetail: null,
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
  /**
   * The runtime: `python`, `go` (build info in the binary), `jvm` (`libjvm.so`
   * mapped), `node`, or `native` for anything else (and unreadable processes).
   */
  readonly runtime: Runtime;
  /**
   * Its version where readable: `3.11` (Python), `go1.22.3` (Go),
   * `17.0.15` (the Java home's `JAVA_VERSION`), `20.11.1` (Node.js); else `null`.
   */
  readonly runtimeVersion: string | null;
  /** Go: the main package's path; JVM: the Java home; otherwise `null`. */
  readonly runtimeDetail: string | null;
}

/**
 * The result of `ctx.debug.processList`.
 *
 * @example
 * ```ts
 * import type { ProcessListResult } from "./process_list.ts";
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
