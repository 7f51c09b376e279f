/**
 * `ctx.debug.pythonMemory`: trace a Python process's allocations.
 *
 * @module
 */

import type { ArtifactRef } from "../finding.ts";
import type { InjectionInfo } from "./injection.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.pythonMemory` (memray, or tracemalloc as a fallback).
 *
 * @example
 * ```ts
 * import type { PythonMemoryOptions } from "./python_memory.ts";
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
 * import type { AllocationSite } from "./python_memory.ts";
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
 * The result of `ctx.debug.pythonMemory`. With memray, `artifacts` holds its
 * HTML flamegraph (`text/html`).
 *
 * @example
 * ```ts
 * import type { PythonMemoryResult } from "./python_memory.ts";
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
