/**
 * The events that start workflows, and the Kubernetes shapes they carry,
 * exactly as the host sends them (see `docs/protocol.md`, "Event").
 *
 * @module
 */

import { EVENT_KINDS } from "./_vocabulary.ts";
import type { CoreV1Event, KubeObject, V1Deployment, V1Job, V1Node, V1Pod } from "./k8s_types.ts";

// Generated from host/model/vocabulary.py with its documentation (see _vocabulary.ts).
export { EVENT_KINDS };

/**
 * The name of an event kind, such as `"pod.crashLoop"`.
 *
 * @example
 * ```ts
 * import type { EventKind } from "./event.ts";
 *
 * const kind: EventKind = "manual";
 * ```
 */
export type EventKind = typeof EVENT_KINDS[number];

/**
 * Tells whether a value is one of the {@linkcode EVENT_KINDS}.
 *
 * @param value Any value.
 * @returns `true` when `value` names an event kind.
 *
 * @example
 * ```ts
 * import { isEventKind } from "./event.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(isEventKind("pod.oomKilled"), true);
 * strictEqual(isEventKind("pod.crashloop"), false);
 * ```
 */
export function isEventKind(value: unknown): value is EventKind {
  return typeof value === "string" && (EVENT_KINDS as readonly string[]).includes(value);
}

/**
 * Points at a pod, and optionally at one of its containers. A {@linkcode Pod}
 * is assignable to it.
 *
 * @example
 * ```ts
 * import type { PodRef } from "./event.ts";
 *
 * const ref: PodRef = { namespace: "shop", name: "web-1", container: "app" };
 * ```
 */
export interface PodRef {
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name. */
  readonly name: string;
  /** A container in the pod; the host picks the default container when absent. */
  readonly container?: string;
}

/**
 * The state of a container: exactly one of `running`, `waiting` or
 * `terminated` is set, or none when Kubernetes reported nothing.
 *
 * @example
 * ```ts
 * import type { ContainerState } from "./event.ts";
 *
 * const state: ContainerState = {
 *   terminated: {
 *     exitCode: 1,
 *     reason: "Error",
 *     startedAt: "2024-05-01T10:00:00Z",
 *     finishedAt: "2024-05-01T10:00:03Z",
 *   },
 * };
 * ```
 */
export interface ContainerState {
  /** Set while the container runs. */
  readonly running?: { readonly startedAt: string | null };
  /** Set while the container waits to start, e.g. `CrashLoopBackOff`. */
  readonly waiting?: { readonly reason: string | null; readonly message: string | null };
  /** Set once the container has exited. */
  readonly terminated?: {
    readonly exitCode: number;
    readonly reason: string | null;
    readonly signal?: number;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
  };
}

/**
 * A container's name and image as declared in the pod spec.
 *
 * @example
 * ```ts
 * import type { Container } from "./event.ts";
 *
 * const container: Container = { name: "app", image: "shop/web:1.4" };
 * ```
 */
export interface Container {
  /** The container's name. */
  readonly name: string;
  /** The image reference. */
  readonly image: string;
}

/**
 * The observed status of one container.
 *
 * @example
 * ```ts
 * import type { ContainerStatus } from "./event.ts";
 *
 * const status: ContainerStatus = {
 *   name: "app",
 *   ready: false,
 *   restartCount: 7,
 *   image: "shop/web:1.4",
 *   state: { waiting: { reason: "CrashLoopBackOff", message: null } },
 *   lastState: {},
 * };
 * ```
 */
export interface ContainerStatus {
  /** The container's name. */
  readonly name: string;
  /** Whether the container passes its readiness probe. */
  readonly ready: boolean;
  /** How many times the container restarted. */
  readonly restartCount: number;
  /** The image the container runs. */
  readonly image: string;
  /** The current state. */
  readonly state: ContainerState;
  /** The state before the last restart. */
  readonly lastState: ContainerState;
}

/**
 * A pod's lifecycle phase.
 *
 * @example
 * ```ts
 * import type { PodPhase } from "./event.ts";
 *
 * const phase: PodPhase = "Running";
 * ```
 */
export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

/**
 * A pod, as the host summarizes it.
 *
 * @example
 * ```ts
 * import type { Pod, PodRef } from "./event.ts";
 *
 * const pod: Pod = {
 *   namespace: "shop",
 *   name: "web-1",
 *   uid: "0b9c",
 *   node: "node-a",
 *   phase: "Running",
 *   labels: { app: "web" },
 *   annotations: {},
 *   containers: [{ name: "app", image: "shop/web:1.4" }],
 *   containerStatuses: [],
 * };
 * const ref: PodRef = pod;
 * ```
 */
