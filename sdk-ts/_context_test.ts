import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import type { Capability } from "./capability.ts";
import {
  CapabilityDeniedError,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
} from "./errors.ts";
import type { LogLevel } from "./protocol.ts";
import { fakePod } from "./testing.ts";
import { createContext } from "./_context.ts";

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
