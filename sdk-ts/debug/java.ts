/**
 * `ctx.debug.javaThreadDump`, `ctx.debug.javaHeapHistogram` and
 * `ctx.debug.javaProfile`: a JVM's threads (with the deadlocks it detects),
 * its heap by class, and a short JFR recording, all through HotSpot's attach
 * mechanism (the same one `jcmd` and `jstack` use).
 *
 * @module
 */

import type { ArtifactRef } from "../finding.ts";
import type { FunctionStat } from "./python_profile.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.javaHeapHistogram`.
 *
 * @example
 * ```ts
 * import type { JavaHeapHistogramOptions } from "./java.ts";
 *
 * const options: JavaHeapHistogramOptions = { pid: 1, top: 20, liveOnly: true };
 * ```
 */
export interface JavaHeapHistogramOptions extends PidOptions {
  /** How many classes to return, largest first, 1 to 200 (30 when absent). */
  readonly top?: number;
  /**
   * Count reachable objects only (the default): the JVM runs a full GC first,
   * a stop-the-world pause. `false` counts every object without the GC.
   */
  readonly liveOnly?: boolean;
}

/**
 * Options of `ctx.debug.javaProfile`.
 *
 * @example
 * ```ts
 * import type { JavaProfileOptions } from "./java.ts";
 *
 * const options: JavaProfileOptions = { pid: 1, duration: 10 };
 * ```
 */
export interface JavaProfileOptions extends PidOptions {
  /** Whole seconds of JFR recording, 1 to 300 (10 when absent). */
  readonly duration?: number;
}

/**
 * One frame of a Java stack, as the thread dump prints it.
 *
 * @example
 * ```ts
 * import type { JavaFrame } from "./java.ts";
 *
 * const frame: JavaFrame = {
 *   method: "com.example.Orders.place",
 *   location: "Orders.java:42",
 *   locks: ["locked <0x000000068740a1b8> (a java.lang.Object)"],
 * };
 * ```
 */
export interface JavaFrame {
  /** Class and method, e.g. `com.example.Orders.place`. */
  readonly method: string;
  /** `Orders.java:42`, `Native Method` or `Unknown Source`; `null` when absent. */
  readonly location: string | null;
  /** The dump's lock lines under this frame (`locked <0x...>`, `waiting to lock <0x...>`). */
  readonly locks: readonly string[];
}

/**
 * One Java thread of the dump.
 *
 * @example
 * ```ts
 * import type { JavaThread } from "./java.ts";
 *
 * function isStuck(thread: JavaThread): boolean {
 *   return thread.state === "BLOCKED";
 * }
 * ```
 */
export interface JavaThread {
  /** The thread's name. */
  readonly name: string;
  /** The JVM's thread number (`#12`). */
  readonly number: number | null;
  /** Whether it is a daemon thread. */
  readonly daemon: boolean;
  /** `java.lang.Thread.State`: `RUNNABLE`, `BLOCKED`, `WAITING`, `TIMED_WAITING`... */
  readonly state: string | null;
  /** What the dump says in brackets, e.g. `on object monitor`, `sleeping`. */
  readonly stateDetail: string | null;
  /** CPU time the thread used, in milliseconds. */
  readonly cpuMillis: number | null;
  /** Its stack, innermost first (at most 64 frames). */
  readonly frames: readonly JavaFrame[];
}

/**
 * How many Java threads are in one state.
 *
 * @example
 * ```ts
 * import type { JavaStateCount } from "./java.ts";
 *
 * const blocked: JavaStateCount = { state: "BLOCKED", count: 2 };
 * ```
 */
export interface JavaStateCount {
  /** A `java.lang.Thread.State`. */
  readonly state: string;
  /** How many threads are in it. */
  readonly count: number;
}

/**
 * One thread of a deadlock cycle: what it waits for and who holds it.
 *
 * @example
 * ```ts
 * import type { DeadlockedThread } from "./java.ts";
 *
 * function describe(thread: DeadlockedThread): string {
 *   return `${thread.name} waits for ${thread.heldBy}`;
 * }
 * ```
 */
export interface DeadlockedThread {
  /** The thread's name. */
  readonly name: string;
  /** As the JVM says it, e.g. `waiting to lock monitor 0x... (object 0x..., a java.lang.Object)`. */
  readonly waitingFor: string;
  /** The thread holding what it waits for. */
  readonly heldBy: string;
  /** Its stack, innermost first. */
  readonly frames: readonly JavaFrame[];
}

/**
 * One deadlock cycle the JVM found.
 *
 * @example
 * ```ts
 * import type { JavaDeadlock } from "./java.ts";
 *
 * function names(cycle: JavaDeadlock): string[] {
 *   return cycle.threads.map((thread) => thread.name);
 * }
 * ```
 */
export interface JavaDeadlock {
  /** The threads of the cycle, in the JVM's order. */
  readonly threads: readonly DeadlockedThread[];
}

/**
 * The result of `ctx.debug.javaThreadDump`: the Java threads and the
 * deadlocks HotSpot's own detection reports; `threads.txt` in `artifacts`.
 *
 * @example
 * ```ts
 * import type { JavaThreadDumpResult } from "./java.ts";
 *
 * function deadlocked(result: JavaThreadDumpResult): boolean {
 *   return result.deadlocks.length > 0;
 * }
 * ```
 */