export interface Pod {
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name. */
  readonly name: string;
  /** The pod's UID. */
  readonly uid: string;
  /** The node the pod is scheduled on, or `null` while unscheduled. */
  readonly node: string | null;
  /** The lifecycle phase. */
  readonly phase: PodPhase;
  /** The pod's labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The containers in the pod spec. */
  readonly containers: readonly Container[];
  /** The observed container statuses. */
  readonly containerStatuses: readonly ContainerStatus[];
  /** A short reason for the pod's state, e.g. `Evicted`. */
  readonly reason?: string;
  /** A human-readable message for the pod's state. */
  readonly message?: string;
  /** When the pod started (RFC 3339). */
  readonly startTime?: string;
}

/**
 * A Kubernetes `Event` object (what `kubectl get events` shows).
 *
 * @example
 * ```ts
 * import type { K8sEvent } from "./event.ts";
 *
 * const event: K8sEvent = {
 *   namespace: "shop",
 *   name: "web-1.17a",
 *   type: "Warning",
 *   reason: "BackOff",
 *   message: "Back-off restarting failed container",
 *   count: 12,
 *   firstTimestamp: "2024-05-01T10:00:00Z",
 *   lastTimestamp: "2024-05-01T10:09:00Z",
 *   involvedObject: { kind: "Pod", namespace: "shop", name: "web-1" },
 * };
 * ```
 */
export interface K8sEvent {
  /** The event's namespace. */
  readonly namespace: string;
  /** The event object's own name. */
  readonly name: string;
  /** `Normal` or `Warning`. */
  readonly type: string;
  /** A short machine-readable reason, e.g. `BackOff`. */
  readonly reason: string;
  /** The human-readable message. */
  readonly message: string;
  /** How many times the event occurred. */
  readonly count: number;
  /** When it first occurred (RFC 3339), when known. */
  readonly firstTimestamp: string | null;
  /** When it last occurred (RFC 3339), when known. */
  readonly lastTimestamp: string | null;
  /** The object the event is about. */
  readonly involvedObject: {
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid?: string;
  };
}

/**
 * The Kubernetes object an event is about.
 *
 * @example
 * ```ts
 * import type { Subject } from "./event.ts";
 *
 * const subject: Subject = { kind: "Pod", namespace: "shop", name: "web-1" };
 * ```
 */
export interface Subject {
  /** The object's kind, e.g. `Pod`. */
  readonly kind: string;
  /** The object's namespace; absent for cluster-scoped objects such as nodes. */
  readonly namespace?: string;
  /** The object's name. */
  readonly name: string;
  /** The object's UID, when known. */
  readonly uid?: string;
}

/**
 * The fields every event has.
 *
 * @typeParam K The event's kind.
 *
 * @example
 * ```ts
 * import type { EventBase } from "./event.ts";
 *
 * const base: EventBase<"schedule"> = {
 *   id: "evt-1",
 *   kind: "schedule",
 *   time: "2024-05-01T10:00:00Z",
 *   subject: null,
 * };
 * ```
 */
export interface EventBase<K extends EventKind> {
  /** A unique id for the event. */
  readonly id: string;
  /** The event's kind: switch on it to narrow the event's type. */
  readonly kind: K;
  /** When the event happened (RFC 3339). */
  readonly time: string;
  /** The object the event is about, or `null` (e.g. for schedules). */
  readonly subject: Subject | null;
}

/**
 * A pod was created.
 *
 * @example
 * ```ts
 * import type { PodCreateEvent } from "./event.ts";
 *
 * function podName(event: PodCreateEvent): string {
 *   return event.pod.name;
 * }
 * ```
 */
export interface PodCreateEvent extends EventBase<"pod.create">, WithObject<V1Pod> {
  /** The new pod. */
  readonly pod: Pod;
}

/**
 * A pod changed; `changes` names what changed (e.g. `"phase"`).
 *
 * @example
 * ```ts
 * import type { PodUpdateEvent } from "./event.ts";
 *
 * function phaseChanged(event: PodUpdateEvent): boolean {
 *   return event.changes.includes("phase");
 * }
 * ```
 */
