import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  CancelledError,
  CapabilityDeniedError,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
  NotFoundError,
  UpstreamError,
  WorkflowDefinitionError,
} from "./errors.ts";
import { EVENT_KINDS, type EventKind, type EventOf } from "./event.ts";
import {
  createTestContext,
  fakeDeployment,
  fakeEvent,
  fakeJob,
  fakeNode,
  fakePod,
  fakePodObject,
  fakeReplicaSet,
  runWorkflow,
  type TestObject,
} from "./testing.ts";
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
  strictEqual(kinds.length, 21);
});

Deno.test("makes the subject and target follow a pod given as an override", () => {
  const pod = fakePod({ namespace: "shop", name: "cart-1" });
  const manual = fakeEvent("manual", { pod });
  deepStrictEqual(manual.target, { namespace: "shop", pod: "cart-1" });
  strictEqual(manual.subject?.name, "cart-1");
  strictEqual(fakeEvent("pod.oomKilled", { pod }).subject?.namespace, "shop");
});

const POD_KINDS = [
  "pod.create",
  "pod.update",
  "pod.delete",
  "pod.crashLoop",
  "pod.oomKilled",
  "pod.imagePullBackOff",
  "pod.evicted",
  "pod.pending",
  "pod.containerConfigError",
  "pod.probeFailing",
] as const;

Deno.test("gives every pod event the whole pod object, consistent with its flattened pod", () => {
  deepStrictEqual(
    EVENT_KINDS.filter((kind) => kind.startsWith("pod.")),
    [...POD_KINDS],
  );
  for (const kind of POD_KINDS) {
    const pod = fakePod({
      namespace: "shop",
      name: "web-9",
      labels: { app: "web", tier: "front" },
    });
    const event: EventOf<typeof kind> = fakeEvent(kind, { pod });
    // pod.probeFailing's type leaves resource out (the host knows the pod only when it saw it).
    strictEqual((event as { resource?: string }).resource, "v1/Pod", kind);
    const object = event.object;
    ok(object !== undefined, kind);
    strictEqual(object.apiVersion, "v1");
    strictEqual(object.kind, "Pod");
    deepStrictEqual(
      [object.metadata?.namespace, object.metadata?.name, object.metadata?.uid],
      [pod.namespace, pod.name, pod.uid],
      kind,
    );
    deepStrictEqual(object.metadata?.labels, pod.labels, kind);
    deepStrictEqual(object.spec?.containers.map((c) => [c.name, c.image]), [[
      "app",
      pod.containers[0]?.image,
    ]]);
  }
  for (const kind of POD_KINDS) {
    const event: EventOf<typeof kind> = fakeEvent(kind);
    const object = event.object;
    ok(object !== undefined && event.pod !== undefined, kind);
    strictEqual(object.status?.phase, event.pod.phase, kind);
    strictEqual(object.spec?.nodeName, event.pod.node ?? undefined, kind);
    deepStrictEqual(
      (object.status?.containerStatuses ?? []).map((s) => [s.name, s.ready, s.restartCount]),
      event.pod.containerStatuses.map((s) => [s.name, s.ready, s.restartCount]),
      kind,
    );
  }
});