export type JavaThreadDumpResult = {
  /** The process dumped. */
  readonly pid: number;
  /** The Java version of its Java home, e.g. `17.0.15`. */
  readonly javaVersion: string | null;
  /** The dump's heading, e.g. `OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode)`. */
  readonly vm: string | null;
  /** Java threads (the VM's own threads are not counted). */
  readonly threadCount: number;
  /** Java threads by state, most common first. */
  readonly byState: readonly JavaStateCount[];
  /** Deadlock cycles; empty when there is none. */
  readonly deadlocks: readonly JavaDeadlock[];
  /** Java threads in the dump's order (at most 500). */
  readonly threads: readonly JavaThread[];
  /** Seconds from the request to the end of the JVM's reply. */
  readonly attachSeconds: number;
  /** The dump as the JVM printed it, as a handle to attach. */
  readonly artifacts: readonly ArtifactRef[];
};

/**
 * One class of the heap histogram.
 *
 * @example
 * ```ts
 * import type { JavaClassStat } from "./java.ts";
 *
 * const order: JavaClassStat = {
 *   className: "com.example.Order",
 *   module: null,
 *   instances: 20_000,
 *   bytes: 480_000,
 *   share: 0.07,
 * };
 * ```
 */
export interface JavaClassStat {
  /** As the JVM names it: `java.lang.String`, `[B` (byte[]), `com.example.Order`. */
  readonly className: string;
  /** e.g. `java.base@17.0.15`; `null` outside named modules. */
  readonly module: string | null;
  /** Objects of the class. */
  readonly instances: number;
  /** Their bytes. */
  readonly bytes: number;
  /** Their share of the heap's bytes in the histogram, 0 to 1. */
  readonly share: number;
}

/**
 * The result of `ctx.debug.javaHeapHistogram`: the largest classes;
 * `histogram.txt` (the whole histogram) in `artifacts`.
 *
 * @example
 * ```ts
 * import type { JavaHeapHistogramResult } from "./java.ts";
 *
 * function largest(result: JavaHeapHistogramResult): string | undefined {
 *   return result.topClasses[0]?.className;
 * }
 * ```
 */
export type JavaHeapHistogramResult = {
  /** The process counted. */
  readonly pid: number;
  /** The Java version of its Java home. */
  readonly javaVersion: string | null;
  /** Only reachable objects were counted (after a full GC). */
  readonly liveOnly: boolean;
  /** Objects in the heap. */
  readonly totalInstances: number;
  /** Their bytes. */
  readonly totalBytes: number;
  /** Classes in the histogram. */
  readonly classCount: number;
  /** Classes by bytes, largest first. */
  readonly topClasses: readonly JavaClassStat[];
  /** Seconds from the request to the end of the JVM's reply (the GC included). */
  readonly attachSeconds: number;
  /** The whole histogram, as a handle to attach. */
  readonly artifacts: readonly ArtifactRef[];
};

/**
 * A class the recording saw allocated, by estimated bytes.
 *
 * @example
 * ```ts
 * import type { JavaAllocationStat } from "./java.ts";
 *
 * const bytes: JavaAllocationStat = {
 *   className: "byte[]",
 *   bytes: 3_000_000_000,
 *   share: 0.92,
 *   samples: 300,
 *   topSite: "com.example.Order.<init>",
 * };
 * ```
 */
export interface JavaAllocationStat {
  /** The class, as JFR prints it (`byte[]`, `java.lang.String`). */
  readonly className: string;
  /** Estimated bytes allocated over the recording (the samples' weights). */
  readonly bytes: number;
  /** Its share of all sampled allocation, 0 to 1. */
  readonly share: number;
  /** Allocation samples of the class. */
  readonly samples: number;
  /** The method that allocated most of it (innermost frame). */
  readonly topSite: string | null;
}

/**
 * The result of `ctx.debug.javaProfile`: hot methods, the classes allocated
 * most, and in `artifacts` `flamegraph.svg` and `recording.jfr` (for JDK
 * Mission Control; left out over 24 MiB).
 *
 * @example
 * ```ts
 * import type { JavaProfileResult } from "./java.ts";
 *
 * function hottest(result: JavaProfileResult): string | undefined {
 *   return result.topFunctions[0]?.function;
 * }
 * ```
 */
export type JavaProfileResult = {
  /** The process recorded. */
  readonly pid: number;
  /** The Java version of its Java home. */
  readonly javaVersion: string | null;
  /** Seconds of recording. */
  readonly durationSeconds: number;
  /** The JFR settings used (`profile`: a sample every 10 ms per running thread). */
  readonly settings: string;
  /** Execution samples. */
  readonly samples: number;
  /** Methods by self share, hottest first (at most 20); `file` is `null`. */
  readonly topFunctions: readonly FunctionStat[];
  /** Allocation samples. */
  readonly allocationSamples: number;
  /** Classes by estimated bytes allocated, largest first (at most 15). */
  readonly topAllocations: readonly JavaAllocationStat[];
  /** Size of the JFR recording. */
  readonly recordingBytes: number;
  /** The flamegraph and the recording, as handles to attach. */
  readonly artifacts: readonly ArtifactRef[];
};
