/**
 * `python-memory-analysis`: traces the allocations of a pod's Python
 * processes for a while (memray, or tracemalloc when memray cannot load in
 * the process) and reports, per process, where memory was allocated, what
 * was still held at the end of the window (leak candidates) and memray's
 * flamegraph.
 *
 * Tuned by `workflows.podTroubleshooting.pythonMemoryAnalysis`
 * (`defaultDuration`); a manual run may override `duration` and pick a
 * process with `pid` or `process`.
 *
 * @module
 */

import {
  type AllocationSite,
  defineWorkflow,
  type ProcessInfo,
  type PythonMemoryResult,
  type ReportOptions,
  type Severity,
  type Table,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import {
  basename,
  bytes,
  code,
  markdownTable,
  processLabel,
  seconds,
  sections,
  title,
} from "./_markdown.ts";

/** Memory still held growing at least this fast (bytes per minute) is worth a look. */
const MEDIUM_GROWTH_PER_MINUTE = 1 << 20;

/** Below this growth (bytes per minute), what is still held is noise. */
const LOW_GROWTH_PER_MINUTE = 64 << 10;

/** Stack frames shown per leak candidate. */
const STACK_FRAMES = 4;

function siteName(site: AllocationSite): string {
  return site.function ?? `${basename(site.file)}:${site.line}`;
}

function siteLocation(site: AllocationSite): string {
  return `${site.file}:${site.line}`;
}

function growthPerMinute(result: PythonMemoryResult): number {
  return result.durationSeconds > 0 ? result.stillAllocatedBytes / result.durationSeconds * 60 : 0;
}

function severityOf(result: PythonMemoryResult): Severity {
  if (result.leakCandidates.length === 0) return "info";
  const growth = growthPerMinute(result);
  if (growth >= MEDIUM_GROWTH_PER_MINUTE) return "medium";
  return growth >= LOW_GROWTH_PER_MINUTE ? "low" : "info";
}

function sitesTable(heading: string, sites: readonly AllocationSite[], withStack: boolean): Table {
  const columns = ["#", "function", "location", "bytes", "allocations"];
  return {
    title: heading,
    columns: withStack ? [...columns, "called from"] : columns,
    rows: sites.map((site, index) => {
      const row = [index + 1, siteName(site), siteLocation(site), bytes(site.bytes), site.count];
      return withStack ? [...row, site.stack.slice(1, STACK_FRAMES + 1).join(" ← ")] : row;
    }),
  };
}

function summaryTable(result: PythonMemoryResult): Table {
  const optional = (value: number | null, format: (n: number) => string) =>
    value === null ? "not measured (tracemalloc)" : format(value);
  return {
    title: "Summary",
    columns: ["measure", "value"],
    rows: [
      ["tracer", result.method],
      ["window", seconds(result.durationSeconds)],
      ["allocated in the window", optional(result.totalAllocatedBytes, bytes)],
      ["allocations in the window", optional(result.totalAllocations, String)],
      ["peak traced memory", bytes(result.peakBytes)],
      ["still held at the end", bytes(result.stillAllocatedBytes)],
      ["still held, per minute", `${bytes(Math.round(growthPerMinute(result)))}/min`],
    ],
  };
}

function memoryFinding(run: Plan, process: ProcessInfo, result: PythonMemoryResult): ReportOptions {
  const leader = result.leakCandidates.find((site) => site.bytes > 0) ??
    result.topAllocationSites[0];
  const held = `${bytes(result.stillAllocatedBytes)} still held after ${
    seconds(result.durationSeconds)
  }`;
  const headline = leader === undefined
    ? `${held}, no allocation sites recorded`
    : `${held}, most by ${siteName(leader)} (${basename(leader.file)}:${leader.line})`;
  const top = sitesTable("Top allocation sites", result.topAllocationSites, false);
  const leaks = sitesTable(
    "Leak candidates (allocated in the window, still held at its end)",
    result.leakCandidates,
    true,
  );
  const summary = summaryTable(result);
  const html = result.artifacts.find((artifact) => artifact.mediaType === "text/html");
  const severity = severityOf(result);
  return {
    title: title(`Memory of ${run.target.pod} ${processLabel(process)}: ${headline}`),
    severity,
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      result.method === "memray"
        ? `Allocations traced with memray for ${seconds(result.durationSeconds)}.`
        : `Allocations traced with tracemalloc for ${seconds(result.durationSeconds)} ` +
          `(memray could not be used: ${result.fallbackReason ?? "no reason given"}); ` +
          "tracemalloc records files and lines, not functions.",
      severity === "medium" || severity === "low"
        ? `Memory still held grows by about ${
          bytes(Math.round(growthPerMinute(result)))
        } per minute; ` +
          (leader === undefined
            ? "no site stands out."
            : `the biggest candidate is ${code(siteName(leader))} at ${
              code(siteLocation(leader))
            }. Memory allocated there is not released: check what keeps references to it ` +
              "(caches, lists or dicts that only grow).")
        : "Nothing allocated in the window is held in a way that suggests a leak.",
      markdownTable(summary),
      markdownTable(top),
      markdownTable(leaks),
      result.notes.length > 0 ? result.notes.map((note) => `- ${note}`).join("\n") : "",
      `The tracer was started in the process through gdb (${result.injection.strategy}); the ` +
        `process was paused for at most ${seconds(result.injection.gdbSeconds)}.`,
      html === undefined ? "" : `memray's flamegraph is attached as ${code(html.name)}.`,
    ),
    tables: [top, leaks, summary],
    attachments: result.artifacts,
  };
}

export default defineWorkflow({
  name: "python-memory-analysis",
  description: "Allocations of a pod's Python processes over a window (memray or tracemalloc): " +
    "top sites, leak candidates and a flamegraph.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.pythonMemory"],
  params: {
    ...TARGET_PARAMS,
    duration: {
      type: "integer",
      default: 60,
      minimum: 1,
      maximum: 300,
      description: "Seconds to trace allocations.",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "trace", pythonOnly: true });
    if (run === undefined) return;
    const { duration } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "trace the memory of",
      act: async (process) => {
        const result = await ctx.debug.pythonMemory(run.target.ref, {
          pid: process.pid,
          duration,
        });
        await ctx.report(memoryFinding(run, process, result));
      },
    });
  },
});