export interface PodUpdateEvent extends EventBase<"pod.update">, WithObject<V1Pod> {
  /** The pod after the change. */
  readonly pod: Pod;
  /** The whole pod before the change. */
  readonly oldObject: V1Pod;
  /** What changed, e.g. `"phase"`, `"containerStatuses"`. */
  readonly changes: readonly string[];
}

/**
 * A pod was deleted.
 *
 * @example
 * ```ts
 * import type { PodDeleteEvent } from "./event.ts";
 *
 * function podName(event: PodDeleteEvent): string {
 *   return event.pod.name;
 * }
 * ```
 */
export interface PodDeleteEvent extends EventBase<"pod.delete">, WithObject<V1Pod> {
  /** The pod as last seen. */
  readonly pod: Pod;
}

/**
 * The fields of container-failure events.
 *
 * @typeParam K The event's kind.
 *
 * @example
 * ```ts
 * import type { ContainerProblemEvent } from "./event.ts";
 *
 * function describe(event: ContainerProblemEvent<"pod.crashLoop">): string {
 *   return `${event.container} restarted ${event.restartCount} times`;
 * }
 * ```
 */
export interface ContainerProblemEvent<K extends EventKind>
  extends EventBase<K>, WithObject<V1Pod> {
  /** The pod. */
  readonly pod: Pod;
  /** The failing container. */
  readonly container: string;
  /** Kubernetes' reason, e.g. `CrashLoopBackOff`. */
  readonly reason: string;
  /** The container's restart count. */
  readonly restartCount: number;
}

/**
 * A container is crash-looping.
 *
 * @example
 * ```ts
 * import type { PodCrashLoopEvent } from "./event.ts";
 *
 * function title(event: PodCrashLoopEvent): string {
 *   return `${event.pod.name}/${event.container} is crash-looping`;
 * }
 * ```
 */
export type PodCrashLoopEvent = ContainerProblemEvent<"pod.crashLoop">;

/**
 * A container was killed for running out of memory.
 *
 * @example
 * ```ts
 * import type { PodOomKilledEvent } from "./event.ts";
 *
 * function title(event: PodOomKilledEvent): string {
 *   return `${event.container} was OOM-killed`;
 * }
 * ```
 */
export type PodOomKilledEvent = ContainerProblemEvent<"pod.oomKilled">;

/**
 * A container's image cannot be pulled.
 *
 * @example
 * ```ts
 * import type { PodImagePullBackOffEvent } from "./event.ts";
 *
 * function title(event: PodImagePullBackOffEvent): string {
 *   return `${event.container} cannot pull its image`;
 * }
 * ```
 */
export type PodImagePullBackOffEvent = ContainerProblemEvent<"pod.imagePullBackOff">;

/**
 * A pod was evicted from its node.
 *
 * @example
 * ```ts
 * import type { PodEvictedEvent } from "./event.ts";
 *
 * function why(event: PodEvictedEvent): string {
 *   return `${event.reason}: ${event.message}`;
 * }
 * ```
 */
export interface PodEvictedEvent extends EventBase<"pod.evicted">, WithObject<V1Pod> {
  /** The evicted pod. */
  readonly pod: Pod;
  /** Kubernetes' reason, e.g. `Evicted`. */
  readonly reason: string;
  /** Kubernetes' message, e.g. which resource ran short. */
  readonly message: string;
}

/**
 * Kubernetes recorded a `Warning` event.
 *
 * @example
 * ```ts
 * import type { K8sWarningEvent } from "./event.ts";
 *
 * function why(event: K8sWarningEvent): string {
 *   return event.k8sEvent.reason;
 * }
 * ```
 */
export interface K8sWarningEvent extends EventBase<"k8s.warningEvent">, WithObject<CoreV1Event> {
  /** The Kubernetes event. */
  readonly k8sEvent: K8sEvent;
  /** The pod it concerns, when it concerns one. */
  readonly pod?: Pod;
}

/**
 * The fields of events that carry the object they are about, exactly as the
 * API server sent it (without `metadata.managedFields`).
 *
 * @typeParam T The object's type.
 *
 * @example
 * ```ts
 * import type { WithObject } from "./event.ts";
 * import type { V1Pod } from "./k8s_types.ts";
 *
 * function limit(event: WithObject<V1Pod>): string | undefined {
 *   return event.object.spec?.containers[0]?.resources?.limits?.["memory"];
 * }
 * ```
 */
export interface WithObject<T> {
  /** The object's kind as `apiVersion/Kind`, e.g. `"v1/Pod"`. */
  readonly resource: string;
  /** The object as the API server sent it. */
  readonly object: T;
}

