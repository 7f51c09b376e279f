// The request loop, driven in-process over streams (runtime_test.ts drives a
// real child process; these cover the finer points of correlation, limits
// and shutdown).
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { Context } from "./context.ts";
import { CapabilityError, NotFoundError } from "./errors.ts";
import { defineWorkflow } from "./workflow.ts";
import { Channel } from "./_channel.ts";
import { runServer } from "./_server.ts";
import { LineWriter, sinkFromStream } from "./_writer.ts";
import { HostPeer } from "./testdata/host_peer.ts";

interface Harness {
  readonly peer: HostPeer;
  readonly done: Promise<void>;
  readonly exits: number[];
  readonly activeSeen: string[][];
}

function start(target: unknown, maxInputLineBytes?: number): Harness {
  const toGuest = new TransformStream<Uint8Array, Uint8Array>();
  const fromGuest = new TransformStream<Uint8Array, Uint8Array>();
  const exits: number[] = [];
  const activeSeen: string[][] = [];
  const done = runServer(target, {
    input: toGuest.readable,
    channel: new Channel(new LineWriter(sinkFromStream(fromGuest.writable))),
    exit: (code) => exits.push(code),
    onActiveChange: (active) => activeSeen.push([...active]),
    ...(maxInputLineBytes === undefined ? {} : { maxInputLineBytes }),
  });
  return { peer: new HostPeer(fromGuest.readable, toGuest.writable), done, exits, activeSeen };
}

const EVENT = {
  id: "evt-1",
  kind: "manual",
  time: "2024-05-01T10:00:00Z",
  subject: null,
  target: { namespace: "shop", pod: "web-1" },
};

function runParams(
  invocationId: string,
  params: Record<string, unknown> = {},
): Record<string, unknown> {
  return { invocationId, event: EVENT, params };
}

function errorName(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
}

