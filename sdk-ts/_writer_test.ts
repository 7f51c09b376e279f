import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type ByteSink, LineWriter } from "./_writer.ts";

class RecordingSink implements ByteSink {
  readonly writes: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly maxPerWrite: number, readonly failWith?: Error) {}
  async write(bytes: Uint8Array): Promise<number> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.inFlight--;
    if (this.failWith !== undefined) throw this.failWith;
    const count = Math.min(bytes.length, this.maxPerWrite);
    this.writes.push(new TextDecoder().decode(bytes.subarray(0, count)));
    return count;
  }
}

Deno.test("writes every line once, in order, one write at a time, coalescing what queued up", async () => {
  const sink = new RecordingSink(Infinity);
  const writer = new LineWriter(sink);
  for (let index = 0; index < 5; index++) writer.enqueue(LineWriter.encode(`{"n":${index}}`));
  await writer.flush();
  strictEqual(sink.writes.join(""), '{"n":0}\n{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  strictEqual(sink.maxInFlight, 1);
  ok(sink.writes.length < 5, `${sink.writes.length} writes`);
});

Deno.test("finishes partial writes", async () => {
  const sink = new RecordingSink(3);
  const writer = new LineWriter(sink);
  writer.enqueue(LineWriter.encode('{"long":"line"}'));
  await writer.flush();
  strictEqual(sink.writes.join(""), '{"long":"line"}\n');
  ok(sink.writes.every((write) => write.length <= 3));
});

Deno.test("drops droppable lines past the queue limit, counting them, but never other lines", async () => {
  const sink = new RecordingSink(Infinity);
  const writer = new LineWriter(sink, { maxQueuedBytes: 10 });
  // The first line goes straight into the (slow) write; the next ones queue.
  strictEqual(writer.enqueue(LineWriter.encode("first")), true);
  strictEqual(writer.enqueue(LineWriter.encode("12345678")), true);
  strictEqual(writer.enqueue(LineWriter.encode("log"), true), false);
  strictEqual(writer.enqueue(LineWriter.encode("reply")), true);
  strictEqual(writer.dropped, 1);
  await writer.flush();
  strictEqual(sink.writes.join(""), "first\n12345678\nreply\n");
  strictEqual(writer.enqueue(LineWriter.encode("log"), true), true);
});

Deno.test("reports a failed write once and discards later lines", async () => {
  const errors: unknown[] = [];
  const sink = new RecordingSink(Infinity, new Error("EPIPE"));
  const writer = new LineWriter(sink, { onError: (error) => errors.push(error) });
  writer.enqueue(LineWriter.encode("a"));
  writer.enqueue(LineWriter.encode("b"));
  await writer.flush();
  strictEqual(writer.failed, true);
  strictEqual(writer.enqueue(LineWriter.encode("c")), false);
  deepStrictEqual(errors.map(String), ["Error: EPIPE"]);
});