Deno.test("builds the payload of each new kind as the host sends it", () => {
  const update = fakeEvent("pod.update");
  strictEqual(update.oldObject.status?.phase, "Pending");
  strictEqual(update.object.status?.phase, "Running");

  const pending = fakeEvent("pod.pending");
  strictEqual(pending.pod.node, null);
  strictEqual(pending.reason, "Unschedulable");
  ok(pending.message?.startsWith("0/3 nodes are available: 3 Insufficient cpu."));
  const scheduled = pending.object.status?.conditions?.find((c) => c.type === "PodScheduled");
  deepStrictEqual([scheduled?.status, scheduled?.reason, scheduled?.message], [
    "False",
    "Unschedulable",
    pending.message,
  ]);

  const config = fakeEvent("pod.containerConfigError");
  deepStrictEqual([config.container, config.reason, config.message], [
    "app",
    "CreateContainerConfigError",
    'configmap "web-config" not found',
  ]);
  deepStrictEqual(config.object.status?.containerStatuses?.[0]?.state?.waiting, {
    reason: "CreateContainerConfigError",
    message: 'configmap "web-config" not found',
  });

  const probe = fakeEvent("pod.probeFailing");
  deepStrictEqual([probe.k8sEvent.reason, probe.reason, probe.probe, probe.container], [
    "Unhealthy",
    "Unhealthy",
    "liveness",
    "app",
  ]);
  ok(probe.message.startsWith("Liveness probe failed"));
  strictEqual(probe.k8sEvent.message, probe.message);

  const warning = fakeEvent("k8s.warningEvent");
  strictEqual(warning.resource, "v1/Event");
  deepStrictEqual(
    [warning.object.reason, warning.object.message, warning.object.involvedObject.name],
    [warning.k8sEvent.reason, warning.k8sEvent.message, "web-1"],
  );

  const job = fakeEvent("job.failed");
  deepStrictEqual([job.resource, job.subject?.kind, job.reason], [
    "batch/v1/Job",
    "Job",
    "BackoffLimitExceeded",
  ]);
  strictEqual(job.object.status?.conditions?.find((c) => c.type === "Failed")?.status, "True");

  for (const kind of ["node.notReady", "node.pressure"] as const) {
    const node = fakeEvent(kind);
    strictEqual(node.resource, "v1/Node");
    strictEqual(node.subject?.kind, "Node");
    strictEqual(node.subject !== null && "namespace" in node.subject, false, kind);
  }
  const notReady = fakeEvent("node.notReady").object.status?.conditions;
  strictEqual(notReady?.find((c) => c.type === "Ready")?.status, "Unknown");
  const pressure = fakeEvent("node.pressure");
  strictEqual(pressure.reason, "MemoryPressure");
  strictEqual(
    pressure.object.status?.conditions?.find((c) => c.type === pressure.reason)?.status,
    "True",
  );

  const stuck = fakeEvent("deployment.rolloutStuck");
  strictEqual(stuck.reason, "ProgressDeadlineExceeded");
  const progressing = stuck.object.status?.conditions?.find((c) => c.type === "Progressing");
  deepStrictEqual([progressing?.status, progressing?.reason, progressing?.message], [
    "False",
    "ProgressDeadlineExceeded",
    stuck.message,
  ]);

  for (const kind of ["k8s.create", "k8s.update", "k8s.delete"] as const) {
    const change = fakeEvent(kind);
    strictEqual(change.resource, "apps/v1/Deployment");
    deepStrictEqual(change.subject, {
      kind: "Deployment",
      namespace: "default",
      name: "web",
      uid: change.object.metadata.uid,
    });
  }
});

function at(object: unknown, path: string): unknown {
  // Dotted paths whose last segments may be a dotted key (annotations).
  let value = object;
  const parts = path.split(".");
  for (let i = 0; i < parts.length; i++) {
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    const rest = parts.slice(i).join(".");
    if (rest in record) return record[rest];
    value = record[parts[i] ?? ""];
  }
  return value;
}

Deno.test("gives k8s.update an old object that differs exactly where changes says", () => {
  const cases = [
    fakeEvent("k8s.update"),
    fakeEvent("k8s.update", { object: fakeNode() }),
    fakeEvent("k8s.update", { object: fakeJob() }),
  ];
  deepStrictEqual(cases.map((event) => event.changes), [
    ["metadata.generation", "spec.replicas"],
    ["metadata.annotations.example.com/note"],
    ["metadata.generation"],
  ]);
  for (const event of cases) {
    for (const path of event.changes) {
      ok(
        JSON.stringify(at(event.object, path)) !== JSON.stringify(at(event.oldObject, path)),
        path,
      );
    }
  }
  const node = cases[1];
  deepStrictEqual(node?.subject, {
    kind: "Node",
    name: "node-1",
    uid: "00000000-0000-4000-8000-000000000006",
  });
  strictEqual(node?.resource, "v1/Node");
});

