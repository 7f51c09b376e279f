/**
 * `java-profiler`: a thread dump and a short JFR recording of a pod's JVMs,
 * through HotSpot's attach mechanism (the one `jcmd` and `jstack` use, as
 * the JVM's user, through its own /tmp). Reports the deadlocks the JVM
 * detects (and raises the finding's severity), threads by state and the
 * blocked ones, the hottest methods with a flamegraph, and the classes
 * allocated most; attaches the dump and the `.jfr` recording. With
 * `heapHistogram` it also counts the live heap by class, which makes the
 * JVM run a full GC first (a stop-the-world pause). A JVM started with
 * `-XX:+DisableAttachMechanism` gets a finding saying so.
 *
 * Tuned by `workflows.podTroubleshooting.javaProfiler` (`defaultDuration`,
 * `heapHistogram`); a manual run may override `duration`, `heapHistogram`,
 * and pick a process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type JavaDeadlock,
  type JavaHeapHistogramResult,
  type JavaProfileResult,
  type JavaThread,
  type JavaThreadDumpResult,
  type ProcessInfo,
  type ReportOptions,
  type Severity,
  type Table,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import {
  bytes,
  code,
  markdownTable,
  percent,
  processLabel,
  seconds,
  sections,
  title,
} from "./_markdown.ts";
import { functionsTable, headline, hottest } from "./_profile.ts";

/** How many blocked or waiting threads a finding lists. */
const TABLE_THREADS = 15;
/** How many classes the allocation and heap tables list. */
const TABLE_CLASSES = 10;

/** The hottest method in a sentence; JFR names no source file, only the line. */
function leaderSentence(profile: JavaProfileResult): string | undefined {
  const leader = hottest(profile.topFunctions)[0];
  if (leader === undefined) return undefined;
  const line = leader.line === null ? "" : ` (line ${leader.line})`;
  return `${code(leader.function)}${line} was the innermost frame in ${
    percent(leader.selfShare)
  } ` +
    `of the samples and on the stack in ${percent(leader.totalShare)}.`;
}

function deadlockText(cycle: JavaDeadlock, index: number): string {
  const lines = cycle.threads.map((thread) => {
    const top = thread.frames[0];
    const at = top === undefined ? "" : ` at ${code(top.method)} (${top.location ?? "?"})`;
    return `- ${code(thread.name)} ${thread.waitingFor}, held by ${code(thread.heldBy)}${at}`;
  });
  return `**Deadlock ${index + 1}** (${cycle.threads.length} threads):\n\n${lines.join("\n")}`;
}

function isStuck(thread: JavaThread): boolean {
  return thread.state === "BLOCKED" ||
    (thread.state === "WAITING" && thread.frames.some((frame) => frame.locks.length > 0));
}

function blockedTable(dump: JavaThreadDumpResult): Table {
  const stuck = dump.threads.filter(isStuck).slice(0, TABLE_THREADS);
  return {
    title: "Blocked threads",
    columns: ["thread", "state", "at", "location", "lock"],
    rows: stuck.map((thread) => {
      const top = thread.frames[0];
      const lock = thread.frames.flatMap((frame) => frame.locks)[0] ?? "";
      return [
        thread.name,
        thread.stateDetail === null
          ? thread.state ?? ""
          : `${thread.state} (${thread.stateDetail})`,
        top?.method ?? "",
        top?.location ?? "",
        lock,
      ];
    }),
  };
}

function statesTable(dump: JavaThreadDumpResult): Table {
  return {
    title: `Java threads by state (${dump.threadCount})`,
    columns: ["state", "threads"],
    rows: dump.byState.map((entry) => [entry.state, entry.count]),
  };
}

function allocationsTable(profile: JavaProfileResult): Table {
  return {
    title: "Classes allocated most (JFR allocation samples)",
    columns: ["#", "class", "estimated bytes", "share", "samples", "allocated mostly in"],
    rows: profile.topAllocations.slice(0, TABLE_CLASSES).map((stat, index) => [
      index + 1,
      stat.className,
      bytes(stat.bytes),
      percent(stat.share),
      stat.samples,
      stat.topSite ?? "",
    ]),
  };
}

function heapTable(heap: JavaHeapHistogramResult): Table {
  return {
    title: `Heap by class (${heap.liveOnly ? "live objects" : "all objects"}, ${
      bytes(heap.totalBytes)
    } in ${heap.totalInstances} objects)`,
    columns: ["#", "class", "bytes", "share", "instances", "module"],
    rows: heap.topClasses.slice(0, TABLE_CLASSES).map((stat, index) => [
      index + 1,
      stat.className,
      bytes(stat.bytes),
      percent(stat.share),
      stat.instances,
      stat.module ?? "",
    ]),
  };
}

/** What one JVM's run produced. */
interface JavaEvidence {
  readonly dump: JavaThreadDumpResult;
  readonly profile: JavaProfileResult;
  readonly heap: JavaHeapHistogramResult | undefined;
}