/**
 * An object of the trigger's `resource` kind was created
 * (`{ on: "k8s.create", resource: "apps/v1/Deployment" }`).
 *
 * @example
 * ```ts
 * import type { K8sCreateEvent } from "./event.ts";
 *
 * function what(event: K8sCreateEvent): string {
 *   return `${event.resource} ${event.object.metadata?.name} created`;
 * }
 * ```
 */
export interface K8sCreateEvent extends EventBase<"k8s.create">, WithObject<KubeObject> {}

/**
 * An object of the trigger's `resource` kind changed; `changes` names the
 * paths that differ (`"spec.replicas"`, `"status.conditions"`,
 * `"metadata.labels.app"`), `oldObject` is the state before.
 *
 * @example
 * ```ts
 * import type { K8sUpdateEvent } from "./event.ts";
 *
 * function scaled(event: K8sUpdateEvent): boolean {
 *   return event.changes.includes("spec.replicas");
 * }
 * ```
 */
export interface K8sUpdateEvent extends EventBase<"k8s.update">, WithObject<KubeObject> {
  /** The object before the change. */
  readonly oldObject: KubeObject;
  /** The dotted paths that changed. */
  readonly changes: readonly string[];
}

/**
 * An object of the trigger's `resource` kind was deleted; `object` is its
 * last known state.
 *
 * @example
 * ```ts
 * import type { K8sDeleteEvent } from "./event.ts";
 *
 * function what(event: K8sDeleteEvent): string {
 *   return `${event.object.kind} ${event.object.metadata?.name} deleted`;
 * }
 * ```
 */
export interface K8sDeleteEvent extends EventBase<"k8s.delete">, WithObject<KubeObject> {}

/**
 * A semantic event about an object: why it fired, in Kubernetes' words.
 *
 * @typeParam K The event's kind.
 * @typeParam T The object's type.
 *
 * @example
 * ```ts
 * import type { ObjectProblemEvent } from "./event.ts";
 * import type { V1Job } from "./k8s_types.ts";
 *
 * function why(event: ObjectProblemEvent<"job.failed", V1Job>): string {
 *   return `${event.reason}: ${event.message}`;
 * }
 * ```
 */
export interface ObjectProblemEvent<K extends EventKind, T> extends EventBase<K>, WithObject<T> {
  /** Kubernetes' reason, e.g. `BackoffLimitExceeded`, `MemoryPressure`. */
  readonly reason: string;
  /** Kubernetes' message, when it gave one. */
  readonly message?: string;
}

/**
 * A Job failed (its `Failed` condition became true; once per Job).
 *
 * @example
 * ```ts
 * import type { JobFailedEvent } from "./event.ts";
 *
 * function title(event: JobFailedEvent): string {
 *   return `Job ${event.object.metadata?.name} failed: ${event.reason}`;
 * }
 * ```
 */
export type JobFailedEvent = ObjectProblemEvent<"job.failed", V1Job>;

/**
 * A node stopped being Ready (`reason` is the Ready condition's), once per
 * episode: it fires again only after the node was Ready again.
 *
 * @example
 * ```ts
 * import type { NodeNotReadyEvent } from "./event.ts";
 *
 * function title(event: NodeNotReadyEvent): string {
 *   return `${event.object.metadata?.name} is not ready: ${event.reason}`;
 * }
 * ```
 */
export type NodeNotReadyEvent = ObjectProblemEvent<"node.notReady", V1Node>;

/**
 * A node reported `MemoryPressure`, `DiskPressure` or `PIDPressure`
 * (`reason` names which), once per episode of each.
 *
 * @example
 * ```ts
 * import type { NodePressureEvent } from "./event.ts";
 *
 * function title(event: NodePressureEvent): string {
 *   return `${event.object.metadata?.name}: ${event.reason}`;
 * }
 * ```
 */
export type NodePressureEvent = ObjectProblemEvent<"node.pressure", V1Node>;

/**
 * A Deployment's rollout stopped progressing (`Progressing=False`,
 * `ProgressDeadlineExceeded`).
 *
 * @example
 * ```ts
 * import type { DeploymentRolloutStuckEvent } from "./event.ts";
 *
 * function title(event: DeploymentRolloutStuckEvent): string {
 *   return `${event.object.metadata?.name}: ${event.message ?? event.reason}`;
 * }
 * ```
 */
export type DeploymentRolloutStuckEvent = ObjectProblemEvent<
  "deployment.rolloutStuck",
  V1Deployment