Deno.test("turns a flattened pod into the object the API server would send", () => {
  const pod = fakePod({
    node: null,
    phase: "Pending",
    annotations: { note: "x" },
    containerStatuses: [{
      name: "app",
      ready: false,
      restartCount: 1,
      image: "example/web:1.0",
      state: { waiting: { reason: "CrashLoopBackOff", message: null } },
      lastState: {
        terminated: {
          exitCode: 137,
          reason: "OOMKilled",
          signal: 9,
          startedAt: null,
          finishedAt: "2024-05-01T09:59:00Z",
        },
      },
    }],
  });
  const object = fakePodObject(pod);
  strictEqual(object.spec?.nodeName, undefined);
  strictEqual("nodeName" in (object.spec ?? {}), false);
  deepStrictEqual(object.metadata?.annotations, { note: "x" });
  const status = object.status?.containerStatuses?.[0];
  deepStrictEqual(status?.state, { waiting: { reason: "CrashLoopBackOff" } });
  deepStrictEqual(status?.lastState?.terminated?.exitCode, 137);
  strictEqual(status?.lastState?.terminated?.signal, 9);
  strictEqual("startedAt" in (status?.lastState?.terminated ?? {}), false);
  deepStrictEqual(object.metadata?.ownerReferences, [{
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web-5d8f7c9b4",
    uid: fakeReplicaSet().metadata?.uid,
    controller: true,
    blockOwnerDeletion: true,
  }]);
  deepStrictEqual(fakePodObject(), fakeEvent("pod.create").object);
});

Deno.test("merges metadata overrides and replaces other fields", () => {
  const deployment = fakeDeployment({
    metadata: { namespace: "shop" },
    status: { replicas: 1 },
  });
  deepStrictEqual(
    [deployment.metadata?.name, deployment.metadata?.namespace, deployment.metadata?.uid],
    ["web", "shop", fakeDeployment().metadata?.uid],
  );
  deepStrictEqual(deployment.status, { replicas: 1 });
  strictEqual(fakeNode().metadata?.namespace, undefined);
  strictEqual(fakeReplicaSet().metadata?.ownerReferences?.[0]?.uid, fakeDeployment().metadata?.uid);
});

const cluster: TestObject[] = [
  fakePodObject(),
  fakeReplicaSet(),
  fakeDeployment(),
  fakeDeployment({ metadata: { name: "api", uid: "u-api", labels: { app: "api", tier: "back" } } }),
  fakeDeployment({
    metadata: { namespace: "shop", name: "cart", uid: "u-cart", labels: { app: "cart" } },
    status: { replicas: 1, availableReplicas: 0 },
  }),
  fakeNode(),
  fakeNode({ metadata: { name: "node-2", uid: "u-node-2" } }),
  fakeJob(),
  {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { namespace: "shop", name: "w" },
    spec: {},
  },
];

Deno.test("answers get and node from the test's objects", async () => {
  const test = createTestContext({ objects: cluster });
  const { k8s } = test.ctx;
  const deployment = await k8s.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "shop",
    name: "cart",
  });
  strictEqual(deployment.status?.availableReplicas, 0);
  strictEqual((await k8s.node("node-2")).metadata?.uid, "u-node-2");
  // A cluster-scoped object is found whatever namespace is given, as by the host.
  strictEqual(
    (await k8s.get({ apiVersion: "v1", kind: "Node", namespace: "x", name: "node-1" })).kind,
    "Node",
  );
  const widget = await k8s.get({
    apiVersion: "example.com/v1",
    kind: "Widget",
    namespace: "shop",
    name: "w",
  });
  deepStrictEqual(widget["spec"], {});
  await rejects(k8s.node("node-3"), (error: unknown) => {
    ok(error instanceof NotFoundError);
    strictEqual(
      error.message,
      "v1/Node node-3 not found (it is not among the test context's objects)",
    );
    return true;
  });
  await rejects(
    k8s.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "other", name: "web" }),
    NotFoundError,
  );
  await rejects(
    k8s.get({ apiVersion: "apps/v1", kind: "Deployment", name: "web" }),
    (error: unknown) => {
      ok(error instanceof InvalidParamsError);
      strictEqual(error.message, "k8s.get: apps/v1/Deployment is namespaced: give a namespace");
      return true;
    },
  );
  // Results are copies.
  (deployment.metadata?.labels as Record<string, string>)["changed"] = "yes";
  const again = await k8s.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "shop",
    name: "cart",
  });
  strictEqual(again.metadata?.labels?.["changed"], undefined);
  deepStrictEqual(test.calls[1], {
    method: "k8s.get",
    params: { apiVersion: "v1", kind: "Node", name: "node-2" },
  });
});

