// The example workflows and events in ../examples, run with the testing
// helpers: they must stay valid, type-check, and do what their comments say.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { podRefOf, type WorkflowEvent } from "./event.ts";
import { UpstreamError } from "./errors.ts";
import { fakePod, runWorkflow } from "./testing.ts";
import { toManifest } from "./workflow.ts";
import crashloopReport from "../examples/workflows/crashloop-report.ts";
import hello from "../examples/workflows/hello.ts";
import podRestarts from "../examples/workflows/pod-restarts.ts";
import alertJson from "../examples/events/alert.json" with { type: "json" };
import manualJson from "../examples/events/manual.json" with { type: "json" };
import jobFailedJson from "../examples/events/job-failed.json" with { type: "json" };
import deploymentUpdateJson from "../examples/events/k8s-update-deployment.json" with {
  type: "json",
};
import crashLoopJson from "../examples/events/pod-crashloop.json" with { type: "json" };
import scheduleJson from "../examples/events/schedule.json" with { type: "json" };

const manual = manualJson as WorkflowEvent;
const crashLoop = crashLoopJson as WorkflowEvent;
const schedule = scheduleJson as WorkflowEvent;
const alert = alertJson as WorkflowEvent;
const deploymentUpdate = deploymentUpdateJson as WorkflowEvent;
const jobFailed = jobFailedJson as WorkflowEvent;
const events = [manual, crashLoop, schedule, alert, deploymentUpdate, jobFailed];

Deno.test("every example workflow has a valid manifest", () => {
  deepStrictEqual(
    [hello, crashloopReport, podRestarts].map((workflow) => toManifest(workflow).name),
    [
      "hello",
      "crashloop-report",
      "pod-restarts",
    ],
  );
});

Deno.test("hello reports one finding for the manual example event", async () => {
  const { findings, logs } = await runWorkflow(hello, manual);
  deepStrictEqual(findings, [{
    id: "f-1",
    title: "Hello, shop/web-1",
    severity: "info",
    body: "wfhost ran the **hello** workflow for a `manual` event.",
  }]);
  deepStrictEqual(logs, [{ level: "info", message: "saying hello to shop/web-1" }]);
});

Deno.test("crashloop-report reports the previous run's logs of the crash-looping container", async () => {
  const { calls, findings } = await runWorkflow(crashloopReport, crashLoop, {
    params: { tailLines: 20 },
    responses: { "k8s.podLogs": { text: "starting\npanic: boom\n" } },
  });
  deepStrictEqual(calls[0]?.params, {
    pod: { namespace: "shop", name: "web-1" },
    container: "app",
    previous: true,
    tailLines: 20,
  });
  strictEqual(findings.length, 1);
  strictEqual(findings[0]?.title, "web-1 is crash-looping (7 restarts)");
  strictEqual(findings[0]?.severity, "high");
  ok(findings[0]?.body?.includes("```\nstarting\npanic: boom\n```"));
});

Deno.test("crashloop-report falls back to the current logs when there is no previous run", async () => {
  const { calls, findings } = await runWorkflow(crashloopReport, manual, {
    responses: {
      "k8s.podLogs": (params) =>
        params.previous === true
          ? Promise.reject(new UpstreamError("previous terminated container not found"))
          : { text: "all quiet" },
    },
  });
  deepStrictEqual(calls.map((call) => call.params["previous"]), [true, undefined, undefined]);
  strictEqual(findings[0]?.severity, "medium");
  ok(findings[0]?.body?.includes("all quiet"));
});

Deno.test("crashloop-report reports nothing for an event without a pod", async () => {
  const { findings, logs } = await runWorkflow(crashloopReport, schedule);
  deepStrictEqual(findings, []);
  strictEqual(logs[0]?.level, "warn");
});

Deno.test("pod-restarts tabulates containers over the threshold from its params", async () => {
  const restarting = (name: string, restartCount: number) => {
    const pod = fakePod({ namespace: "shop", name });
    const status = pod.containerStatuses[0];
    return { ...pod, containerStatuses: status === undefined ? [] : [{ ...status, restartCount }] };
  };
  const { calls, findings } = await runWorkflow(podRestarts, schedule, {
    params: { namespace: "shop", minRestarts: 2 },
    responses: { "k8s.listPods": { items: [restarting("web-1", 5), restarting("web-2", 1)] } },
  });
  deepStrictEqual(calls[0]?.params, { namespace: "shop" });
  strictEqual(findings[0]?.title, "1 container(s) in shop restarted 2+ times");
  deepStrictEqual(findings[0]?.tables, [{
    title: "Restarting containers",
    columns: ["pod", "container", "restarts", "state"],
    rows: [["web-1", "app", "5", "Running"]],
  }]);
});

