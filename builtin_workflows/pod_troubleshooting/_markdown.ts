/**
 * Formatting shared by the pod-troubleshooting built-ins: Markdown tables and
 * code, byte sizes, shares and process labels. Findings must read well on
 * their own (in Slack, on the findings page, in a file), so every number gets
 * a unit and every process its command line.
 *
 * @module
 */

import type { ProcessInfo, Table } from "@wfhost/sdk";

/** A table cell as the SDK accepts it. */
export type Cell = string | number | boolean | null;

/** The longest command line shown in a title; bodies show more. */
const TITLE_COMMAND_CHARS = 60;

/** Findings refuse titles over 500 characters; stay well below. */
const MAX_TITLE_CHARS = 300;

/**
 * Shortens `text` to `max` characters, marking the cut with an ellipsis.
 *
 * @param text Any text.
 * @param max The longest result.
 * @returns `text`, or its start and "…".
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * A finding title: one line, clipped to a safe length.
 *
 * @param text The title.
 * @returns The title on one line, at most 300 characters.
 */
export function title(text: string): string {
  return clip(text.replace(/\s+/g, " ").trim(), MAX_TITLE_CHARS);
}

/**
 * The last path segment of a file name, e.g. `app.py` for `/srv/app.py`.
 *
 * @param path A path, or `null`.
 * @returns Its base name, or `?` without a path.
 */
export function basename(path: string | null): string {
  if (path === null || path === "") return "?";
  const parts = path.split("/");
  return parts[parts.length - 1] || path;
}

/**
 * A process's command line as one string (its executable, or `[pid]`, when it
 * has none), clipped to `max` characters.
 *
 * @param process The process.
 * @param max The longest result.
 * @returns The command line.
 */
export function command(process: ProcessInfo, max = TITLE_COMMAND_CHARS): string {
  const line = process.cmdline.join(" ").trim() || process.exe || `[${process.pid}]`;
  return clip(line.replace(/\s+/g, " "), max);
}

/**
 * How titles name a process: `pid 7 (python app.py)`.
 *
 * @param process The process.
 * @returns The label.
 */
export function processLabel(process: ProcessInfo): string {
  return `pid ${process.pid} (${command(process)})`;
}

/**
 * A byte count for humans: `512 B`, `4.0 KiB`, `15.5 MiB`.
 *
 * @param value Bytes.
 * @returns The size with a binary unit.
 */
export function bytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = Math.abs(value);
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  const sign = value < 0 ? "-" : "";
  return unit === 0 ? `${sign}${size} B` : `${sign}${size.toFixed(1)} ${units[unit]}`;
}

/**
 * A share (0 to 1) as a percentage: `41%`, `2.7%`.
 *
 * @param share The share.
 * @returns The percentage, one decimal below 10%.
 */
export function percent(share: number): string {
  const value = share * 100;
  return `${value < 10 && value > 0 ? value.toFixed(1) : Math.round(value)}%`;
}

/**
 * Seconds for humans: `2 s`, `0.5 s`.
 *
 * @param value Seconds.
 * @returns The duration with its unit.
 */
export function seconds(value: number): string {
  return `${Number(value.toFixed(3))} s`;
}

/**
 * Inline Markdown code that survives backticks in the text.
 *
 * @param text Any text.
 * @returns The text as a code span.
 */
export function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${text.includes("`") ? ` ${text} ` : text}${fence}`;
}

/**
 * A fenced Markdown code block.
 *
 * @param text The block's content.
 * @param language The info string, e.g. `json`.
 * @returns The block.
 */
export function codeBlock(text: string, language = ""): string {
  const fence = text.includes("```") ? "~~~~" : "```";
  return `${fence}${language}\n${text}\n${fence}`;
}

function markdownCell(value: Cell): string {
  if (value === null) return "";
  return String(value).replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/**
 * Renders a table as Markdown, with its title as a heading.
 *
 * @param table The table (also reported in the finding's `tables`).
 * @returns The Markdown.
 */
export function markdownTable(table: Table): string {
  const header = `| ${table.columns.map(markdownCell).join(" | ")} |`;
  const rule = `| ${table.columns.map(() => "---").join(" | ")} |`;
  const rows = table.rows.map((row) => `| ${row.map(markdownCell).join(" | ")} |`);
  const heading = table.title === undefined ? [] : [`### ${table.title}`, ""];
  const empty = table.rows.length === 0 ? ["", "_(none)_"] : [];
  return [...heading, header, rule, ...rows, ...empty].join("\n");
}

/**
 * Joins Markdown sections with blank lines, skipping empty ones.
 *
 * @param sections Paragraphs, tables, lists; `undefined` or `""` are left out.
 * @returns The body.
 */
export function sections(...sections: readonly (string | undefined)[]): string {
  return sections.filter((section): section is string => section !== undefined && section !== "")
    .join("\n\n");
}

/**
 * The table every built-in shows of a container's processes.
 *
 * @param processes The processes.
 * @param heading The table's title.
 * @returns The table.
 */
export function processTable(processes: readonly ProcessInfo[], heading = "Processes"): Table {
  return {
    title: heading,
    columns: [
      "pid",
      "ppid",
      "user",
      "python",
      "runtime",
      "cpu",
      "rss",
      "threads",
      "started",
      "command",
    ],
    rows: processes.map((process) => [
      process.pid,
      process.ppid,
      process.user,
      process.python ? (process.pythonVersion ?? "yes") : "no",
      process.runtimeVersion === null
        ? process.runtime
        : `${process.runtime} ${process.runtimeVersion}`,
      `${process.cpuPercent}%`,
      bytes(process.rssBytes),
      process.threads,
      process.startTime,
      command(process, 200),
    ]),
  };
}
