import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { LogLevel } from "./protocol.ts";
import { createConsole } from "./_console.ts";

function capture(template: object = {}): { console: Console; logs: [LogLevel, string][] } {
  const logs: [LogLevel, string][] = [];
  return {
    console: createConsole((level, message) => logs.push([level, message]), template),
    logs,
  };
}

Deno.test("logs each console method at its level", () => {
  const { console, logs } = capture();
  console.log("log %d", 1);
  console.info("info");
  console.debug("debug");
  console.warn("warn");
  console.error("error", new Error("boom").message);
  console.dirxml("dirxml");
  console.dir({ a: 1 });
  deepStrictEqual(logs, [
    ["info", "log 1"],
    ["info", "info"],
    ["debug", "debug"],
    ["warn", "warn"],
    ["error", "error boom"],
    ["info", "dirxml"],
    ["info", "{ a: 1 }"],
  ]);
});

Deno.test("indents messages inside groups, line by line", () => {
  const { console, logs } = capture();
  console.group("outer");
  console.groupCollapsed();
  console.log("two\nlines");
  console.groupEnd();
  console.groupEnd();
  console.groupEnd();
  console.log("back");
  deepStrictEqual(logs, [["info", "outer"], ["info", "    two\n    lines"], ["info", "back"]]);
});

Deno.test("counts, times, asserts and traces", () => {
  const { console, logs } = capture();
  console.count();
  console.count("x");
  console.count();
  console.countReset("x");
  console.countReset("never");
  console.time("t");
  console.time("t");
  console.timeLog("t", "mid");
  console.timeEnd("t");
  console.timeEnd("t");
  console.assert(true, "fine");
  console.assert(false, "broken %s", "thing");
  console.assert(false);
  console.trace("here");
  deepStrictEqual(logs.slice(0, 5), [
    ["info", "default: 1"],
    ["info", "x: 1"],
    ["info", "default: 2"],
    ["warn", "Count for 'never' does not exist"],
    ["warn", "Timer 't' already exists"],
  ]);
  ok(/^t: \d+\.\d{3}ms mid$/.test(logs[5]?.[1] ?? ""), logs[5]?.[1]);
  ok(/^t: \d+\.\d{3}ms$/.test(logs[6]?.[1] ?? ""), logs[6]?.[1]);
  deepStrictEqual(logs.slice(7, 10), [
    ["warn", "Timer 't' does not exist"],
    ["error", "Assertion failed: broken thing"],
    ["error", "Assertion failed"],
  ]);
  strictEqual(logs[10]?.[0], "debug");
  ok(logs[10]?.[1].startsWith("Trace: here\n    at "), logs[10]?.[1]);
});

Deno.test("renders tables of objects and of plain values", () => {
  const { console, logs } = capture();
  console.table([{ pod: "web-1", restarts: 3 }, { pod: "web-2" }]);
  console.table({ a: 1, b: "two" });
  console.table([{ pod: "web-1", restarts: 3 }], ["pod"]);
  console.table("not tabular");
  deepStrictEqual(logs.map(([, message]) => message), [
    [
      "| (index) | pod   | restarts |",
      "| ------- | ----- | -------- |",
      "| 0       | web-1 | 3        |",
      "| 1       | web-2 |          |",
    ].join("\n"),
    ["| (index) | Values |", "| ------- | ------ |", "| a       | 1      |", "| b       | two    |"]
      .join("\n"),
    ["| (index) | pod   |", "| ------- | ----- |", "| 0       | web-1 |"].join("\n"),
    "not tabular",
  ]);
});

Deno.test("routes every other method of the template to info", () => {
  const { console, logs } = capture({ futureMethod() {}, notAMethod: 1 });
  (console as unknown as Record<string, (...data: unknown[]) => void>)["futureMethod"]?.("hello");
  strictEqual("notAMethod" in console, false);
  console.clear();
  console.profile();
  const task = (console as unknown as { createTask(name: string): { run<T>(f: () => T): T } })
    .createTask("t");
  strictEqual(task.run(() => 5), 5);
  deepStrictEqual(logs, [["info", "hello"]]);
});

Deno.test("covers every method of the real console", () => {
  const { console: replacement } = capture(globalThis.console);
  for (const [key, value] of Object.entries(globalThis.console)) {
    if (typeof value === "function") {
      strictEqual(typeof (replacement as unknown as Record<string, unknown>)[key], "function", key);
    }
  }
});