Deno.test("correlates replies to concurrent host calls that arrive out of order", async () => {
  const workflow = defineWorkflow({
    name: "two-calls",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read", "findings.report"],
    async run(ctx) {
      const [a, b] = await Promise.all([
        ctx.k8s.podLogs({ namespace: "shop", name: "a" }),
        ctx.k8s.podLogs({ namespace: "shop", name: "b" }),
      ]);
      await ctx.report({ title: `${a}+${b}` });
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  const first = await peer.guestRequest("k8s.podLogs");
  const second = await peer.waitFor(
    (message) => message.method === "k8s.podLogs" && message.id !== first.id,
    "the second podLogs call",
  );
  const nameOf = (message: typeof first) =>
    (message.params?.["pod"] as Record<string, string>)["name"];
  await peer.send({ jsonrpc: "2.0", id: second.id, result: { text: nameOf(second) } });
  await peer.send({ jsonrpc: "2.0", id: first.id, result: { text: nameOf(first) } });
  const report = await peer.guestRequest("findings.report");
  strictEqual(report.params?.["title"], "a+b");
  await peer.send({ jsonrpc: "2.0", id: report.id, result: { id: "f-1" } });
  deepStrictEqual((await peer.response(1)).result, { ok: true });
  await peer.close();
  await done;
});

Deno.test("turns a host error reply into the matching error class", async () => {
  let caught: unknown;
  const workflow = defineWorkflow({
    name: "not-found",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read"],
    async run(ctx) {
      try {
        await ctx.k8s.getPod({ namespace: "shop", name: "gone" });
      } catch (error) {
        caught = error;
      }
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  const call = await peer.guestRequest("k8s.getPod");
  await peer.send({
    jsonrpc: "2.0",
    id: call.id,
    error: { code: -32007, message: "Pod shop/gone not found", data: { kind: "Pod" } },
  });
  await peer.response(1);
  ok(caught instanceof NotFoundError, errorName(caught));
  strictEqual(caught.message, "Pod shop/gone not found");
  strictEqual(caught.method, "k8s.getPod");
  deepStrictEqual(caught.data, { kind: "Pod" });
  await peer.close();
  await done;
});

Deno.test("fails a call whose reply is malformed, without answering the reply", async () => {
  let caught: unknown;
  const workflow = defineWorkflow({
    name: "malformed-reply",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read"],
    async run(ctx) {
      await ctx.k8s.getPod({ namespace: "shop", name: "web-1" }).catch((error) => caught = error);
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(100, "run", runParams("inv-1"));
  const call = await peer.guestRequest("k8s.getPod");
  await peer.send({ jsonrpc: "2.0", id: call.id, error: { message: "no code" } });
  await peer.response(100);
  ok(caught instanceof CapabilityError && caught.name === "HostError", errorName(caught));
  ok(caught.message.includes("malformed reply"));
  strictEqual(peer.messages.filter((message) => message.id === call.id).length, 1);
  await peer.close();
  await done;
});

Deno.test("drops a late reply after the run returned, and refuses calls made after it", async () => {
  let saved: Context | undefined;
  let pending: Promise<unknown> | undefined;
  const workflow = defineWorkflow({
    name: "leaky",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read"],
    run(ctx) {
      saved = ctx as Context;
      pending = ctx.k8s.getPod({ namespace: "shop", name: "web-1" }).catch((error) => error);
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  deepStrictEqual((await peer.response(1)).result, { ok: true });
  const call = await peer.guestRequest("k8s.getPod");

  strictEqual(errorName(await pending), "InvocationNotActiveError: Invocation inv-1 has ended");
  strictEqual(saved?.signal.aborted, true);
  await peer.send({ jsonrpc: "2.0", id: call.id, result: { name: "late" } });
  await peer.log(`Dropped a reply for request id ${call.id}`);

  const after = await saved?.k8s.listPods("shop").catch((error) => error);
  ok(
    errorName(after).startsWith("InvocationNotActiveError: Invocation inv-1 has ended"),
    errorName(after),
  );
  strictEqual(peer.messages.filter((message) => message.method === "k8s.listPods").length, 0);
  await peer.close();
  await done;
});

Deno.test("refuses a request over the message limit the host announced, without sending it", async () => {
  const workflow = defineWorkflow({
    name: "big-report",
    triggers: [{ on: "manual" }],
    capabilities: ["findings.report"],
    async run(ctx) {
      await ctx.report({ title: "big", body: "x".repeat(5000) });
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "initialize", { protocolVersion: 1, maxMessageBytes: 4096 });
  await peer.response(1);
  await peer.request(2, "run", runParams("inv-1"));
  const reply = await peer.response(2);
  strictEqual(reply.error?.data?.["name"], "LimitExceededError");
  ok(String(reply.error?.message).includes("over the host's limit of 4096"));
  strictEqual(peer.messages.some((message) => message.method === "findings.report"), false);
  await peer.close();
  await done;
});

Deno.test("refuses a second run with the id of a running invocation", async () => {
  const release = Promise.withResolvers<void>();
  const workflow = defineWorkflow({
    name: "slow",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run: () => release.promise,
  });
  const { peer, done, activeSeen } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  await peer.request(2, "run", runParams("inv-1"));
  const duplicate = await peer.response(2);
  strictEqual(duplicate.error?.code, -32602);
  strictEqual(duplicate.error?.message, "run: invocation inv-1 is already running");
  release.resolve();
  deepStrictEqual((await peer.response(1)).result, { ok: true });
  deepStrictEqual(activeSeen, [["inv-1"], []]);
  await peer.close();
  await done;
});

Deno.test("passes params through, frozen", async () => {
  let seen: unknown;
  let frozen = false;
  const workflow = defineWorkflow({
    name: "params",
    triggers: [{ on: "manual" }],
    capabilities: [],
    params: { tailLines: { type: "integer", default: 10 } },
    run(ctx) {
      seen = ctx.params;
      frozen = Object.isFrozen(ctx.params);
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "run", runParams("inv-1", { tailLines: 3 }));
  await peer.response(1);
  deepStrictEqual(seen, { tailLines: 3 });
  strictEqual(frozen, true);
  await peer.close();
  await done;
});

Deno.test("reports a thrown non-Error value with its inspection", async () => {
  const workflow = defineWorkflow({
    name: "throws-string",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run() {
      throw { reason: "odd" };
    },
  });
  const { peer, done } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  const reply = await peer.response(1);
  strictEqual(reply.error?.code, -32000);
  strictEqual(reply.error?.data?.["name"], "Error");
  ok(String(reply.error?.message).includes('reason: "odd"'), reply.error?.message);
  await peer.close();
  await done;
});

Deno.test("answers an over-long line with an error and reads on", async () => {
  const workflow = defineWorkflow({
    name: "w",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run() {},
  });
  const { peer, done } = start(workflow, 1024);
  await peer.send(
    JSON.stringify({ jsonrpc: "2.0", id: 1, method: "run", params: { pad: "x".repeat(4096) } }),
  );
  await peer.request(2, "initialize", {});
  const refused = await peer.waitFor(
    (message) => message.id === null,
    "the over-long line's error",
  );
  strictEqual(refused.error?.code, -32600);
  ok(String(refused.error?.message).includes("the limit is 1024"));
  strictEqual((await peer.response(2)).error, undefined);
  await peer.close();
  await done;
});

Deno.test("on end of input rejects pending calls, aborts running invocations and exits 0", async () => {
  let caught: unknown;
  let reason: unknown;
  const workflow = defineWorkflow({
    name: "hangs",
    triggers: [{ on: "manual" }],
    capabilities: ["k8s.read"],
    async run(ctx) {
      ctx.signal.addEventListener("abort", () => reason = ctx.signal.reason);
      await ctx.k8s.getPod({ namespace: "shop", name: "web-1" }).catch((error) => caught = error);
    },
  });
  const { peer, done, exits } = start(workflow);
  await peer.request(1, "run", runParams("inv-1"));
  await peer.guestRequest("k8s.getPod");
  await peer.close();
  await done;
  deepStrictEqual(exits, [0]);
  strictEqual(errorName(caught), "HostError: The host closed the connection");
  strictEqual(
    errorName(reason),
    "CancelledError: Invocation inv-1 was cancelled: the host closed the connection",
  );
});

Deno.test("answers initialize and run with the definition's problems when it is invalid", async () => {
  const { peer, done } = start({ default: "nope" });
  await peer.request(1, "initialize", { protocolVersion: 1 });
  const reply = await peer.response(1);
  strictEqual(reply.error?.code, -32000);
  strictEqual(reply.error?.data?.["name"], "WorkflowDefinitionError");
  strictEqual(
    reply.error?.message,
    "Invalid workflow definition: The default export is a plain object, not the result of defineWorkflow(): " +
      "write `export default defineWorkflow({ name, triggers, capabilities, run })`",
  );
  await peer.close();
  await done;
});
