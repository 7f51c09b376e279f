import { deepStrictEqual } from "node:assert/strict";
import { type LineItem, readLines } from "./_lines.ts";

async function collect(chunks: (string | number[])[], maxLineBytes = 1024): Promise<LineItem[]> {
  const encoder = new TextEncoder();
  const stream = ReadableStream.from(
    chunks.map((chunk) =>
      typeof chunk === "string" ? encoder.encode(chunk) : new Uint8Array(chunk)
    ),
  );
  const items: LineItem[] = [];
  for await (const item of readLines(stream, maxLineBytes)) items.push(item);
  return items;
}

const line = (text: string): LineItem => ({ type: "line", text });

Deno.test("splits lines across and within chunks", async () => {
  deepStrictEqual(await collect(["a\nb", "c\n\nd", "e\n"]), [
    line("a"),
    line("bc"),
    line(""),
    line("de"),
  ]);
});

Deno.test("joins a multi-byte character split between chunks", async () => {
  deepStrictEqual(await collect([[0x22, 0xc3], [0xa9, 0x22, 0x0a]]), [line('"é"')]);
});

Deno.test("yields a last line that has no newline", async () => {
  deepStrictEqual(await collect(["one\ntwo"]), [line("one"), line("two")]);
});

Deno.test("reports invalid UTF-8 and carries on", async () => {
  deepStrictEqual(await collect([[0x61, 0xff, 0x0a], "ok\n"]), [{ type: "bad-utf8" }, line("ok")]);
});

Deno.test("skips an over-long line to its end, reporting its size once", async () => {
  deepStrictEqual(await collect(["12345", "67890", "abc\nok\n"], 8), [{
    type: "too-long",
    bytes: 13,
  }, line("ok")]);
  deepStrictEqual(await collect(["123456789\nok\n"], 8), [
    { type: "too-long", bytes: 9 },
    line("ok"),
  ]);
  deepStrictEqual(await collect(["12345678\n"], 8), [line("12345678")]);
  deepStrictEqual(await collect(["123456789012"], 8), [{ type: "too-long", bytes: 12 }]);
});
