/**
 * The read-only Kubernetes API a workflow reaches through `ctx.k8s` (needs
 * the `k8s.read` capability).
 *
 * `get`, `list` and `owners` return objects of any kind exactly as the API
 * server sends them (without `metadata.managedFields`), typed by the
 * generated {@linkcode KubeKinds} for the built-in kinds and as
 * {@linkcode KubeObject} for others (CRDs). Pods and core Events are readable
 * with `k8s.read` alone; any other kind must be in the workflow's `reads`
 * and granted by the operator. Secrets are never readable, and ConfigMaps
 * come without `data` unless the operator granted that ConfigMap by name.
 *
 * @module
 */

import type { K8sEvent, Pod, PodRef } from "./event.ts";
import type { KubeObject, KubeObjectOf, V1Node } from "./k8s_types.ts";

/**
 * Names one object of any kind.
 *
 * @typeParam A The `apiVersion`, e.g. `"apps/v1"`.
 * @typeParam K The `kind`, e.g. `"Deployment"`.
 *
 * @example
 * ```ts
 * import type { ObjectRef } from "./k8s.ts";
 *
 * const ref: ObjectRef<"apps/v1", "Deployment"> = {
 *   apiVersion: "apps/v1",
 *   kind: "Deployment",
 *   namespace: "shop",
 *   name: "web",
 * };
 * ```
 */
export interface ObjectRef<A extends string = string, K extends string = string> {
  /** The object's `apiVersion`, e.g. `"apps/v1"` or `"v1"`. */
  readonly apiVersion: A;
  /** The object's `kind`, e.g. `"Deployment"`. */
  readonly kind: K;
  /** Its namespace; leave it out for cluster-scoped kinds such as `Node`. */
  readonly namespace?: string;
  /** Its name. */
  readonly name: string;
}

/**
 * What `ctx.k8s.list` lists: a kind, optionally in one namespace, filtered.
 *
 * @typeParam A The `apiVersion`.
 * @typeParam K The `kind`.
 *
 * @example
 * ```ts
 * import type { ListQuery } from "./k8s.ts";
 *
 * const query: ListQuery<"batch/v1", "Job"> = {
 *   apiVersion: "batch/v1",
 *   kind: "Job",
 *   namespace: "shop",
 *   labelSelector: "team=payments",
 *   limit: 20,
 * };
 * ```
 */
export interface ListQuery<A extends string = string, K extends string = string>
  extends CallOptions {
  /** The kind's `apiVersion`. */
  readonly apiVersion: A;
  /** The kind. */
  readonly kind: K;
  /** Only this namespace; all namespaces when absent (if the workflow may see them all). */
  readonly namespace?: string;
  /** A label selector, e.g. `"app=web"`. */
  readonly labelSelector?: string;
  /** A field selector, e.g. `"status.phase=Failed"`. */
  readonly fieldSelector?: string;
  /** At most this many objects: 1-500, default 100. */
  readonly limit?: number;
}

/**
 * The answer of `ctx.k8s.list`.
 *
 * @typeParam T The objects' type.
 *
 * @example
 * ```ts
 * import type { KubeList } from "./k8s.ts";
 * import type { V1Job } from "./k8s_types.ts";
 *
 * function failed(list: KubeList<V1Job>): number {
 *   return list.items.filter((job) => (job.status?.failed ?? 0) > 0).length;
 * }
 * ```
 */
export interface KubeList<T> {
  /** The objects, each with its `apiVersion` and `kind`. */
  readonly items: readonly T[];
  /**
   * More objects matched than were returned: past `limit`, or past the
   * host's reply budget (768 KiB). Narrow the query to see the rest.
   */
  readonly truncated: boolean;
}

/**
 * Any object whose owners `ctx.k8s.owners` can walk: an event's `object`,
 * or anything `get` or `list` returned.
 *
 * @example
 * ```ts
 * import type { OwnedObject } from "./k8s.ts";
 *
 * const pod: OwnedObject = { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "web-1" } };
 * ```
 */
export interface OwnedObject {
  /** The object's `apiVersion`. */
  readonly apiVersion?: string;
  /** The object's `kind`. */
  readonly kind?: string;
  /** Where the object is. */
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
}

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
 * `ctx.k8s`: read objects of any kind, pods, their logs and events.
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
 *
 * async function memoryLimit(k8s: K8sClient): Promise<string | undefined> {
 *   const pod = await k8s.get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web-1" });
 *   return pod.spec?.containers[0]?.resources?.limits?.["memory"];
 * }
 *
 * async function rollout(k8s: K8sClient): Promise<string[]> {
 *   const deployment = await k8s.get({
 *     apiVersion: "apps/v1",
 *     kind: "Deployment",
 *     namespace: "shop",
 *     name: "web",
 *   });
 *   return (deployment.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);
 * }
 * ```
 */
export interface K8sClient {
  /**
   * Reads one object of any kind the workflow may read, typed by its kind.
   *
   * @throws {CapabilityDeniedError} When the kind is not declared in `reads`
   *   and granted (the message says which), or is `Secret`.
   * @throws {NotFoundError} When the object, or the kind, does not exist.
   */
  get<A extends string, K extends string>(
    ref: ObjectRef<A, K>,
    options?: CallOptions,
  ): Promise<KubeObjectOf<A, K>>;
  /** Lists objects of any kind the workflow may read (at most `query.limit`). */
  list<A extends string, K extends string>(
    query: ListQuery<A, K>,
  ): Promise<KubeList<KubeObjectOf<A, K>>>;
  /**
   * The objects controlling `object`, nearest first, following
   * `ownerReferences` with `controller: true` up to the top: Pod ->
   * ReplicaSet -> Deployment, Pod -> Job -> CronJob. `[]` when nothing owns
   * it; the walk stops early at an owner that no longer exists.
   *
   * @throws {CapabilityDeniedError} When an owner's kind is not readable
   *   (declare and be granted e.g. `"apps/v1/ReplicaSet"` and `"apps/v1/Deployment"`).
   */
  owners(object: OwnedObject | ObjectRef, options?: CallOptions): Promise<KubeObject[]>;
  /**
   * Reads one node (needs `"v1/Node"` in `reads`).
   *
   * @throws {NotFoundError} When there is no such node.
   */
  node(name: string, options?: CallOptions): Promise<V1Node>;
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