>;

/**
 * A pod stayed unschedulable longer than `triggers.podPendingSeconds`;
 * `message` is the scheduler's (e.g. `0/3 nodes are available: 3 Insufficient cpu.`).
 *
 * @example
 * ```ts
 * import type { PodPendingEvent } from "./event.ts";
 *
 * function title(event: PodPendingEvent): string {
 *   return `${event.pod.name} cannot be scheduled: ${event.message}`;
 * }
 * ```
 */
export interface PodPendingEvent extends ObjectProblemEvent<"pod.pending", V1Pod> {
  /** The pod. */
  readonly pod: Pod;
}

/**
 * A container cannot start because of its configuration
 * (`CreateContainerConfigError`: a missing ConfigMap, Secret or key;
 * `CreateContainerError`, `RunContainerError`, ...); `message` says what.
 *
 * @example
 * ```ts
 * import type { PodContainerConfigErrorEvent } from "./event.ts";
 *
 * function title(event: PodContainerConfigErrorEvent): string {
 *   return `${event.container}: ${event.message ?? event.reason}`;
 * }
 * ```
 */
export interface PodContainerConfigErrorEvent
  extends ObjectProblemEvent<"pod.containerConfigError", V1Pod> {
  /** The pod. */
  readonly pod: Pod;
  /** The container that cannot start. */
  readonly container: string;
}

/**
 * A container's probe keeps failing (`Unhealthy` events), once per episode.
 *
 * @example
 * ```ts
 * import type { PodProbeFailingEvent } from "./event.ts";
 *
 * function title(event: PodProbeFailingEvent): string {
 *   return `${event.container ?? "?"}: ${event.probe ?? "a"} probe fails: ${event.message}`;
 * }
 * ```
 */
export interface PodProbeFailingEvent extends EventBase<"pod.probeFailing"> {
  /** The `Unhealthy` event. */
  readonly k8sEvent: K8sEvent;
  /** The pod, when the host knows it. */
  readonly pod?: Pod;
  /** `"v1/Pod"` when the host knows the pod. */
  readonly resource?: string;
  /** The whole pod, when the host knows it. */
  readonly object?: V1Pod;
  /** The container whose probe fails, from the event's `fieldPath`. */
  readonly container?: string;
  /** `liveness`, `readiness` or `startup`. */
  readonly probe?: string;
  /** Always `Unhealthy`. */
  readonly reason: string;
  /** The kubelet's message, e.g. `Liveness probe failed: HTTP probe failed with statuscode: 500`. */
  readonly message: string;
}

/**
 * An Alertmanager alert, as received by the host's webhook.
 *
 * @example
 * ```ts
 * import type { Alert } from "./event.ts";
 *
 * const alert: Alert = {
 *   status: "firing",
 *   labels: { alertname: "HighLatency", namespace: "shop" },
 *   annotations: { summary: "p99 over 2s" },
 *   startsAt: "2024-05-01T10:00:00Z",
 * };
 * ```
 */
export interface Alert {
  /** `firing` or `resolved`. */
  readonly status: "firing" | "resolved";
  /** The alert's labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The alert's annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** When the alert started firing (RFC 3339). */
  readonly startsAt: string;
  /** When the alert ended (RFC 3339). */
  readonly endsAt?: string;
  /** Alertmanager's fingerprint. */
  readonly fingerprint?: string;
  /** A link to the alert's source. */
  readonly generatorURL?: string;
}

/**
 * An alert arrived from Alertmanager.
 *
 * @example
 * ```ts
 * import type { AlertEvent } from "./event.ts";
 *
 * function name(event: AlertEvent): string {
 *   return event.alert.labels["alertname"] ?? "unnamed";
 * }
 * ```
 */
export interface AlertEvent extends EventBase<"alert"> {
  /** The alert. */
  readonly alert: Alert;
}

/**
 * Someone ran the workflow by hand (CLI, HTTP API) against a pod.
 *
 * @example
 * ```ts
 * import type { ManualEvent } from "./event.ts";
 *
 * function target(event: ManualEvent): string {
 *   return `${event.target.namespace}/${event.target.pod}`;
 * }
 * ```
 */
export interface ManualEvent extends EventBase<"manual"> {
  /** The pod (by name) and optional container it was run against. */
  readonly target: {
    readonly namespace: string;
    readonly pod: string;
    readonly container?: string;
  };
  /** The pod, when the host could read it. */
  readonly pod?: Pod;
  /** Who asked, when known. */
  readonly requestedBy?: string;
}

