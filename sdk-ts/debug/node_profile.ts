/**
 * `ctx.debug.nodeProfile`: a Node.js process's CPU profile through its
 * inspector, which SIGUSR1 opens on 127.0.0.1 and the agent closes again.
 *
 * @module
 */

import type { ArtifactRef } from "../finding.ts";
import type { FunctionStat } from "./python_profile.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.nodeProfile`.
 *
 * @example
 * ```ts
 * import type { NodeProfileOptions } from "./node_profile.ts";
 *
 * const options: NodeProfileOptions = { pid: 1, duration: 5, interval: 500 };
 * ```
 */
export interface NodeProfileOptions extends PidOptions {
  /** Whole seconds of CPU profile, 1 to 300 (5 when absent). */
  readonly duration?: number;
  /** An inspector port already open (`--inspect`); without it SIGUSR1 opens one. */
  readonly port?: number;
  /** Microseconds between samples, 100 to 100000 (1000 when absent). */
  readonly interval?: number;
}

/**
 * The result of `ctx.debug.nodeProfile`: the hottest functions and, in
 * `artifacts`, `flamegraph.svg` and `profile.cpuprofile` (which Chrome
 * DevTools' Performance panel opens).
 *
 * @example
 * ```ts
 * import type { NodeProfileResult } from "./node_profile.ts";
 *
 * function leftOpen(result: NodeProfileResult): boolean {
 *   return !result.inspectorWasOpen && !result.inspectorClosed;
 * }
 * ```
 */
export type NodeProfileResult = {
  /** The process profiled. */
  readonly pid: number;
  /** Node.js's version as the inspector reports it, e.g. `20.11.1`. */
  readonly nodeVersion: string | null;
  /** The inspector's port (9229 unless it was already open elsewhere). */
  readonly inspectorPort: number;
  /** The inspector listened before the action: it was used and left open. */
  readonly inspectorWasOpen: boolean;
  /** The inspector the agent opened was closed again (its port is gone). */
  readonly inspectorClosed: boolean;
  /** Seconds of profile. */
  readonly durationSeconds: number;
  /** Microseconds between samples. */
  readonly samplingIntervalMicros: number;
  /** Samples taken. */
  readonly samples: number;
  /** Functions sorted by self share, hottest first (at most 20). */
  readonly topFunctions: readonly FunctionStat[];
  /** The flamegraph and the DevTools profile, as handles to attach. */
  readonly artifacts: readonly ArtifactRef[];
};
