import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  EVENT_KINDS,
  type EventKind,
  type EventOf,
  isEventKind,
  type JobFailedEvent,
  type K8sUpdateEvent,
  type ManualEvent,
  type PodCrashLoopEvent,
  type PodRef,
  podRefOf,
  type WorkflowEvent,
} from "./event.ts";
import type { CoreV1Event, KubeObject, V1Deployment, V1Job, V1Node, V1Pod } from "./k8s_types.ts";
import { fakeEvent, fakePod, fakePodObject } from "./testing.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

Deno.test("finds the pod of every pod event, with the container when the event names one", () => {
  const pod = fakePod({ namespace: "shop", name: "web-1" });
  const onPod = { namespace: "shop", name: "web-1" };
  const onContainer = { ...onPod, container: "app" };
  const expected: Record<EventKind, PodRef | undefined> = {
    "pod.create": onPod,
    "pod.update": onPod,
    "pod.delete": onPod,
    "pod.crashLoop": onContainer,
    "pod.oomKilled": onContainer,
    "pod.imagePullBackOff": onContainer,
    "pod.evicted": onPod,
    "pod.pending": onPod,
    "pod.containerConfigError": onContainer,
    "pod.probeFailing": onContainer,
    "k8s.warningEvent": onPod,
    "k8s.create": undefined,
    "k8s.update": undefined,
    "k8s.delete": undefined,
    "job.failed": undefined,
    "node.notReady": undefined,
    "node.pressure": undefined,
    "deployment.rolloutStuck": undefined,
    "alert": onPod,
    "manual": onPod,
    "schedule": undefined,
  };
  for (const kind of EVENT_KINDS) {
    deepStrictEqual(podRefOf(fakeEvent(kind, { pod } as never)), expected[kind], kind);
  }
});

Deno.test("names the container of a failing probe only when the event has one", () => {
  const pod = fakePod({ namespace: "shop", name: "web-1" });
  const { container: _container, ...withoutContainer } = fakeEvent("pod.probeFailing", { pod });
  deepStrictEqual(podRefOf(withoutContainer), { namespace: "shop", name: "web-1" });
  // Without the pod (the host did not know it), the Pod subject still names it.
  const { pod: _pod, object: _object, ...withoutPod } = fakeEvent("pod.probeFailing", { pod });
  deepStrictEqual(podRefOf(withoutPod), { namespace: "shop", name: "web-1" });
  strictEqual(podRefOf({ ...withoutPod, subject: null }), undefined);
});

Deno.test("finds no pod in events about other kinds, even when their subject names a namespace", () => {
  const deployment = fakeEvent("deployment.rolloutStuck");
  strictEqual(deployment.subject?.kind, "Deployment");
  strictEqual(podRefOf(deployment), undefined);
  const node = fakeEvent("node.notReady");
  deepStrictEqual(node.subject, {
    kind: "Node",
    name: "node-1",
    uid: "00000000-0000-4000-8000-000000000006",
  });
  strictEqual(podRefOf(node), undefined);
  // A change trigger on pods (resource "v1/Pod") carries a Pod subject.
  const podChange = fakeEvent("k8s.update", { object: fakePodObject() });
  strictEqual(podChange.resource, "v1/Pod");
  deepStrictEqual(podRefOf(podChange), { namespace: "default", name: "web-1" });
});

Deno.test("takes a manual run's target, container included, over its pod", () => {
  const event: ManualEvent = {
    ...fakeEvent("manual"),
    target: { namespace: "shop", pod: "cart-2", container: "worker" },
  };
  deepStrictEqual(podRefOf(event), { namespace: "shop", name: "cart-2", container: "worker" });
});

Deno.test("falls back to a Pod subject, and to nothing for other subjects", () => {
  const alert = fakeEvent("alert", { subject: { kind: "Pod", namespace: "shop", name: "web-3" } });
  deepStrictEqual(podRefOf(alert), { namespace: "shop", name: "web-3" });
  const onDeployment = fakeEvent("alert", {
    subject: { kind: "Deployment", namespace: "shop", name: "web" },
  });
  strictEqual(podRefOf(onDeployment), undefined);
  const { pod: _pod, ...withoutPod } = fakeEvent("k8s.warningEvent");
  strictEqual(podRefOf({ ...withoutPod, subject: null }), undefined);
});

Deno.test("recognises event kinds exactly", () => {
  strictEqual(isEventKind("k8s.warningEvent"), true);
  strictEqual(isEventKind("pod.crashloop"), false);
  strictEqual(isEventKind(42), false);
});

Deno.test("types events as a union discriminated by kind", () => {
  assertType<IsExact<EventOf<"pod.crashLoop">, PodCrashLoopEvent>>(true);
  assertType<IsExact<EventOf<"k8s.update">, K8sUpdateEvent>>(true);
  assertType<IsExact<EventOf<"job.failed">, JobFailedEvent>>(true);
  assertType<IsExact<EventOf<WorkflowEvent["kind"]>, WorkflowEvent>>(true);
  const describe = (event: WorkflowEvent): string => {
    switch (event.kind) {
      case "pod.crashLoop":
        assertType<IsExact<typeof event.object, V1Pod>>(true);
        return `${event.pod.name}:${event.restartCount}`;
      case "k8s.update": {
        assertType<IsExact<typeof event, K8sUpdateEvent>>(true);
        assertType<IsExact<typeof event.oldObject, KubeObject>>(true);
        const before = event.oldObject.metadata.generation;
        return `${event.resource} ${event.object.metadata.name}: ${
          event.changes.join(",")
        } (was ${before})`;
      }
      case "job.failed":
        assertType<IsExact<typeof event.object, V1Job>>(true);
        return `${event.object.spec?.backoffLimit}:${event.reason}`;
      case "node.pressure":
        assertType<IsExact<typeof event.object, V1Node>>(true);
        return `${event.object.metadata?.name}:${event.reason}`;
      case "deployment.rolloutStuck":
        assertType<IsExact<typeof event.object, V1Deployment>>(true);
        return `${event.object.spec.replicas}:${event.message}`;
      case "pod.pending":
        return `${event.pod.node}:${event.message}`;
      case "pod.probeFailing":
        assertType<IsExact<typeof event.probe, string | undefined>>(true);
        return `${event.container}:${event.probe}`;
      case "k8s.warningEvent":
        assertType<IsExact<typeof event.object, CoreV1Event>>(true);
        return event.object.involvedObject.name ?? "";
      case "alert":
        // @ts-expect-error: alerts carry no pod
        return event.pod;
      default:
        return event.kind;
    }
  };
  strictEqual(describe(fakeEvent("pod.crashLoop")), "web-1:5");
  strictEqual(
    describe(fakeEvent("k8s.update")),
    "apps/v1/Deployment web: metadata.generation,spec.replicas (was 1)",
  );
  strictEqual(describe(fakeEvent("job.failed")), "3:BackoffLimitExceeded");
  strictEqual(describe(fakeEvent("node.pressure")), "node-1:MemoryPressure");
  strictEqual(
    describe(fakeEvent("deployment.rolloutStuck")),
    '3:ReplicaSet "web-7c6b5a4d3" has timed out progressing.',
  );
  ok(describe(fakeEvent("pod.pending")).startsWith("null:0/3 nodes are available"));
  strictEqual(describe(fakeEvent("pod.probeFailing")), "app:liveness");
  strictEqual(describe(fakeEvent("k8s.warningEvent")), "web-1");
  const ref: PodRef = fakePod();
  strictEqual(ref.name, "web-1");
});
