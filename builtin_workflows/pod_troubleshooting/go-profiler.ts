/**
 * `go-profiler`: a CPU profile and a goroutine dump of a pod's Go processes,
 * fetched from each program's own `net/http/pprof` from inside the pod's
 * network namespace (its listening ports are probed, or `port` names one).
 * Reports the hottest functions, an SVG flamegraph, goroutines by state and
 * the ones blocked longest; attaches the raw profile for `go tool pprof`.
 * Nothing attaches to the process. A Go program without pprof gets a finding
 * with the two lines that switch it on.
 *
 * Tuned by `workflows.podTroubleshooting.goProfiler` (`defaultDuration`,
 * `pprofPort`); a manual run may override `duration`, `port`, and pick a
 * process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type GoProfileResult,
  type GoroutineInfo,
  type ProcessInfo,
  type ReportOptions,
  type Table,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import { code, markdownTable, processLabel, seconds, sections, title } from "./_markdown.ts";
import { functionsTable, headline, leaderSentence } from "./_profile.ts";

function waited(goroutine: GoroutineInfo): string {
  return goroutine.waitMinutes === null ? "< 1 min" : `${goroutine.waitMinutes} min`;
}

function blockedTable(result: GoProfileResult): Table {
  return {
    title: "Goroutines blocked longest",
    columns: ["goroutine", "state", "waiting", "function", "location", "created by"],
    rows: result.goroutines.longestBlocked.map((g) => [
      g.id,
      g.lockedToThread ? `${g.state} (locked to thread)` : g.state,
      waited(g),
      g.function ?? "",
      g.file === null ? "" : `${g.file}:${g.line ?? "?"}`,
      g.createdBy ?? "",
    ]),
  };
}

function statesTable(result: GoProfileResult): Table {
  return {
    title: `Goroutines by state (${result.goroutines.total})`,
    columns: ["state", "goroutines"],
    rows: result.goroutines.byState.map((entry) => [entry.state, entry.count]),
  };
}

/**
 * The finding for one profiled Go process.
 *
 * @param run The plan (pod, why this process).
 * @param process The process.
 * @param result The agent's profile.
 * @returns The finding.
 */
function profileFinding(run: Plan, process: ProcessInfo, result: GoProfileResult): ReportOptions {
  const functions = functionsTable(result.topFunctions);
  const states = statesTable(result);
  const blocked = blockedTable(result);
  const stuck = result.goroutines.longestBlocked.filter((g) => (g.waitMinutes ?? 0) >= 10);
  const svg = result.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
  return {
    title: title(
      `Go profile of ${run.target.pod} ${processLabel(process)}: ${
        headline(result.topFunctions, "no CPU samples (idle)")
      }, ${result.goroutines.total} goroutines`,
    ),
    severity: "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      `CPU profile from ${code(result.endpoint)} over ${seconds(result.durationSeconds)}: ` +
        `${result.samples} samples, ${seconds(result.cpuSeconds)} of CPU.`,
      leaderSentence(result.topFunctions) ??
        "The profile has no samples: the program used no CPU in the window (it waited on " +
          "I/O, locks or timers). The goroutine dump below shows where it waits.",
      markdownTable(functions),
      stuck.length === 0
        ? ""
        : `**${stuck.length} goroutine${
          stuck.length === 1 ? " has" : "s have"
        } waited 10 minutes or more**, the longest ${waited(stuck[0] as GoroutineInfo)} in ` +
          `${code((stuck[0] as GoroutineInfo).state)}: a leak or a deadlock is likely.`,
      markdownTable(states),
      markdownTable(blocked),
      svg === undefined
        ? ""
        : `The flamegraph is attached as ${code(svg.name)}; ${code("cpu.pb.gz")} opens with ` +
          `${code("go tool pprof")} and ${code("goroutines.txt")} is the full dump.`,
    ),
    tables: [functions, states, blocked],
    attachments: result.artifacts,
  };
}

export default defineWorkflow({
  name: "go-profiler",
  description: "CPU profile and goroutine dump of a pod's Go processes through their " +
    "net/http/pprof: hottest functions, a flamegraph, blocked goroutines.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.goProfile"],
  params: {
    ...TARGET_PARAMS,
    pid: {
      ...TARGET_PARAMS.pid,
      description: "The process to profile; every Go process when absent.",
    },
    process: {
      ...TARGET_PARAMS.process,
      description: "A regular expression (or plain text) matched against command lines: profile " +
        "the Go processes it matches.",
    },
    duration: {
      type: "integer",
      default: 5,
      minimum: 1,
      maximum: 300,
      description: "Seconds of CPU profile.",
    },
    port: {
      type: "integer",
      minimum: 1,
      maximum: 65535,
      description:
        "The net/http/pprof port; each process's listening ports are probed when absent.",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "profile", pythonOnly: false, runtime: "go" });
    if (run === undefined) return;
    const { duration, port } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "profile",
      act: async (process) => {
        const result = await ctx.debug.goProfile(run.target.ref, {
          pid: process.pid,
          duration,
          ...(port === undefined ? {} : { port }),
        });
        await ctx.report(profileFinding(run, process, result));
      },
    });
  },
});