/**
 * The finding for one JVM: its deadlocks first, then where its CPU and its
 * allocations go.
 *
 * @param run The plan (pod, why this process).
 * @param process The process.
 * @param evidence The agent's dump, profile and (optionally) histogram.
 * @returns The finding.
 */
function javaFinding(
  run: Plan,
  process: ProcessInfo,
  evidence: JavaEvidence,
): ReportOptions {
  const { dump, profile, heap } = evidence;
  const functions = functionsTable(profile.topFunctions);
  const states = statesTable(dump);
  const blocked = blockedTable(dump);
  const allocations = allocationsTable(profile);
  const tables = [
    functions,
    allocations,
    states,
    blocked,
    ...(heap === undefined ? [] : [heapTable(heap)]),
  ];
  const deadlocks = dump.deadlocks.length;
  const severity: Severity = deadlocks > 0 ? "high" : "info";
  const svg = profile.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
  const topAllocation = profile.topAllocations[0];
  return {
    title: title(
      `Java profile of ${run.target.pod} ${processLabel(process)}: ${
        deadlocks > 0 ? `${deadlocks} deadlock${deadlocks === 1 ? "" : "s"}, ` : ""
      }${headline(profile.topFunctions, "no execution samples (idle)")}`,
    ),
    severity,
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      deadlocks === 0
        ? "The JVM's deadlock detection found no deadlock."
        : `**The JVM found ${deadlocks} deadlock${deadlocks === 1 ? "" : "s"}**: these threads ` +
          "wait for each other and will never go on; restarting the process is the only way " +
          "out, and the lock order in the code below is what to fix.\n\n" +
          dump.deadlocks.map(deadlockText).join("\n\n"),
      `JFR recording (settings ${code(profile.settings)}) over ${
        seconds(profile.durationSeconds)
      }: ` +
        `${profile.samples} execution samples, ${profile.allocationSamples} allocation samples.`,
      leaderSentence(profile) ??
        "The recording has no execution samples: no Java thread ran Java code in the window " +
          "(they waited on I/O, locks or timers). The thread dump below shows where they wait.",
      markdownTable(functions),
      topAllocation === undefined
        ? ""
        : `${code(topAllocation.className)} takes ${percent(topAllocation.share)} of the sampled ` +
          `allocation${
            topAllocation.topSite === null ? "" : `, mostly in ${code(topAllocation.topSite)}`
          }.`,
      markdownTable(allocations),
      markdownTable(states),
      blocked.rows.length === 0 ? "" : markdownTable(blocked),
      heap === undefined ? "" : markdownTable(heapTable(heap)),
      svg === undefined
        ? ""
        : `The flamegraph is attached as ${code(svg.name)}; ${code("recording.jfr")} opens in ` +
          `JDK Mission Control (or ${code("jfr print")}) and ${
            code("threads.txt")
          } is the full dump.`,
    ),
    tables,
    attachments: [...dump.artifacts, ...profile.artifacts, ...(heap?.artifacts ?? [])],
  };
}

export default defineWorkflow({
  name: "java-profiler",
  description: "Thread dump (deadlocks, blocked threads) and a short JFR recording of a pod's " +
    "JVMs through their attach mechanism: hottest methods, a flamegraph, allocating classes.",
  triggers: [{ on: "manual" }],
  capabilities: [
    "k8s.read",
    "findings.report",
    "debug.processList",
    "debug.javaThreadDump",
    "debug.javaProfile",
    "debug.javaHeapHistogram",
  ],
  params: {
    ...TARGET_PARAMS,
    pid: {
      ...TARGET_PARAMS.pid,
      description: "The JVM to profile; every JVM when absent.",
    },
    process: {
      ...TARGET_PARAMS.process,
      description: "A regular expression (or plain text) matched against command lines: profile " +
        "the JVMs it matches.",
    },
    duration: {
      type: "integer",
      default: 10,
      minimum: 1,
      maximum: 300,
      description: "Seconds of JFR recording.",
    },
    heapHistogram: {
      type: "boolean",
      default: false,
      description: "Also count the live heap by class (the JVM runs a full GC first).",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "profile", pythonOnly: false, runtime: "jvm" });
    if (run === undefined) return;
    const { duration, heapHistogram } = ctx.params;
    await eachProcess(ctx, run, {
      verb: "profile",
      act: async (process) => {
        const dump = await ctx.debug.javaThreadDump(run.target.ref, { pid: process.pid });
        const profile = await ctx.debug.javaProfile(run.target.ref, { pid: process.pid, duration });
        const heap = heapHistogram
          ? await ctx.debug.javaHeapHistogram(run.target.ref, { pid: process.pid })
          : undefined;
        await ctx.report(javaFinding(run, process, { dump, profile, heap }));
      },
    });
  },
});
