/**
 * `debugger-stack-trace`: dumps every thread's Python stack of a pod's
 * Python processes with py-spy, once or a few times apart, so a hang, a
 * deadlock or a busy loop shows where each thread is. py-spy reads the
 * process from outside and pauses it only for the instant of each dump.
 *
 * Tuned by `workflows.podTroubleshooting.debuggerStackTrace` (`tracesAmount`
 * → `count`, `sleepDuration` → `interval`); a manual run may override them,
 * ask for `locals`, and pick a process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type ProcessInfo,
  type PythonStackTraceResult,
  type ReportOptions,
  type StackFrame,
  type Table,
  type ThreadStack,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import {
  clip,
  code,
  codeBlock,
  markdownTable,
  processLabel,
  seconds,
  sections,
  title,
} from "./_markdown.ts";

/** How many thread names a title lists before "…". */
const TITLE_THREADS = 4;

/** The longest `repr` of a local shown. */
const REPR_CHARS = 120;

function threadName(thread: ThreadStack): string {
  return thread.name ?? `thread ${thread.osThreadId ?? thread.threadId}`;
}

function frameText(frame: StackFrame): string {
  return `${frame.function} (${frame.file}:${frame.line})`;
}

function where(thread: ThreadStack): string {
  const top = thread.frames[0];
  return top === undefined ? "(no Python frames)" : frameText(top);
}

function state(thread: ThreadStack): string {
  return [thread.active ? "running" : "idle", ...(thread.ownsGil ? ["holds the GIL"] : [])].join(
    ", ",
  );
}

function stackText(thread: ThreadStack): string {
  const lines: string[] = [];
  for (const frame of thread.frames) {
    lines.push(frameText(frame));
    for (const local of frame.locals ?? []) {
      const repr = local.repr === null ? "<unreadable>" : clip(local.repr, REPR_CHARS);
      lines.push(`    ${local.arg ? "arg " : ""}${local.name} = ${repr}`);
    }
  }
  return lines.length === 0 ? "(no Python frames)" : lines.join("\n");
}

/** Threads whose innermost frame was the same in every dump (with two or more dumps). */
function unmoved(result: PythonStackTraceResult): ReadonlySet<number> {
  const still = new Set<number>();
  if (result.snapshots.length < 2) return still;
  const [first, ...rest] = result.snapshots;
  for (const thread of first?.threads ?? []) {
    const place = where(thread);
    const same = rest.every((snapshot) =>
      snapshot.threads.some((other) => other.threadId === thread.threadId && where(other) === place)
    );
    if (same && thread.frames.length > 0) still.add(thread.threadId);
  }
  return still;
}

function threadsTable(result: PythonStackTraceResult, still: ReadonlySet<number>): Table {
  const last = result.snapshots[result.snapshots.length - 1];
  return {
    title: result.snapshots.length > 1 ? "Threads (in the last dump)" : "Threads",
    columns: ["thread", "OS thread", "state", "innermost frame", "same place in every dump"],
    rows: (last?.threads ?? []).map((thread) => [
      threadName(thread),
      thread.osThreadId,
      state(thread),
      where(thread),
      result.snapshots.length > 1 ? (still.has(thread.threadId) ? "yes" : "no") : "",
    ]),
  };
}

function dumps(result: PythonStackTraceResult): string {
  return result.snapshots.map((snapshot, index) => {
    const heading = result.snapshots.length > 1
      ? `### Dump ${index + 1} of ${result.snapshots.length}, at ${snapshot.takenAt}`
      : `### Stacks at ${snapshot.takenAt}`;
    const threads = snapshot.threads.map((thread) =>
      sections(
        `**${threadName(thread)}** (OS thread ${thread.osThreadId ?? "?"}, ${state(thread)}), ` +
          "innermost frame first:",
        codeBlock(stackText(thread)),
      )
    );
    return sections(heading, ...threads);
  }).join("\n\n");
}

function stackFinding(
  run: Plan,
  process: ProcessInfo,
  result: PythonStackTraceResult,
): ReportOptions {
  const names = [
    ...new Set(result.snapshots.flatMap((snapshot) => snapshot.threads.map(threadName))),
  ];
  const shown = names.slice(0, TITLE_THREADS).join(", ") +
    (names.length > TITLE_THREADS ? ", …" : "");
  const count = result.snapshots.length;
  const still = unmoved(result);
  const stuck = (result.snapshots[0]?.threads ?? []).filter((thread) =>
    still.has(thread.threadId) && thread.active
  );
  const table = threadsTable(result, still);
  return {
    title: title(
      `Stack trace of ${run.target.pod} ${processLabel(process)}: ${
        count > 1 ? `${count} dumps, ` : ""
      }${names.length} thread${names.length === 1 ? "" : "s"} (${shown})`,
    ),
    severity: "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      count > 1
        ? `${count} dumps taken ${seconds(result.intervalSeconds)} apart with py-spy.`
        : "One dump taken with py-spy.",
      stuck.length > 0
        ? `Running in the same place in all ${count} dumps: ${
          stuck.map((thread) => `${code(threadName(thread))} at ${code(where(thread))}`).join(
            ", ",
          )
        }. A thread that does not move while running is worth a look (a busy loop, or a ` +
          "long call); dump again with a longer `interval` to confirm."
        : "",
      markdownTable(table),
      dumps(result),
    ),
    tables: [table],
  };
}

export default defineWorkflow({
  name: "debugger-stack-trace",
  description: "Every thread's Python stack of a pod's Python processes (py-spy dump), once " +
    "or a few times apart.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.pythonStackTrace"],
  params: {
    ...TARGET_PARAMS,
    count: {
      type: "integer",
      default: 1,
      minimum: 1,
      maximum: 100,
      description: "How many dumps to take.",
    },
    interval: {
      type: "number",
      default: 1,
      minimum: 0,
      maximum: 60,
      description: "Seconds between dumps.",
    },
    locals: {
      type: "boolean",
      default: false,
      description: "Include each frame's local variables (their repr, as py-spy reads them).",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "dump", pythonOnly: true });
    if (run === undefined) return;
    const { count, interval, locals } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "dump the stacks of",
      act: async (process) => {
        const result = await ctx.debug.pythonStackTrace(run.target.ref, {
          pid: process.pid,
          count,
          interval,
          locals,
        });
        await ctx.report(stackFinding(run, process, result));
      },
    });
  },
});
