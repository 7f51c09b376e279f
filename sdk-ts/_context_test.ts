import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import type { Capability } from "./capability.ts";
import {
  CapabilityDeniedError,
  errorFromRpc,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
} from "./errors.ts";
import type { KubeList } from "./k8s.ts";
import type { KubeObject, V1Deployment, V1Job, V1Node } from "./k8s_types.ts";
import type { LogLevel } from "./protocol.ts";
import { fakeEvent, fakePod } from "./testing.ts";
import { createContext } from "./_context.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

interface Sent {
  method: string;
  params: unknown;
}

function setup(answer: (method: string) => unknown, declared?: readonly Capability[]) {
  const sent: Sent[] = [];
  const logs: [LogLevel, string][] = [];
  const controller = new AbortController();
  let active = true;
  const ctx = createContext({
    invocationId: "inv-1",
    params: { a: 1 },
    signal: controller.signal,
    declared,
    call: (method, params, signal) => {
      sent.push({ method, params });
      return new Promise((resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        const result = answer(method);
        if (result !== "hang") resolve(result);
      });
    },
    log: (level, message) => logs.push([level, message]),
    isActive: () => active,
  });
  return { ctx, sent, logs, controller, end: () => active = false };
}

Deno.test("sends pods by namespace and name only, with the container of the reference", async () => {
  const { ctx, sent } = setup((method) =>
    method === "k8s.podLogs" ? { text: "log" } : { items: [] }
  );
  const pod = fakePod({ namespace: "shop", name: "web-1" });
  strictEqual(
    await ctx.k8s.podLogs({ ...pod, container: "sidecar" }, { previous: true, tailLines: 5 }),
    "log",
  );
  await ctx.k8s.podLogs({ namespace: "shop", name: "web-1", container: "a" }, { container: "b" });
  deepStrictEqual(await ctx.k8s.listPods("shop", { labelSelector: "app=web" }), []);
  deepStrictEqual(await ctx.k8s.events(pod), []);
  await ctx.k8s.events({ namespace: "shop", name: "web", kind: "Deployment" });
  deepStrictEqual(sent, [
    {
      method: "k8s.podLogs",
      params: {
        pod: { namespace: "shop", name: "web-1" },
        container: "sidecar",
        previous: true,
        tailLines: 5,
      },
    },
    {
      method: "k8s.podLogs",
      params: { pod: { namespace: "shop", name: "web-1" }, container: "b" },
    },
    { method: "k8s.listPods", params: { namespace: "shop", labelSelector: "app=web" } },
    { method: "k8s.events", params: { subject: { namespace: "shop", name: "web-1" } } },
    {
      method: "k8s.events",
      params: { subject: { namespace: "shop", name: "web", kind: "Deployment" } },
    },
  ]);
});

Deno.test("sends debug targets with only the options each action takes", async () => {
  const { ctx, sent } = setup(() => ({ pid: 7 }));
  const target = { namespace: "shop", name: "web-1", container: "app" };
  const options = {
    pid: 7,
    duration: 5,
    rate: 50,
    signal: new AbortController().signal,
    bogus: true,
  };
  deepStrictEqual(await ctx.debug.pythonProfile(target, options), { pid: 7 });
  await ctx.debug.processList({ namespace: "shop", name: "web-1" });
  await ctx.debug.pythonStackTrace(target, { pid: 7, count: 2, locals: true });
  await ctx.debug.pythonMemory(target, { duration: 3, pid: 9 });
  await ctx.debug.pythonInspect(target, { pid: 7 });
  await ctx.debug.pythonDebugger(target, { pid: 7, port: 5678 });
  deepStrictEqual(sent, [
    { method: "debug.pythonProfile", params: { target, pid: 7, duration: 5, rate: 50 } },
    { method: "debug.processList", params: { target: { namespace: "shop", name: "web-1" } } },
    { method: "debug.pythonStackTrace", params: { target, pid: 7, count: 2, locals: true } },
    { method: "debug.pythonMemory", params: { target, duration: 3, pid: 9 } },
    { method: "debug.pythonInspect", params: { target, pid: 7 } },
    { method: "debug.pythonDebugger", params: { target, pid: 7, port: 5678 } },
  ]);
});