Deno.test("lists the test's objects by kind, namespace and selectors, sorted, up to the limit", async () => {
  const { k8s } = createTestContext({ objects: cluster }).ctx;
  const names = async (query: Parameters<typeof k8s.list>[0]) => {
    const list = await k8s.list(query);
    return [list.items.map((item) => item.metadata?.name), list.truncated];
  };
  const deployments = { apiVersion: "apps/v1", kind: "Deployment" } as const;
  deepStrictEqual(await names(deployments), [["api", "web", "cart"], false]);
  deepStrictEqual(await names({ ...deployments, namespace: "default" }), [["api", "web"], false]);
  deepStrictEqual(await names({ ...deployments, limit: 2 }), [["api", "web"], true]);
  deepStrictEqual(await names({ ...deployments, limit: 3 }), [["api", "web", "cart"], false]);
  const selected: [string, string[]][] = [
    ["app=web", ["web"]],
    ["app==web", ["web"]],
    ["app!=web", ["api", "cart"]],
    ["app in (web, cart)", ["web", "cart"]],
    ["app notin (web,cart)", ["api"]],
    ["tier", ["api"]],
    ["!tier", ["web", "cart"]],
    ["app in (api,web),tier=back", ["api"]],
    ["tier!=back", ["web", "cart"]],
  ];
  for (const [labelSelector, expected] of selected) {
    deepStrictEqual(
      await names({ ...deployments, labelSelector }),
      [expected, false],
      labelSelector,
    );
  }
  deepStrictEqual(
    await names({ ...deployments, fieldSelector: "metadata.namespace=shop" }),
    [["cart"], false],
  );
  deepStrictEqual(
    await names({
      ...deployments,
      fieldSelector: "status.availableReplicas!=0,metadata.name!=api",
    }),
    [["web"], false],
  );
  deepStrictEqual(await names({ apiVersion: "v1", kind: "Node" }), [["node-1", "node-2"], false]);
  const list = await k8s.list({ apiVersion: "batch/v1", kind: "Job" });
  deepStrictEqual(list.items.map((job) => [job.apiVersion, job.kind]), [["batch/v1", "Job"]]);
  await rejects(k8s.list({ ...deployments, labelSelector: "app in web" }), (error: unknown) => {
    ok(error instanceof UpstreamError);
    strictEqual(error.message, 'Kubernetes API: unable to parse labelSelector "app in web"');
    return true;
  });
});

Deno.test("walks owners among the test's objects: nearest first, up to a missing or replaced one", async () => {
  const { k8s } = createTestContext({ objects: cluster }).ctx;
  const event = fakeEvent("pod.crashLoop");
  const owners = await k8s.owners(event.object);
  deepStrictEqual(owners.map((owner) => `${owner.kind}/${owner.metadata.name}`), [
    "ReplicaSet/web-5d8f7c9b4",
    "Deployment/web",
  ]);
  deepStrictEqual(await k8s.owners(fakeDeployment()), []);
  // The Job's CronJob is not among the objects: the walk ends there.
  deepStrictEqual(await k8s.owners(fakeJob()), []);
  const replaced = createTestContext({
    objects: [
      fakePodObject(),
      fakeReplicaSet(),
      fakeDeployment({ metadata: { uid: "a-new-deployment" } }),
    ],
  });
  deepStrictEqual(
    (await replaced.ctx.k8s.owners(event.object)).map((owner) => owner.kind),
    ["ReplicaSet"],
  );
  await rejects(
    createTestContext({ objects: [fakeReplicaSet()] }).ctx.k8s.owners(event.object),
    NotFoundError,
  );
});

