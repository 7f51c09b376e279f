/**
 * What a debug action targets: the container, and in it the process.
 *
 * @module
 */

import type { PodRef } from "../event.ts";
import type { CallOptions } from "../k8s.ts";

/**
 * The container a debug action targets: a {@linkcode PodRef}. Without
 * `container`, the host picks the pod's first container.
 *
 * @example
 * ```ts
 * import type { DebugTarget } from "./target.ts";
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
 * import type { PidOptions } from "./target.ts";
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
