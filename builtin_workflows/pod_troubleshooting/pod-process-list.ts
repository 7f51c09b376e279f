/**
 * `pod-process-list`: lists the processes of a pod's container, each with its
 * runtime (Python, Go, JVM, Node.js, native), so the other built-ins can be
 * pointed at the right `pid`. Nothing attaches to any process.
 *
 * Switched on by `workflows.podTroubleshooting.podProcessList`; `pid` or
 * `process` narrow the listing.
 *
 * @module
 */

import { defineWorkflow, type ProcessInfo } from "@wfhost/sdk";
import { plan, TARGET_PARAMS } from "./_common.ts";
import {
  bytes,
  code,
  command,
  markdownTable,
  processLabel,
  processTable,
  sections,
  title,
} from "./_markdown.ts";

/** The other built-ins, suggested for each Python process. */
const NEXT_STEPS = ["python-profiler", "debugger-stack-trace", "python-process-inspector"];

/** The built-in for each other runtime's processes. */
const RUNTIME_STEPS: Readonly<
  Record<string, { readonly label: string; readonly workflow?: string }>
> = {
  go: { label: "Go", workflow: "go-profiler" },
  node: { label: "Node.js", workflow: "node-profiler" },
  jvm: { label: "JVM", workflow: "java-profiler" },
};

function otherRuntimes(pod: string, container: string, processes: readonly ProcessInfo[]): string {
  const lines = processes.flatMap((process) => {
    const step = RUNTIME_STEPS[process.runtime];
    if (step === undefined) return [];
    const version = process.runtimeVersion === null ? "" : ` ${process.runtimeVersion}`;
    const next = step.workflow === undefined ? "" : `: ${
      code(
        `wfhost trigger ${step.workflow} --pod ${pod} --container ${container} --param pid=${process.pid}`,
      )
    }`;
    return [`- pid ${process.pid}, ${code(command(process, 200))}: ${step.label}${version}${next}`];
  });
  return lines.length === 0 ? "" : `### Other runtimes\n\n${lines.join("\n")}`;
}

function pythonSummary(pythons: readonly ProcessInfo[]): string {
  if (pythons.length === 0) return "";
  if (pythons.length === 1 && pythons[0] !== undefined) {
    return `, 1 Python: ${processLabel(pythons[0])}`;
  }
  return `, ${pythons.length} Python (pids ${pythons.map((p) => p.pid).join(", ")})`;
}

function nextSteps(pod: string, container: string, pythons: readonly ProcessInfo[]): string {
  if (pythons.length === 0) {
    return "No process here is a CPython interpreter, so the Python built-ins have nothing to " +
      "act on in this container.";
  }
  const lines = pythons.map((process) =>
    `- pid ${process.pid}, ${code(command(process, 200))}: Python ${
      process.pythonVersion ?? "?"
    }, ${bytes(process.rssBytes)} resident, ${process.cpuPercent}% CPU.`
  );
  const example = pythons[0];
  const hint = example === undefined ? "" : `For example: ${
    code(
      `wfhost trigger ${
        NEXT_STEPS[0]
      } --pod ${pod} --container ${container} --param pid=${example.pid}`,
    )
  } (or ${NEXT_STEPS.slice(1).map(code).join(", ")}).`;
  return sections(`### Python processes\n\n${lines.join("\n")}`, hint);
}

export default defineWorkflow({
  name: "pod-process-list",
  description: "The processes of a pod's container, each with its runtime (Python, Go, JVM, " +
    "Node.js).",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList"],
  params: { ...TARGET_PARAMS },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "list", pythonOnly: false, limit: Infinity });
    if (run === undefined) return;
    const { target, all, chosen } = run;
    const narrowed = chosen.length !== all.length;
    const pythons = chosen.filter((process) => process.python);
    const table = processTable(chosen, `Processes in ${target.where}`);
    const count = `${chosen.length} process${chosen.length === 1 ? "" : "es"}`;
    await ctx.report({
      title: title(
        `${count} in ${target.where}${narrowed ? ` (of ${all.length})` : ""}${
          pythonSummary(pythons)
        }`,
      ),
      severity: "info",
      subject: target.subject,
      body: sections(
        `**Pod:** ${code(target.pod)}, container ${code(target.ref.container)}`,
        narrowed ? `Showing ${count} of ${all.length}: ${run.why}` : "",
        run.notes.join(" "),
        markdownTable(table),
        nextSteps(target.pod, target.ref.container, pythons),
        otherRuntimes(target.pod, target.ref.container, chosen),
      ),
      tables: [table],
    });
  },
});
