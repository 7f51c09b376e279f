import { ok, strictEqual } from "node:assert/strict";
import { formatArgs, inspect, truncateUtf8 } from "./_format.ts";

Deno.test("formats like console.log: strings as is, values inspected, joined by spaces", () => {
  strictEqual(formatArgs([]), "");
  strictEqual(formatArgs(["plain"]), "plain");
  strictEqual(formatArgs(["a", 1, { b: [2] }, null]), "a 1 { b: [ 2 ] } null");
  strictEqual(formatArgs([{ a: { b: { c: { d: { e: { f: 1 } } } } } }]).includes("[Object]"), true);
});

Deno.test("applies printf directives of a leading format string", () => {
  strictEqual(formatArgs(["%s has %d pods (%i%%)", "shop", 3, 41.7]), "shop has 3 pods (41%)");
  strictEqual(formatArgs(["%f %j %o", "1.5", { a: 1 }, [1]]), '1.5 {"a":1} [ 1 ]');
  strictEqual(formatArgs(["%c styled", "color: red"]), " styled");
  strictEqual(formatArgs(["%s and %s", "one"]), "one and %s");
  strictEqual(formatArgs(["%d", 1n]), "1n");
  strictEqual(formatArgs(["100%", "extra"]), "100% extra");
});

Deno.test("never throws on values that cannot be inspected or serialized", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic["self"] = cyclic;
  strictEqual(formatArgs(["%j", cyclic]), "[Circular]");
  ok(formatArgs([cyclic]).includes("Circular"));
  const hostile = new Proxy({}, {
    get() {
      throw new Error("no");
    },
    ownKeys() {
      throw new Error("no keys");
    },
  });
  ok(typeof inspect(hostile) === "string");
});

Deno.test("truncates to a byte budget without splitting a character, saying how much was cut", () => {
  strictEqual(truncateUtf8("short", 100), "short");
  const long = "é".repeat(1000);
  const cut = truncateUtf8(long, 200);
  ok(new TextEncoder().encode(cut).length <= 200);
  ok(cut.endsWith(" … [truncated 1864 of 2000 bytes]"), cut.slice(-40));
  ok(!cut.includes("\uFFFD"));
});
