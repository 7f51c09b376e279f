/**
 * `python-debugger`: makes a pod's Python processes listen for a debugger
 * (debugpy) on the pod's loopback interface and says how to attach from VS
 * Code: the `kubectl port-forward` command and a `launch.json`
 * configuration. debugpy stays listening until the process exits.
 *
 * With several Python processes each gets its own port, counting up from
 * `port`. Tuned by `workflows.podTroubleshooting.pythonDebugger`
 * (`defaultPort`); a manual run may override `port` and pick a process with
 * `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type ProcessInfo,
  type PythonDebuggerResult,
  type ReportOptions,
  type Table,
} from "@wfhost/sdk";
import {
  eachProcess,
  type Plan,
  plan,
  type PodTarget,
  processHeader,
  TARGET_PARAMS,
} from "./_common.ts";
import {
  code,
  codeBlock,
  markdownTable,
  processLabel,
  seconds,
  sections,
  title,
} from "./_markdown.ts";

const MAX_PORT = 65535;

/** The agent's command, with the pod filled in when it left placeholders. */
function portForward(target: PodTarget, result: PythonDebuggerResult): string {
  const command = result.portForwardCommand
    .replace("<namespace>", target.ref.namespace)
    .replace("pod/<pod>", `pod/${target.ref.name}`);
  return command.includes("<")
    ? `kubectl port-forward --namespace ${target.ref.namespace} pod/${target.ref.name} ` +
      `${result.port}:${result.port}`
    : command;
}

function launchFile(result: PythonDebuggerResult): string {
  return JSON.stringify({ version: "0.2.0", configurations: [result.launchJson] }, null, 2);
}

function debuggerTable(result: PythonDebuggerResult): Table {
  return {
    title: "Debugger",
    columns: ["pid", "listens on", "debugpy", "debugpy from", "started through"],
    rows: [[
      result.pid,
      `${result.host}:${result.port}`,
      result.debugpyVersion,
      result.debugpySource === "target" ? "the process's own copy" : "the debug agent's copy",
      `gdb (${result.injection.strategy})`,
    ]],
  };
}

function debuggerFinding(
  run: Plan,
  process: ProcessInfo,
  result: PythonDebuggerResult,
): ReportOptions {
  const forward = portForward(run.target, result);
  const table = debuggerTable(result);
  const launch = launchFile(result);
  return {
    title: title(
      `Debugger listening in ${run.target.pod} ${processLabel(process)} on port ${result.port}`,
    ),
    severity: "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      `debugpy ${result.debugpyVersion} now listens on ${
        code(`${result.host}:${result.port}`)
      } inside the pod.`,
      "### Attach from VS Code",
      `1. Forward the port to your machine (keep it running):\n\n${codeBlock(forward, "sh")}`,
      "2. Add this configuration to `.vscode/launch.json` (attached as `launch.json`) and " +
        `start it:\n\n${codeBlock(launch, "json")}`,
      markdownTable(table),
      "### Good to know\n\n" + [
        "- debugpy keeps listening until the process exits; a restart of the container ends it.",
        "- It listens on the pod's loopback interface only: nothing else on the pod network can " +
        "reach it, but anyone allowed to port-forward to the pod can, and a debugger can run " +
        "any code in the process.",
        "- While paused at a breakpoint the process serves nothing: liveness probes may fail " +
        "and restart the container.",
        `- Starting debugpy paused the process for at most ${
          seconds(result.injection.gdbSeconds)
        }.`,
      ].join("\n"),
    ),
    tables: [table],
    attachments: [{ name: "launch.json", mediaType: "application/json", text: launch }],
  };
}

export default defineWorkflow({
  name: "python-debugger",
  description: "Makes a pod's Python processes listen for debugpy and says how to attach " +
    "(kubectl port-forward, VS Code launch.json).",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.pythonDebugger"],
  params: {
    ...TARGET_PARAMS,
    port: {
      type: "integer",
      default: 5678,
      minimum: 1024,
      maximum: MAX_PORT,
      description: "The port debugpy listens on in the pod (the next ones for further processes).",
    },
  },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "debug", pythonOnly: true });
    if (run === undefined) return;
    const { port } = ctx.params;
    if (port + run.chosen.length - 1 > MAX_PORT) {
      throw new Error(
        `Ports ${port} to ${port + run.chosen.length - 1} are needed for ` +
          `${run.chosen.length} processes, past ${MAX_PORT}: pass a lower port or one pid`,
      );
    }
    await eachProcess(ctx, run, {
      verb: "start a debugger in",
      act: async (process, index) => {
        const result = await ctx.debug.pythonDebugger(run.target.ref, {
          pid: process.pid,
          port: port + index,
        });
        await ctx.report(debuggerFinding(run, process, result));
      },
    });
  },
});