/**
 * A schedule fired.
 *
 * @example
 * ```ts
 * import type { ScheduleEvent } from "./event.ts";
 *
 * function every(event: ScheduleEvent): string {
 *   return event.schedule;
 * }
 * ```
 */
export interface ScheduleEvent extends EventBase<"schedule"> {
  /** The trigger's interval, e.g. `"5m"`. */
  readonly schedule: string;
}

/**
 * Any event: a union discriminated by `kind`.
 *
 * @example Narrow by kind
 * ```ts
 * import type { WorkflowEvent } from "./event.ts";
 *
 * function describe(event: WorkflowEvent): string {
 *   switch (event.kind) {
 *     case "pod.crashLoop":
 *       return `${event.pod.name} restarted ${event.restartCount} times`;
 *     case "alert":
 *       return `alert ${event.alert.status}`;
 *     default:
 *       return event.kind;
 *   }
 * }
 * ```
 */
export type WorkflowEvent =
  | PodCreateEvent
  | PodUpdateEvent
  | PodDeleteEvent
  | PodCrashLoopEvent
  | PodOomKilledEvent
  | PodImagePullBackOffEvent
  | PodEvictedEvent
  | K8sWarningEvent
  | K8sCreateEvent
  | K8sUpdateEvent
  | K8sDeleteEvent
  | JobFailedEvent
  | NodeNotReadyEvent
  | NodePressureEvent
  | PodPendingEvent
  | PodContainerConfigErrorEvent
  | PodProbeFailingEvent
  | DeploymentRolloutStuckEvent
  | AlertEvent
  | ManualEvent
  | ScheduleEvent;

/**
 * The event type for a kind, or for a union of kinds.
 *
 * @typeParam K One or more event kinds.
 *
 * @example
 * ```ts
 * import type { EventOf } from "./event.ts";
 *
 * function restarts(event: EventOf<"pod.crashLoop" | "pod.oomKilled">): number {
 *   return event.restartCount;
 * }
 * ```
 */
export type EventOf<K extends EventKind> = Extract<WorkflowEvent, { readonly kind: K }>;

/**
 * The pod an event is about, as a {@linkcode PodRef}: the event's `pod`, the
 * target of a manual run, or a pod subject. Returns `undefined` for events
 * that concern no pod (alerts, schedules, warnings about other objects).
 *
 * @param event Any event.
 * @returns A reference to the event's pod (with the container when the event names one), or `undefined`.
 *
 * @example
 * ```ts
 * import { podRefOf, type ManualEvent } from "./event.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const event: ManualEvent = {
 *   id: "evt-1",
 *   kind: "manual",
 *   time: "2024-05-01T10:00:00Z",
 *   subject: { kind: "Pod", namespace: "shop", name: "web-1" },
 *   target: { namespace: "shop", pod: "web-1", container: "app" },
 * };
 * deepStrictEqual(podRefOf(event), { namespace: "shop", name: "web-1", container: "app" });
 * ```
 */
export function podRefOf(event: WorkflowEvent): PodRef | undefined {
  switch (event.kind) {
    case "manual": {
      const { namespace, pod, container } = event.target;
      return container === undefined
        ? { namespace, name: pod }
        : { namespace, name: pod, container };
    }
    case "pod.crashLoop":
    case "pod.oomKilled":
    case "pod.imagePullBackOff":
      return { namespace: event.pod.namespace, name: event.pod.name, container: event.container };
    case "pod.containerConfigError":
      return { namespace: event.pod.namespace, name: event.pod.name, container: event.container };
    case "pod.create":
    case "pod.update":
    case "pod.delete":
    case "pod.evicted":
    case "pod.pending":
      return { namespace: event.pod.namespace, name: event.pod.name };
    case "pod.probeFailing":
      if (event.pod !== undefined) {
        return event.container === undefined
          ? { namespace: event.pod.namespace, name: event.pod.name }
          : { namespace: event.pod.namespace, name: event.pod.name, container: event.container };
      }
      break;
    case "k8s.warningEvent":
      if (event.pod !== undefined) {
        return { namespace: event.pod.namespace, name: event.pod.name };
      }
      break;
    case "alert":
    case "schedule":
      break;
  }
  const subject = event.subject;
  if (subject !== null && subject.kind === "Pod" && subject.namespace !== undefined) {
    return { namespace: subject.namespace, name: subject.name };
  }
  return undefined;
}
