/**
 * A replacement for the global `console` whose every method turns its output
 * into a log message instead of writing to stdout, which carries JSON-RPC.
 *
 * @module
 */

import type { LogLevel } from "./protocol.ts";
import { formatArgs, inspect } from "./_format.ts";

/** Receives each message the console produces. */
export type LogSink = (level: LogLevel, message: string) => void;

function renderTable(data: unknown, columns: readonly string[] | undefined): string {
  if (typeof data !== "object" || data === null) return inspect(data);
  const rows: [string, unknown][] = data instanceof Map
    ? [...data.entries()].map(([key, value]) => [inspect(key), value])
    : Object.entries(data as Record<string, unknown>);
  const keys: string[] = [];
  let hasValues = false;
  for (const [, value] of rows) {
    if (typeof value === "object" && value !== null) {
      for (const key of Object.keys(value)) if (!keys.includes(key)) keys.push(key);
    } else hasValues = true;
  }
  const shown = columns === undefined ? keys : keys.filter((key) => columns.includes(key));
  const header = ["(index)", ...shown, ...(hasValues ? ["Values"] : [])];
  const body = rows.map(([index, value]) => {
    const record = typeof value === "object" && value !== null
      ? value as Record<string, unknown>
      : undefined;
    const cells = shown.map((key) =>
      record !== undefined && key in record ? inspect(record[key], { depth: 0 }) : ""
    );
    const valueCell = hasValues ? [record === undefined ? inspect(value, { depth: 0 }) : ""] : [];
    return [index, ...cells, ...valueCell];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((row) => (row[column] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...body.map(line)].join(
    "\n",
  );
}

/**
 * Builds a console-like object: `log`, `info`, `dir`, `dirxml`, `table`,
 * `count`, `time*` and `group` log at info; `debug` and `trace` at debug;
 * `warn` at warn; `error` and failed `assert`s at error. Any method of
 * `template` not handled here logs its arguments at info.
 */
export function createConsole(sink: LogSink, template: object = {}): Console {
  let indent = "";
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const emit = (level: LogLevel, message: string) => {
    sink(
      level,
      indent === "" ? message : message.split("\n").map((line) => indent + line).join("\n"),
    );
  };
  const at = (level: LogLevel) => (...data: unknown[]): void => emit(level, formatArgs(data));
  const elapsed = (label: string): string | undefined => {
    const start = timers.get(label);
    return start === undefined
      ? undefined
      : `${label}: ${(performance.now() - start).toFixed(3)}ms`;
  };
  const handled: Record<string, unknown> = {
    log: at("info"),
    info: at("info"),
    debug: at("debug"),
    warn: at("warn"),
    error: at("error"),
    dirxml: at("info"),
    dir: (value: unknown, options: Deno.InspectOptions = {}) =>
      emit("info", inspect(value, options)),
    table: (data: unknown, columns?: readonly string[]) => emit("info", renderTable(data, columns)),
    trace: (...data: unknown[]) => {
      const stack = (new Error().stack ?? "").split("\n").slice(2).join("\n");
      emit("debug", `Trace${data.length > 0 ? `: ${formatArgs(data)}` : ""}\n${stack}`);
    },
    assert: (condition?: unknown, ...data: unknown[]) => {
      if (!condition) {
        emit(
          "error",
          data.length > 0 ? `Assertion failed: ${formatArgs(data)}` : "Assertion failed",
        );
      }
    },
    count: (label = "default") => {
      const count = (counts.get(String(label)) ?? 0) + 1;
      counts.set(String(label), count);
      emit("info", `${label}: ${count}`);
    },
    countReset: (label = "default") => {
      if (!counts.delete(String(label))) emit("warn", `Count for '${label}' does not exist`);
    },
    time: (label = "default") => {
      if (timers.has(String(label))) emit("warn", `Timer '${label}' already exists`);
      else timers.set(String(label), performance.now());
    },
    timeLog: (label = "default", ...data: unknown[]) => {
      const text = elapsed(String(label));
      if (text === undefined) emit("warn", `Timer '${label}' does not exist`);
      else emit("info", data.length > 0 ? `${text} ${formatArgs(data)}` : text);
    },
    timeEnd: (label = "default") => {
      const text = elapsed(String(label));
      if (text === undefined) emit("warn", `Timer '${label}' does not exist`);
      else {
        timers.delete(String(label));
        emit("info", text);
      }
    },
    group: (...label: unknown[]) => {
      if (label.length > 0) emit("info", formatArgs(label));
      indent += "  ";
    },
    groupCollapsed: (...label: unknown[]) => {
      if (label.length > 0) emit("info", formatArgs(label));
      indent += "  ";
    },
    groupEnd: () => {
      indent = indent.slice(2);
    },
    clear: () => {},
    profile: () => {},
    profileEnd: () => {},
    timeStamp: () => {},
    createTask: () => ({ run: <T>(callback: () => T): T => callback() }),
  };
  const replacement: Record<string, unknown> = {};
  for (const key of Object.keys(template)) {
    const original = (template as Record<string, unknown>)[key];
    if (typeof original === "function") replacement[key] = at("info");
  }
  Object.assign(replacement, handled);
  return replacement as unknown as Console;
}