Deno.test("the example events have the shape of their kinds", () => {
  deepStrictEqual(events.map((event) => event.kind), [
    "manual",
    "pod.crashLoop",
    "schedule",
    "alert",
    "k8s.update",
    "job.failed",
  ]);
  for (const event of events) {
    ok(event.id !== "" && !Number.isNaN(Date.parse(event.time)), event.id);
  }
  deepStrictEqual(new Set(events.map((event) => event.id)).size, events.length);
});

Deno.test("the example events' objects agree with their subjects and flattened pods", () => {
  for (const event of [crashLoop, deploymentUpdate, jobFailed]) {
    ok("object" in event && event.object !== undefined && "resource" in event, event.id);
    const object = event.object as {
      apiVersion: string;
      kind: string;
      metadata?: { namespace?: string; name?: string; uid?: string };
    };
    strictEqual(event.resource, `${object.apiVersion}/${object.kind}`, event.id);
    deepStrictEqual(event.subject, {
      kind: object.kind,
      namespace: object.metadata?.namespace,
      name: object.metadata?.name,
      uid: object.metadata?.uid,
    });
  }
  ok(crashLoop.kind === "pod.crashLoop");
  const { pod, object } = crashLoop;
  deepStrictEqual(object.metadata?.labels, pod.labels);
  strictEqual(object.spec?.nodeName, pod.node);
  strictEqual(object.status?.phase, pod.phase);
  strictEqual(object.status?.startTime, pod.startTime);
  deepStrictEqual(object.spec?.containers.map((c) => [c.name, c.image]), [[
    "app",
    "shop/web:1.4.2",
  ]]);
  const status = object.status?.containerStatuses?.[0];
  const flat = pod.containerStatuses[0];
  deepStrictEqual(
    [status?.name, status?.ready, status?.restartCount, status?.image],
    [flat?.name, flat?.ready, flat?.restartCount, flat?.image],
  );
  deepStrictEqual(status?.state?.waiting, flat?.state.waiting);
  strictEqual(status?.lastState?.terminated?.exitCode, flat?.lastState.terminated?.exitCode);
  strictEqual(object.spec?.containers[0]?.resources?.limits?.["memory"], "512Mi");
  deepStrictEqual(
    object.metadata?.ownerReferences?.map((owner) => [owner.kind, owner.controller]),
    [
      ["ReplicaSet", true],
    ],
  );
  strictEqual(podRefOf(deploymentUpdate), undefined);
  strictEqual(podRefOf(jobFailed), undefined);
});

Deno.test("the Deployment update example's changes are the paths that differ", () => {
  ok(deploymentUpdate.kind === "k8s.update");
  const { object, oldObject, changes } = deploymentUpdate;
  deepStrictEqual(changes, ["metadata.generation", "spec.template.spec.containers"]);
  strictEqual(object.metadata.generation, (oldObject.metadata.generation ?? 0) + 1);
  const image = (deployment: typeof object) =>
    (deployment["spec"] as { template: { spec: { containers: { image: string }[] } } })
      .template.spec.containers[0]?.image;
  deepStrictEqual([image(oldObject), image(object)], ["shop/web:1.4.1", "shop/web:1.4.2"]);
  const rest = (deployment: typeof object) =>
    JSON.stringify({
      ...deployment,
      metadata: { ...deployment.metadata, generation: 0, resourceVersion: "" },
      spec: { ...(deployment["spec"] as object), template: null },
    });
  strictEqual(rest(object), rest(oldObject));
});

Deno.test("the failed Job example carries its Failed condition's reason and message", () => {
  ok(jobFailed.kind === "job.failed");
  const failed = jobFailed.object.status?.conditions?.find((c) => c.type === "Failed");
  deepStrictEqual(
    [failed?.status, failed?.reason, failed?.message],
    ["True", jobFailed.reason, jobFailed.message],
  );
  strictEqual(jobFailed.object.metadata?.ownerReferences?.[0]?.kind, "CronJob");
});