Deno.test("answers from responses before objects, and says what to pass when neither answers", async () => {
  const canned = fakeDeployment({ metadata: { name: "canned" } });
  const test = createTestContext({ objects: cluster, responses: { "k8s.get": canned } });
  strictEqual(
    (await test.ctx.k8s.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "default",
      name: "web",
    }))
      .metadata?.name,
    "canned",
  );
  const empty = createTestContext();
  await rejects(empty.ctx.k8s.node("node-1"), (error: unknown) => {
    ok(error instanceof HostError);
    strictEqual(
      error.message,
      'No test response for k8s.get: pass responses["k8s.get"] or objects to createTestContext',
    );
    return true;
  });
  // With objects given, even none, the fake host answers from them.
  await rejects(createTestContext({ objects: [] }).ctx.k8s.owners(fakeNode()), NotFoundError);
});

Deno.test("refuses, like the host, Secrets and the kinds a workflow does not declare in reads", async () => {
  const reader = defineWorkflow({
    name: "reader",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read"],
    reads: ["apps/v1/ReplicaSet"],
    run() {},
  });
  const test = createTestContext({
    workflow: reader,
    objects: cluster,
    responses: { "k8s.list": { items: [], truncated: false } },
  });
  const { k8s } = test.ctx;
  strictEqual(
    (await k8s.get({ apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-1" })).kind,
    "Pod",
  );
  const refusals: [() => Promise<unknown>, string][] = [
    [
      () => k8s.node("node-1"),
      "k8s.get: reader does not declare reads of v1/Node; add 'v1/Node' to its manifest's reads",
    ],
    [
      () => k8s.list({ apiVersion: "apps/v1", kind: "Deployment" }),
      "k8s.list: reader does not declare reads of apps/v1/Deployment; add 'apps/v1/Deployment' to its manifest's reads",
    ],
    [
      // The ReplicaSet is declared, its Deployment is not: refused at that hop.
      () => k8s.owners(fakePodObject()),
      "k8s.owners: reader does not declare reads of apps/v1/Deployment; add 'apps/v1/Deployment' to its manifest's reads",
    ],
    [
      () => k8s.get({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "db" }),
      "k8s.get: Secrets are never readable by workflows",
    ],
  ];
  for (const [call, message] of refusals) {
    await rejects(call(), (error: unknown) => {
      ok(error instanceof CapabilityDeniedError, String(error));
      strictEqual(error.message, message);
      return true;
    });
  }
  const anyone = createTestContext({ responses: { "k8s.get": new NotFoundError("unused") } });
  await rejects(
    anyone.ctx.k8s.get({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "db" }),
    CapabilityDeniedError,
  );
});

Deno.test("runs a workflow that reads owners from the test's objects", async () => {
  const workflow = defineWorkflow({
    name: "owner-report",
    triggers: [{ on: "pod.crashLoop" }],
    capabilities: ["k8s.read", "findings.report"],
    reads: ["apps/v1/ReplicaSet", "apps/v1/Deployment"],
    async run(ctx, event) {
      if (event.kind !== "pod.crashLoop") return;
      const owners = await ctx.k8s.owners(event.object);
      const top = owners.at(-1);
      await ctx.report({
        title: `${event.pod.name} belongs to ${top?.kind} ${top?.metadata.name}`,
      });
    },
  });
  const run = await runWorkflow(workflow, fakeEvent("pod.crashLoop"), {
    objects: [fakePodObject(), fakeReplicaSet(), fakeDeployment()],
  });
  strictEqual(run.findings[0]?.title, "web-1 belongs to Deployment web");
  deepStrictEqual(run.calls[0], {
    method: "k8s.owners",
    params: { object: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-1" } },
  });
});
