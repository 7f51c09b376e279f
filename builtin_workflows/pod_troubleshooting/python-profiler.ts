/**
 * `python-profiler`: samples the Python processes of a pod with py-spy for a
 * few seconds and reports, per process, the hottest functions and an SVG
 * flamegraph. py-spy reads the process from outside; nothing is loaded into
 * it.
 *
 * Tuned by `workflows.podTroubleshooting.pythonProfiler` (`defaultDuration`,
 * `includeIdle`); a manual run may override `duration`, `includeIdle`,
 * `rate`, and pick a process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type FunctionStat,
  type ProcessInfo,
  type PythonProfileResult,
  type ReportOptions,
  type Table,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import {
  basename,
  code,
  markdownTable,
  percent,
  processLabel,
  seconds,
  sections,
  title,
} from "./_markdown.ts";

/** How many functions the finding's table lists. */
const TABLE_FUNCTIONS = 15;

function location(stat: FunctionStat): string {
  if (stat.file === null) return "";
  return stat.line === null ? stat.file : `${stat.file}:${stat.line}`;
}

function hottest(result: PythonProfileResult): readonly FunctionStat[] {
  return result.topFunctions.filter((stat) => stat.selfSamples > 0);
}

function functionsTable(result: PythonProfileResult): Table {
  return {
    title: "Hottest functions (by self time)",
    columns: ["#", "function", "location", "self", "total", "self samples"],
    rows: result.topFunctions.slice(0, TABLE_FUNCTIONS).map((stat, index) => [
      index + 1,
      stat.function,
      location(stat),
      percent(stat.selfShare),
      percent(stat.totalShare),
      stat.selfSamples,
    ]),
  };
}

/**
 * The finding for one profiled process.
 *
 * @param run The plan (pod, why this process).
 * @param process The process.
 * @param result The agent's profile.
 * @returns The finding.
 */
function profileFinding(
  run: Plan,
  process: ProcessInfo,
  result: PythonProfileResult,
): ReportOptions {
  const top = hottest(result);
  const headline = top.length === 0
    ? "no samples (idle)"
    : top.slice(0, 2).map((stat) => `${stat.function} ${percent(stat.selfShare)}`).join(", ");
  const table = functionsTable(result);
  const svg = result.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
  const idle = result.options.idle ? "idle threads included" : "idle threads left out";
  const leader = top[0];
  return {
    title: title(`Profile of ${run.target.pod} ${processLabel(process)}: ${headline}`),
    severity: "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      `Sampled for ${seconds(result.durationSeconds)} at ${result.rate} Hz (${idle}): ` +
        `${result.samples} samples, ${result.samplingErrors} sampling errors.`,
      leader === undefined
        ? "py-spy took no samples: the process waited (sleeping, blocked on I/O or a lock) for " +
          "the whole window. Run again with `includeIdle=true` to see where it waits, or with a " +
          "longer `duration`."
        : `${code(leader.function)} (${basename(leader.file)}) was the innermost frame in ` +
          `${percent(leader.selfShare)} of the samples and on the stack in ` +
          `${percent(leader.totalShare)}.`,
      markdownTable(table),
      svg === undefined
        ? "py-spy produced no flamegraph."
        : `The flamegraph is attached as ${code(svg.name)}: open it in a browser; the wider ` +
          "a frame, the more samples it was on the stack in.",
    ),
    tables: [table],
    attachments: result.artifacts,
  };
}

export default defineWorkflow({
  name: "python-profiler",
  description: "CPU profile of a pod's Python processes with py-spy: hottest functions and a " +
    "flamegraph.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.pythonProfile"],
  params: {
    ...TARGET_PARAMS,
    duration: {
      type: "integer",
      default: 2,
      minimum: 1,
      maximum: 300,
      description: "Seconds to sample.",
    },
    includeIdle: {
      type: "boolean",
      default: false,
      description: "Sample idle threads too (waiting on I/O, locks or sleep).",
    },
    rate: {
      type: "integer",
      minimum: 1,
      maximum: 1000,
      description: "Samples per second; py-spy's 100 when absent.",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "profile", pythonOnly: true });
    if (run === undefined) return;
    const { duration, includeIdle, rate } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "profile",
      act: async (process) => {
        const result = await ctx.debug.pythonProfile(run.target.ref, {
          pid: process.pid,
          duration,
          idle: includeIdle,
          ...(rate === undefined ? {} : { rate }),
        });
        await ctx.report(profileFinding(run, process, result));
      },
    });
  },
});
