import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  EVENT_KINDS,
  type EventOf,
  isEventKind,
  type ManualEvent,
  type PodCrashLoopEvent,
  type PodRef,
  podRefOf,
  type WorkflowEvent,
} from "./event.ts";
import { fakeEvent, fakePod } from "./testing.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

Deno.test("finds the pod of every pod event, with the container when the event names one", () => {
  const pod = fakePod({ namespace: "shop", name: "web-1" });
  const expected: Record<string, PodRef | undefined> = {
    "pod.create": { namespace: "shop", name: "web-1" },
    "pod.update": { namespace: "shop", name: "web-1" },
    "pod.delete": { namespace: "shop", name: "web-1" },
    "pod.crashLoop": { namespace: "shop", name: "web-1", container: "app" },
    "pod.oomKilled": { namespace: "shop", name: "web-1", container: "app" },
    "pod.imagePullBackOff": { namespace: "shop", name: "web-1", container: "app" },
    "pod.evicted": { namespace: "shop", name: "web-1" },
    "k8s.warningEvent": { namespace: "shop", name: "web-1" },
    "manual": { namespace: "shop", name: "web-1" },
    "schedule": undefined,
  };
  for (const kind of EVENT_KINDS) {
    if (kind === "alert") continue;
    deepStrictEqual(podRefOf(fakeEvent(kind, { pod } as never)), expected[kind], kind);
  }
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
  assertType<IsExact<EventOf<WorkflowEvent["kind"]>, WorkflowEvent>>(true);
  const describe = (event: WorkflowEvent): string => {
    switch (event.kind) {
      case "pod.crashLoop":
        return `${event.pod.name}:${event.restartCount}`;
      case "alert":
        // @ts-expect-error: alerts carry no pod
        return event.pod;
      default:
        return event.kind;
    }
  };
  strictEqual(describe(fakeEvent("pod.crashLoop")), "web-1:5");
  const ref: PodRef = fakePod();
  strictEqual(ref.name, "web-1");
});