Deno.test("sends findings in wire form: cells as strings, artifacts by id, subjects trimmed", async () => {
  const { ctx, sent } = setup(() => ({ id: "f-1" }));
  const result = await ctx.report({
    title: "t",
    severity: "critical",
    body: "**b**",
    subject: fakePod({ namespace: "shop", name: "web-1" }),
    tables: [{
      title: "top",
      columns: ["f", "share", "ok", "none"],
      rows: [["main", 0.41, true, null]],
    }],
    attachments: [
      { artifactId: "art-1", name: "p.svg", mediaType: "image/svg+xml", size: 9 } as {
        artifactId: string;
      },
      { name: "notes.txt", text: "hi" },
      { name: "notes.md", mediaType: "text/markdown", text: "# hi" },
    ],
  });
  deepStrictEqual(result, { id: "f-1" });
  deepStrictEqual(sent[0]?.params, {
    title: "t",
    severity: "critical",
    body: "**b**",
    subject: { namespace: "shop", name: "web-1" },
    tables: [{
      title: "top",
      columns: ["f", "share", "ok", "none"],
      rows: [["main", "0.41", "true", ""]],
    }],
    attachments: [
      { artifactId: "art-1" },
      { name: "notes.txt", mediaType: "text/plain", text: "hi" },
      { name: "notes.md", mediaType: "text/markdown", text: "# hi" },
    ],
  });
});

Deno.test("refuses malformed arguments locally, naming what is wrong", async () => {
  const { ctx, sent } = setup(() => ({}));
  const cases: [() => Promise<unknown>, string][] = [
    [() => ctx.report({ title: "" }), 'findings.report: title must be a non-empty string, got ""'],
    [
      () => ctx.report({ title: "t", severity: "urgent" as never }),
      'findings.report: severity must be one of info, low, medium, high, critical, got "urgent"',
    ],
    [
      () => ctx.report({ title: "t", tables: [{ columns: ["a"], rows: [["1", "2"]] }] }),
      "findings.report: tables[0].rows[0] has 2 cells for 1 columns",
    ],
    [
      () => ctx.report({ title: "t", attachments: [{ name: "x" } as never] }),
      "findings.report: attachments[0] must be an artifact reference { artifactId } or inline text { name, text }",
    ],
    [
      () => ctx.k8s.podLogs(undefined as never),
      "k8s.podLogs: pod must be an object with a non-empty namespace and name, got undefined",
    ],
    [() => ctx.k8s.listPods(""), 'k8s.listPods: namespace must be a non-empty string, got ""'],
    [
      () => ctx.debug.processList({ namespace: "a", name: "b", container: "" }),
      "debug.processList: target.container must be a non-empty string",
    ],
  ];
  for (const [call, message] of cases) {
    await rejects(call(), (error: unknown) => {
      ok(error instanceof InvalidParamsError, String(error));
      strictEqual(error.message, message);
      return true;
    });
  }
  deepStrictEqual(sent, []);
});

Deno.test("refuses calls needing an undeclared capability, and every call once the run ended", async () => {
  const { ctx, sent, end } = setup(() => ({}), ["findings.report"]);
  await rejects(ctx.k8s.getPod({ namespace: "a", name: "b" }), (error: unknown) => {
    ok(error instanceof CapabilityDeniedError);
    strictEqual(
      error.message,
      'k8s.getPod needs the "k8s.read" capability, which this workflow does not declare',
    );
    return true;
  });
  end();
  await rejects(ctx.report({ title: "late" }), InvocationNotActiveError);
  deepStrictEqual(sent, []);
});

Deno.test("rejects pending calls when the invocation's signal or the call's own signal aborts", async () => {
  const { ctx, controller } = setup(() => "hang");
  const own = new AbortController();
  const mine = ctx.k8s.getPod({ namespace: "a", name: "b" }, { signal: own.signal });
  own.abort(new Error("my timeout"));
  await rejects(mine, /my timeout/);
  const theirs = ctx.k8s.getPod({ namespace: "a", name: "b" });
  controller.abort(new Error("cancelled"));
  await rejects(theirs, /cancelled/);
  await rejects(ctx.k8s.getPod({ namespace: "a", name: "b" }), /cancelled/);
});

Deno.test("refuses results of the wrong shape with a HostError", async () => {
  const { ctx } = setup(() => ({ unexpected: true }));
  await rejects(ctx.k8s.podLogs({ namespace: "a", name: "b" }), HostError);
  await rejects(ctx.k8s.listPods("a"), HostError);
  await rejects(ctx.report({ title: "t" }), HostError);
  const { ctx: nullish } = setup(() => null);
  await rejects(nullish.k8s.getPod({ namespace: "a", name: "b" }), HostError);
  await rejects(nullish.debug.pythonInspect({ namespace: "a", name: "b" }, { pid: 1 }), HostError);
});

