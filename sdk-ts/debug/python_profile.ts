/**
 * `ctx.debug.pythonProfile`: sample a Python process with py-spy.
 *
 * @module
 */

import type { ArtifactRef } from "../finding.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.pythonProfile` (py-spy record).
 *
 * @example
 * ```ts
 * import type { PythonProfileOptions } from "./python_profile.ts";
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
 * import type { FunctionStat } from "./python_profile.ts";
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
 * import type { ProfileFlags } from "./python_profile.ts";
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
 * import type { PythonProfileResult } from "./python_profile.ts";
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
