/**
 * `ctx.debug.goProfile`: a Go process's CPU profile and goroutine dump,
 * fetched from its own `net/http/pprof` inside the pod's network namespace.
 *
 * @module
 */

import type { ArtifactRef } from "../finding.ts";
import type { FunctionStat } from "./python_profile.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.goProfile`.
 *
 * @example
 * ```ts
 * import type { GoProfileOptions } from "./go_profile.ts";
 *
 * const options: GoProfileOptions = { pid: 1, duration: 10, port: 6060 };
 * ```
 */
export interface GoProfileOptions extends PidOptions {
  /** Whole seconds of CPU profile, 1 to 300 (5 when absent). */
  readonly duration?: number;
  /**
   * The port serving `/debug/pprof/`. Without it the agent asks each port the
   * process listens on (6060 first).
   */
  readonly port?: number;
}

/**
 * How many goroutines are in one state.
 *
 * @example
 * ```ts
 * import type { GoroutineStateCount } from "./go_profile.ts";
 *
 * const waiting: GoroutineStateCount = { state: "chan receive", count: 12 };
 * ```
 */
export interface GoroutineStateCount {
  /** As the Go runtime names it: `running`, `runnable`, `chan receive`, `IO wait`... */
  readonly state: string;
  /** How many goroutines are in it. */
  readonly count: number;
}

/**
 * One goroutine of the dump.
 *
 * @example
 * ```ts
 * import type { GoroutineInfo } from "./go_profile.ts";
 *
 * const blocked: GoroutineInfo = {
 *   id: 20,
 *   state: "chan receive",
 *   waitMinutes: 12,
 *   lockedToThread: false,
 *   function: "main.waitForOrders",
 *   file: "/src/main.go",
 *   line: 29,
 *   createdBy: "main.main (/src/main.go:49)",
 * };
 * ```
 */
export interface GoroutineInfo {
  /** The goroutine's id. */
  readonly id: number;
  /** Its state. */
  readonly state: string;
  /** How long it has waited, when the runtime says (it does from one minute on). */
  readonly waitMinutes: number | null;
  /** Whether it is locked to its OS thread. */
  readonly lockedToThread: boolean;
  /** Its innermost frame's function; `null` without frames. */
  readonly function: string | null;
  /** That frame's file. */
  readonly file: string | null;
  /** That frame's line. */
  readonly line: number | null;
  /** `function (file:line)` of the `go` statement that started it. */
  readonly createdBy: string | null;
}

/**
 * The goroutine dump, summarized.
 *
 * @example
 * ```ts
 * import type { GoroutineSummary } from "./go_profile.ts";
 *
 * function stuck(summary: GoroutineSummary): number {
 *   return summary.longestBlocked.filter((g) => (g.waitMinutes ?? 0) >= 5).length;
 * }
 * ```
 */
export interface GoroutineSummary {
  /** Goroutines in the dump. */
  readonly total: number;
  /** Counts by state, the most common first. */
  readonly byState: readonly GoroutineStateCount[];
  /**
   * Goroutines not running, runnable or in a system call, the longest
   * waiting first (at most 10).
   */
  readonly longestBlocked: readonly GoroutineInfo[];
}

/**
 * The result of `ctx.debug.goProfile`: the hottest functions, the goroutine
 * summary and, in `artifacts`, `flamegraph.svg`, `cpu.pb.gz` (for `go tool
 * pprof`) and `goroutines.txt` (the `debug=2` dump).
 *
 * @example
 * ```ts
 * import type { GoProfileResult } from "./go_profile.ts";
 *
 * function headline(result: GoProfileResult): string {
 *   const top = result.topFunctions[0];
 *   return top === undefined ? "idle" : `${top.function} ${Math.round(top.selfShare * 100)}%`;
 * }
 * ```
 */
export type GoProfileResult = {
  /** The process profiled. */
  readonly pid: number;
  /** The Go version in the binary's build info, e.g. `go1.22.3`. */
  readonly goVersion: string | null;
  /** The main package's path. */
  readonly mainPackage: string | null;
  /** The pprof index the profile came from, e.g. `http://127.0.0.1:6060/debug/pprof/`. */
  readonly endpoint: string;
  /** The ports asked for `/debug/pprof/`, in order. */
  readonly probedPorts: readonly number[];
  /** Seconds of profile. */
  readonly durationSeconds: number;
  /** CPU samples (Go takes 100 per second of CPU). */
  readonly samples: number;
  /** CPU time the samples stand for, over all threads. */
  readonly cpuSeconds: number;
  /** Functions sorted by self share, hottest first (at most 20). */
  readonly topFunctions: readonly FunctionStat[];
  /** The goroutine dump, summarized. */
  readonly goroutines: GoroutineSummary;
  /** The flamegraph, the raw profile and the dump, as handles to attach. */
  readonly artifacts: readonly ArtifactRef[];
};