Deno.test("formats log arguments and marks messages logged after the run ended", () => {
  const { ctx, logs, end } = setup(() => ({}));
  ctx.log.debug("d %d", 1);
  ctx.log.info("i", { x: 1 });
  ctx.log.warn("w");
  ctx.log.error("e");
  end();
  ctx.log.info("late");
  deepStrictEqual(logs, [
    ["debug", "d 1"],
    ["info", "i { x: 1 }"],
    ["warn", "w"],
    ["error", "e"],
    ["info", "(after invocation inv-1 ended) late"],
  ]);
  ok(
    Object.isFrozen(ctx) && Object.isFrozen(ctx.k8s) && Object.isFrozen(ctx.debug) &&
      Object.isFrozen(ctx.log),
  );
});

Deno.test("k8s.get sends the object's reference and returns the object, typed by its kind", async () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { namespace: "shop", name: "web" },
    spec: { replicas: 3, selector: {}, template: {} },
  };
  const { ctx, sent } = setup(() => deployment);
  const got = await ctx.k8s.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "shop",
    name: "web",
  });
  assertType<IsExact<typeof got, V1Deployment>>(true);
  deepStrictEqual(got, deployment);
  strictEqual(got.spec.replicas, 3);
  const widget = await ctx.k8s.get({ apiVersion: "example.com/v1", kind: "Widget", name: "w" });
  assertType<IsExact<typeof widget, KubeObject>>(true);
  deepStrictEqual(sent, [
    {
      method: "k8s.get",
      params: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
    },
    { method: "k8s.get", params: { apiVersion: "example.com/v1", kind: "Widget", name: "w" } },
  ]);
});

Deno.test("k8s.list sends the kind, namespace, selectors and limit, and returns items and truncated", async () => {
  const job = { apiVersion: "batch/v1", kind: "Job", metadata: { namespace: "shop", name: "a" } };
  const { ctx, sent } = setup(() => ({ items: [job], truncated: true }));
  const signal = new AbortController().signal;
  const list = await ctx.k8s.list({
    apiVersion: "batch/v1",
    kind: "Job",
    namespace: "shop",
    labelSelector: "team=payments",
    fieldSelector: "status.successful=0",
    limit: 20,
    signal,
  });
  assertType<IsExact<typeof list, KubeList<V1Job>>>(true);
  deepStrictEqual(list, { items: [job], truncated: true });
  const { ctx: all } = setup(() => ({ items: [] }));
  deepStrictEqual(await all.k8s.list({ apiVersion: "v1", kind: "Node" }), {
    items: [],
    truncated: false,
  });
  deepStrictEqual(sent, [{
    method: "k8s.list",
    params: {
      apiVersion: "batch/v1",
      kind: "Job",
      namespace: "shop",
      labelSelector: "team=payments",
      fieldSelector: "status.successful=0",
      limit: 20,
    },
  }]);
});

