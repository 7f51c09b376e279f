/**
 * `node-profiler`: a CPU profile of a pod's Node.js processes through the
 * inspector. The debug agent sends SIGUSR1, which makes Node.js listen on
 * 127.0.0.1:9229 (loopback only, inside the pod), profiles over the DevTools
 * protocol and closes the inspector again; an inspector that was already open
 * is used and left as it was. Reports the hottest functions and an SVG
 * flamegraph, and attaches the `.cpuprofile` for Chrome DevTools.
 *
 * Tuned by `workflows.podTroubleshooting.nodeProfiler` (`defaultDuration`);
 * a manual run may override `duration`, `port`, `interval`, and pick a
 * process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type NodeProfileResult,
  type ProcessInfo,
  type ReportOptions,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import { code, markdownTable, processLabel, seconds, sections, title } from "./_markdown.ts";
import { functionsTable, headline, leaderSentence } from "./_profile.ts";

function inspectorSentence(result: NodeProfileResult): string {
  if (result.inspectorWasOpen) {
    return `The inspector already listened on port ${result.inspectorPort}; it was used and ` +
      "left open, as it was found.";
  }
  return result.inspectorClosed
    ? `The inspector was opened with SIGUSR1 on 127.0.0.1:${result.inspectorPort} for the ` +
      "profile and closed again."
    : `**The inspector opened with SIGUSR1 on 127.0.0.1:${result.inspectorPort} did not close**: ` +
      "it listens on the pod's loopback until the process restarts.";
}

/**
 * The finding for one profiled Node.js process.
 *
 * @param run The plan (pod, why this process).
 * @param process The process.
 * @param result The agent's profile.
 * @returns The finding.
 */
function profileFinding(run: Plan, process: ProcessInfo, result: NodeProfileResult): ReportOptions {
  const functions = functionsTable(result.topFunctions);
  const svg = result.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
  const leftOpen = !result.inspectorWasOpen && !result.inspectorClosed;
  return {
    title: title(
      `Node.js profile of ${run.target.pod} ${processLabel(process)}: ${
        headline(result.topFunctions, "no samples")
      }`,
    ),
    severity: leftOpen ? "medium" : "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      `Sampled for ${seconds(result.durationSeconds)} every ${result.samplingIntervalMicros} µs: ` +
        `${result.samples} samples (Node.js ${result.nodeVersion ?? "?"}).`,
      inspectorSentence(result),
      leaderSentence(result.topFunctions) ?? "The profile has no samples.",
      markdownTable(functions),
      svg === undefined
        ? ""
        : `The flamegraph is attached as ${code(svg.name)}; ${code("profile.cpuprofile")} opens ` +
          "in Chrome DevTools (Performance panel, Load profile).",
    ),
    tables: [functions],
    attachments: result.artifacts,
  };
}

export default defineWorkflow({
  name: "node-profiler",
  description: "CPU profile of a pod's Node.js processes through the inspector (opened with " +
    "SIGUSR1 on loopback, closed again): hottest functions and a flamegraph.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.nodeProfile"],
  params: {
    ...TARGET_PARAMS,
    pid: {
      ...TARGET_PARAMS.pid,
      description: "The process to profile; every Node.js process when absent.",
    },
    process: {
      ...TARGET_PARAMS.process,
      description: "A regular expression (or plain text) matched against command lines: profile " +
        "the Node.js processes it matches.",
    },
    duration: {
      type: "integer",
      default: 5,
      minimum: 1,
      maximum: 300,
      description: "Seconds to sample.",
    },
    port: {
      type: "integer",
      minimum: 1,
      maximum: 65535,
      description: "An inspector port already open (--inspect); SIGUSR1 opens one when absent.",
    },
    interval: {
      type: "integer",
      minimum: 100,
      maximum: 100000,
      description: "Microseconds between samples; 1000 when absent.",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "profile", pythonOnly: false, runtime: "node" });
    if (run === undefined) return;
    const { duration, port, interval } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "profile",
      act: async (process) => {
        const result = await ctx.debug.nodeProfile(run.target.ref, {
          pid: process.pid,
          duration,
          ...(port === undefined ? {} : { port }),
          ...(interval === undefined ? {} : { interval }),
        });
        await ctx.report(profileFinding(run, process, result));
      },
    });
  },
});
