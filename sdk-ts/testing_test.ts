import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  CancelledError,
  CapabilityDeniedError,
  HostError,
  InvocationNotActiveError,
  NotFoundError,
  WorkflowDefinitionError,
} from "./errors.ts";
import { EVENT_KINDS, type EventKind } from "./event.ts";
import { createTestContext, fakeEvent, fakePod, runWorkflow } from "./testing.ts";
import { defineWorkflow } from "./workflow.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

const tail = defineWorkflow({
  name: "tail",
  triggers: [{ on: "pod.crashLoop" }],
  capabilities: ["k8s.read", "findings.report"],
  params: { tailLines: { type: "integer", default: 50 }, note: { type: "string" } },
  async run(ctx, event) {
    if (event.kind !== "pod.crashLoop") return;
    const body = await ctx.k8s.podLogs(event.pod, { tailLines: ctx.params.tailLines });
    ctx.log.info("read %d bytes", body.length);
    await ctx.report({ title: ctx.params.note ?? "crashed", body });
  },
});

Deno.test("merges params over the workflow's defaults and types them from its declaration", () => {
  const test = createTestContext({ workflow: tail, params: { note: "hi" } });
  // Before deepStrictEqual, which narrows what it asserts on.
  assertType<IsExact<typeof test.ctx.params.tailLines, number>>(true);
  assertType<IsExact<typeof test.ctx.params.note, string | undefined>>(true);
  deepStrictEqual(test.ctx.params, { tailLines: 50, note: "hi" });
  const plain = createTestContext({ params: { anything: 1 } });
  deepStrictEqual(plain.ctx.params, { anything: 1 });
  strictEqual(plain.ctx.invocationId, "inv-test");
});

Deno.test("answers calls from responses, records them, and numbers findings", async () => {
  const run = await runWorkflow(tail, fakeEvent("pod.crashLoop"), {
    params: { tailLines: 3 },
    responses: { "k8s.podLogs": (params) => ({ text: `logs of ${params.pod.name}` }) },
  });
  deepStrictEqual(run.calls.map((call) => call.method), ["k8s.podLogs", "findings.report"]);
  deepStrictEqual(run.calls[0]?.params, {
    pod: { namespace: "default", name: "web-1" },
    tailLines: 3,
  });
  deepStrictEqual(run.findings, [{ id: "f-1", title: "crashed", body: "logs of web-1" }]);
  deepStrictEqual(run.logs, [{ level: "info", message: "read 13 bytes" }]);
});

Deno.test("throws the Error given as a response, and a HostError for a method without one", async () => {
  await rejects(
    runWorkflow(tail, fakeEvent("pod.crashLoop"), {
      responses: { "k8s.podLogs": new NotFoundError("Gone") },
    }),
    NotFoundError,
  );
  await rejects(runWorkflow(tail, fakeEvent("pod.crashLoop")), (error: unknown) => {
    ok(error instanceof HostError);
    strictEqual(
      error.message,
      'No test response for k8s.podLogs: pass responses["k8s.podLogs"] to createTestContext',
    );
    return true;
  });
});

Deno.test("refuses what the workflow did not declare and what the fake host does not grant", async () => {
  const test = createTestContext({ workflow: tail, granted: ["findings.report"] });
  await rejects(test.ctx.debug.processList(fakePod()), /does not declare/);
  await rejects(test.ctx.k8s.getPod(fakePod()), (error: unknown) => {
    ok(error instanceof CapabilityDeniedError);
    strictEqual(error.message, 'The "k8s.read" capability is not granted');
    return true;
  });
  deepStrictEqual(test.calls.map((call) => call.method), ["k8s.getPod"]);
});

Deno.test("cancels and ends like the runtime does", async () => {
  const test = createTestContext({ responses: { "k8s.getPod": () => new Promise(() => {}) } });
  const pending = test.ctx.k8s.getPod(fakePod());
  test.cancel();
  await rejects(pending, CancelledError);
  ok(test.ctx.signal.reason instanceof CancelledError);
  test.end();
  await rejects(test.ctx.report({ title: "late" }), InvocationNotActiveError);
});

Deno.test("returns copies of canned results, so a workflow cannot change them for the next call", async () => {
  const pod = fakePod();
  const test = createTestContext({ responses: { "k8s.getPod": pod } });
  const first = await test.ctx.k8s.getPod(pod);
  (first.labels as Record<string, string>)["changed"] = "yes";
  strictEqual((await test.ctx.k8s.getPod(pod)).labels["changed"], undefined);
});

Deno.test("checks the definition before running", async () => {
  const broken = defineWorkflow({
    name: "broken!",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run() {},
  });
  await rejects(runWorkflow(broken, fakeEvent("manual")), WorkflowDefinitionError);
});

Deno.test("builds a plausible event of every kind, typed by kind", () => {
  for (const kind of EVENT_KINDS) {
    const event = fakeEvent(kind);
    strictEqual(event.kind, kind);
    ok(event.id !== "" && event.time !== "");
    strictEqual(event.subject === null, kind === "schedule");
  }
  const crash = fakeEvent("pod.crashLoop", { restartCount: 9 });
  assertType<IsExact<typeof crash.restartCount, number>>(true);
  strictEqual(crash.restartCount, 9);
  strictEqual(crash.pod.containerStatuses[0]?.state.waiting?.reason, "CrashLoopBackOff");
  const kinds: EventKind[] = [...EVENT_KINDS];
  strictEqual(kinds.length, 11);
});

Deno.test("makes the subject and target follow a pod given as an override", () => {
  const pod = fakePod({ namespace: "shop", name: "cart-1" });
  const manual = fakeEvent("manual", { pod });
  deepStrictEqual(manual.target, { namespace: "shop", pod: "cart-1" });
  strictEqual(manual.subject?.name, "cart-1");
  strictEqual(fakeEvent("pod.oomKilled", { pod }).subject?.namespace, "shop");
});
