import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { HostError, InvalidParamsError, LimitExceededError, NotFoundError } from "./errors.ts";
import { Channel } from "./_channel.ts";
import { LineWriter } from "./_writer.ts";

function channel(
  maxMessageBytes?: number,
): { channel: Channel; sent: () => Record<string, unknown>[] } {
  const chunks: Uint8Array[] = [];
  const writer = new LineWriter({
    write(bytes) {
      chunks.push(bytes.slice());
      return Promise.resolve(bytes.length);
    },
  });
  return {
    channel: new Channel(writer, maxMessageBytes),
    sent: () =>
      chunks.flatMap((chunk) =>
        new TextDecoder().decode(chunk).split("\n").filter((line) => line !== "")
      )
        .map((line) => JSON.parse(line)),
  };
}

const NEVER = new AbortController().signal;

Deno.test("numbers requests from 1 and settles each by its id", async () => {
  const { channel: c, sent } = channel();
  const first = c.request("k8s.getPod", { invocationId: "i" }, NEVER);
  const second = c.request("k8s.listPods", { invocationId: "i" }, NEVER);
  await c.flush();
  deepStrictEqual(sent().map((message) => [message["id"], message["method"]]), [[1, "k8s.getPod"], [
    2,
    "k8s.listPods",
  ]]);
  strictEqual(c.settle(2, { result: "two" }), true);
  strictEqual(c.settle(1, { error: { code: -32007, message: "gone" } }), true);
  strictEqual(await second, "two");
  await rejects(first, NotFoundError);
  strictEqual(c.pendingCount, 0);
  strictEqual(c.settle(1, { result: "late" }), false);
  strictEqual(c.settle("1", { result: "wrong id type" }), false);
});

Deno.test("stops waiting when the signal aborts, and forgets the request", async () => {
  const { channel: c } = channel();
  const controller = new AbortController();
  const pending = c.request("k8s.getPod", {}, controller.signal);
  controller.abort(new Error("gave up"));
  await rejects(pending, /gave up/);
  strictEqual(c.pendingCount, 0);
  await rejects(c.request("k8s.getPod", {}, controller.signal), /gave up/);
});

Deno.test("refuses requests that cannot be serialized or exceed the size limit, sending nothing", async () => {
  const { channel: c, sent } = channel(2048);
  await rejects(c.request("findings.report", { big: 1n }, NEVER), InvalidParamsError);
  await rejects(
    c.request("findings.report", { body: "x".repeat(4096) }, NEVER),
    LimitExceededError,
  );
  await c.flush();
  deepStrictEqual(sent(), []);
  strictEqual(c.pendingCount, 0);
});

Deno.test("rejects every pending request when the connection closes", async () => {
  const { channel: c } = channel();
  const pending = [c.request("a", {}, NEVER), c.request("b", {}, NEVER)];
  c.rejectAll(new HostError("closed"));
  for (const request of pending) await rejects(request, HostError);
  strictEqual(c.pendingCount, 0);
});

Deno.test("cuts long log messages and error replies to fit the message limit", async () => {
  const { channel: c, sent } = channel(4096);
  c.log("inv-1", "info", "y".repeat(10_000));
  c.respondError(7, {
    code: -32000,
    message: "z".repeat(10_000),
    data: { stack: "s".repeat(10_000) },
  });
  await c.flush();
  const [log, reply] = sent();
  const message = String((log?.["params"] as Record<string, unknown>)["message"]);
  ok(message.length < 4096 && message.includes("[truncated"));
  const error = reply?.["error"] as Record<string, unknown>;
  strictEqual(error["code"], -32000);
  strictEqual(error["data"], undefined);
  ok(String(error["message"]).includes("[truncated"));
});

Deno.test("tells the host how many log messages were dropped while stdout was backed up", async () => {
  const lines: string[] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const writer = new LineWriter({
    async write(bytes) {
      await gate;
      lines.push(...new TextDecoder().decode(bytes).split("\n").filter((line) => line !== ""));
      return bytes.length;
    },
  }, { maxQueuedBytes: 300 });
  const c = new Channel(writer);
  for (let index = 0; index < 20; index++) c.log(null, "info", `message ${index}`);
  release();
  await c.flush();
  c.log(null, "info", "after");
  await c.flush();
  const messages = lines.map((line) => String(JSON.parse(line).params.message));
  const notes = messages.filter((message) => message.includes("were dropped"));
  strictEqual(notes.length, 1, messages.join("\n"));
  const dropped = Number(notes[0]?.split(" ")[0]);
  ok(dropped > 0);
  strictEqual(messages.filter((message) => message.startsWith("message ")).length + dropped, 20);
  strictEqual(messages.at(-1), "after");
});