Deno.test("k8s.owners takes a whole object or a reference, and sends only its reference", async () => {
  const replicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { namespace: "shop", name: "web-5d8f7c9b4" },
  };
  const { ctx, sent } = setup(() => ({ items: [replicaSet] }));
  const event = fakeEvent("pod.crashLoop", { pod: fakePod({ namespace: "shop", name: "web-1" }) });
  const owners = await ctx.k8s.owners(event.object);
  assertType<IsExact<typeof owners, KubeObject[]>>(true);
  deepStrictEqual(owners, [replicaSet]);
  await ctx.k8s.owners({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { namespace: "shop", name: "j" },
  });
  deepStrictEqual(sent, [
    {
      method: "k8s.owners",
      params: { object: { apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web-1" } },
    },
    {
      method: "k8s.owners",
      params: { object: { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "j" } },
    },
  ]);
});

Deno.test("k8s.node reads a node by name with k8s.get", async () => {
  const node = { apiVersion: "v1", kind: "Node", metadata: { name: "node-a" } };
  const { ctx, sent } = setup(() => node);
  const got = await ctx.k8s.node("node-a");
  assertType<IsExact<typeof got, V1Node>>(true);
  deepStrictEqual(got, node);
  deepStrictEqual(sent, [
    { method: "k8s.get", params: { apiVersion: "v1", kind: "Node", name: "node-a" } },
  ]);
});

Deno.test("refuses a malformed object reference or query before any call", async () => {
  const { ctx, sent } = setup(() => ({}));
  const shape =
    "must have apiVersion, kind and name (and a namespace for namespaced kinds), got an object";
  const cases: [() => Promise<unknown>, string][] = [
    [
      () => ctx.k8s.get({ kind: "Deployment", namespace: "shop", name: "web" } as never),
      `k8s.get: ref ${shape}`,
    ],
    [
      () => ctx.k8s.get({ apiVersion: "apps/v1", namespace: "shop", name: "web" } as never),
      `k8s.get: ref ${shape}`,
    ],
    [
      () => ctx.k8s.get({ apiVersion: "apps/v1", kind: "Deployment", name: "" }),
      `k8s.get: ref ${shape}`,
    ],
    [
      () => ctx.k8s.get({ apiVersion: "v1", kind: "Pod", namespace: "", name: "web-1" }),
      `k8s.get: ref ${shape}`,
    ],
    [
      () => ctx.k8s.get(undefined as never),
      "k8s.get: ref must have apiVersion, kind and name (and a namespace for namespaced kinds), got undefined",
    ],
    [
      () => ctx.k8s.owners({ apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop" } }),
      `k8s.owners: object ${shape}`,
    ],
    [() => ctx.k8s.owners({ metadata: { name: "web-1" } }), `k8s.owners: object ${shape}`],
    [
      () => ctx.k8s.list({ apiVersion: "apps/v1" } as never),
      "k8s.list: the query must have apiVersion and kind, got an object",
    ],
    [() => ctx.k8s.node(""), 'k8s.get: a node name must be a non-empty string, got ""'],
  ];
  for (const [call, message] of cases) {
    await rejects(call(), (error: unknown) => {
      ok(error instanceof InvalidParamsError, String(error));
      strictEqual(error.message, message);
      return true;
    });
  }
  deepStrictEqual(sent, []);
});

Deno.test("surfaces the host's refusal of a kind as a CapabilityDeniedError", async () => {
  const refusal = {
    code: -32001,
    message: "k8s.get: w does not declare reads of apps/v1/Deployment; add 'apps/v1/Deployment' " +
      "to its manifest's reads",
    data: { capability: "k8s.read", kind: "apps/v1/Deployment", reason: "not_declared" },
  };
  const sent: string[] = [];
  const ctx = createContext({
    invocationId: "inv-1",
    params: {},
    signal: new AbortController().signal,
    declared: ["k8s.read"],
    call: (method) => {
      sent.push(method);
      return Promise.reject(errorFromRpc(method, refusal));
    },
    log: () => {},
    isActive: () => true,
  });
  const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" };
  const object = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { namespace: "shop", name: "web" },
  };
  for (
    const call of [() => ctx.k8s.get(ref), () => ctx.k8s.owners(object), () => ctx.k8s.list(ref)]
  ) {
    await rejects(call(), (error: unknown) => {
      ok(error instanceof CapabilityDeniedError, String(error));
      strictEqual(error.message, refusal.message);
      deepStrictEqual(error.data, refusal.data);
      return true;
    });
  }
  deepStrictEqual(sent, ["k8s.get", "k8s.owners", "k8s.list"]);
  const { ctx: undeclared, sent: none } = setup(() => ({}), ["findings.report"]);
  await rejects(undeclared.k8s.node("node-a"), (error: unknown) => {
    ok(error instanceof CapabilityDeniedError);
    strictEqual(
      error.message,
      'k8s.get needs the "k8s.read" capability, which this workflow does not declare',
    );
    return true;
  });
  deepStrictEqual(none, []);
});

Deno.test("refuses object results of the wrong shape with a HostError", async () => {
  const { ctx } = setup(() => ({ unexpected: true }));
  await rejects(ctx.k8s.list({ apiVersion: "v1", kind: "Node" }), HostError);
  await rejects(
    ctx.k8s.owners({ apiVersion: "v1", kind: "Node", metadata: { name: "n" } }),
    HostError,
  );
  const { ctx: nullish } = setup(() => null);
  await rejects(nullish.k8s.get({ apiVersion: "v1", kind: "Node", name: "n" }), HostError);
  await rejects(nullish.k8s.node("n"), HostError);
});
