/**
 * The read-only Kubernetes API a workflow reaches through `ctx.k8s` (needs
 * the `k8s.read` capability).
 *
 * @module
 */

import type { K8sEvent, Pod, PodRef } from "./event.ts";

/**
 * Options every host call takes.
 *
 * @example Give up waiting after five seconds
 * ```ts
 * import type { CallOptions } from "./k8s.ts";
 *
 * const options: CallOptions = { signal: AbortSignal.timeout(5000) };
 * ```
 */
export interface CallOptions {
  /**
   * Stops waiting for the result when aborted (the call rejects with the
   * signal's reason). The call is already tied to `ctx.signal`.
   */
  readonly signal?: AbortSignal;
}

/**
 * Options of `ctx.k8s.listPods`.
 *
 * @example
 * ```ts
 * import type { ListPodsOptions } from "./k8s.ts";
 *
 * const options: ListPodsOptions = { labelSelector: "app=web" };
 * ```
 */
export interface ListPodsOptions extends CallOptions {
  /** A Kubernetes label selector, e.g. `"app=web"`. */
  readonly labelSelector?: string;
}

/**
 * Options of `ctx.k8s.podLogs`.
 *
 * @example The last 100 lines of the previous run
 * ```ts
 * import type { PodLogsOptions } from "./k8s.ts";
 *
 * const options: PodLogsOptions = { previous: true, tailLines: 100 };
 * ```
 */
export interface PodLogsOptions extends CallOptions {
  /** The container; defaults to the `PodRef`'s container, then the pod's default. */
  readonly container?: string;
  /** Read the logs of the previous (crashed) run of the container. */
  readonly previous?: boolean;
  /** Only the last N lines. */
  readonly tailLines?: number;
  /** At most this many bytes. */
  readonly limitBytes?: number;
}

/**
 * The object whose Kubernetes events `ctx.k8s.events` lists. A `Pod` or a
 * `PodRef` is assignable to it.
 *
 * @example
 * ```ts
 * import type { EventSubject } from "./k8s.ts";
 *
 * const subject: EventSubject = { namespace: "shop", name: "web", kind: "Deployment" };
 * ```
 */
export interface EventSubject {
  /** The object's namespace. */
  readonly namespace: string;
  /** The object's name. */
  readonly name: string;
  /** The object's kind; the host assumes `Pod` when absent. */
  readonly kind?: string;
}

/**
 * `ctx.k8s`: read pods, their logs and events.
 *
 * @example
 * ```ts
 * import type { K8sClient } from "./k8s.ts";
 *
 * async function restarts(k8s: K8sClient): Promise<number> {
 *   const pods = await k8s.listPods("shop", { labelSelector: "app=web" });
 *   return pods.reduce((sum, pod) =>
 *     sum + pod.containerStatuses.reduce((n, status) => n + status.restartCount, 0), 0);
 * }
 * ```
 */
export interface K8sClient {
  /**
   * Reads one pod.
   *
   * @throws {NotFoundError} When the pod does not exist.
   */
  getPod(pod: PodRef, options?: CallOptions): Promise<Pod>;
  /** Lists the pods of a namespace, optionally filtered by labels. */
  listPods(namespace: string, options?: ListPodsOptions): Promise<Pod[]>;
  /** Reads a container's logs as text. */
  podLogs(pod: PodRef, options?: PodLogsOptions): Promise<string>;
  /** Lists the Kubernetes events about an object. */
  events(subject: EventSubject, options?: CallOptions): Promise<K8sEvent[]>;
}
