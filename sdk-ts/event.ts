/**
 * The events that start workflows, and the Kubernetes shapes they carry,
 * exactly as the host sends them (see `docs/protocol.md`, "Event").
 *
 * @module
 */

/**
 * Every event kind a trigger can name.
 *
 * @example
 * ```ts
 * import { EVENT_KINDS } from "./event.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(EVENT_KINDS.includes("pod.crashLoop"));
 * ```
 */
export const EVENT_KINDS: readonly [
  "pod.create",
  "pod.update",
  "pod.delete",
  "pod.crashLoop",
  "pod.oomKilled",
  "pod.imagePullBackOff",
  "pod.evicted",
  "k8s.warningEvent",
  "alert",
  "manual",
  "schedule",
] = Object.freeze(
  [
    "pod.create",
    "pod.update",
    "pod.delete",
    "pod.crashLoop",
    "pod.oomKilled",
    "pod.imagePullBackOff",
    "pod.evicted",
    "k8s.warningEvent",
    "alert",
    "manual",
    "schedule",
  ] as const,
);

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
  /** The object's namespace. */
  readonly namespace: string;
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
export interface PodCreateEvent extends EventBase<"pod.create"> {
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
export interface PodUpdateEvent extends EventBase<"pod.update"> {
  /** The pod after the change. */
  readonly pod: Pod;
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
export interface PodDeleteEvent extends EventBase<"pod.delete"> {
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
export interface ContainerProblemEvent<K extends EventKind> extends EventBase<K> {
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
export interface PodEvictedEvent extends EventBase<"pod.evicted"> {
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
export interface K8sWarningEvent extends EventBase<"k8s.warningEvent"> {
  /** The Kubernetes event. */
  readonly k8sEvent: K8sEvent;
  /** The pod it concerns, when it concerns one. */
  readonly pod?: Pod;
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
    case "pod.create":
    case "pod.update":
    case "pod.delete":
    case "pod.evicted":
      return { namespace: event.pod.namespace, name: event.pod.name };
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
  if (subject !== null && subject.kind === "Pod") {
    return { namespace: subject.namespace, name: subject.name };
  }
  return undefined;
}
