/**
 * `python-process-inspector`: reads, from inside a pod's Python processes,
 * the interpreter's version and build, the packages and standard-library
 * modules loaded (with distributions and versions), the threads, open files
 * and sockets, and the names (never the values) of the environment
 * variables, plus the agent's warnings. The process pauses for about a
 * second while gdb runs the probe in it.
 *
 * Switched on by `workflows.podTroubleshooting.pythonProcessInspector`; a
 * manual run may pick a process with `pid` or `process`.
 *
 * @module
 */

import {
  defineWorkflow,
  type ProcessInfo,
  type PythonInspectResult,
  type ReportOptions,
  type Table,
} from "@wfhost/sdk";
import { eachProcess, type Plan, plan, processHeader, TARGET_PARAMS } from "./_common.ts";
import { code, markdownTable, processLabel, seconds, sections, title } from "./_markdown.ts";

function interpreterTable(result: PythonInspectResult): Table {
  const { interpreter } = result;
  return {
    title: "Interpreter",
    columns: ["property", "value"],
    rows: [
      ["version", interpreter.version],
      ["implementation", interpreter.implementation],
      ["executable", interpreter.executable],
      ["prefix", interpreter.prefix],
      ["debug build", interpreter.debugBuild ? "yes" : "no"],
      ["platform", interpreter.platform],
    ],
  };
}

function modulesTable(result: PythonInspectResult): Table {
  return {
    title: "Packages loaded (outside the standard library)",
    columns: ["module", "distribution", "version", "path"],
    rows: result.modules.map((
      module,
    ) => [module.name, module.distribution, module.version, module.path]),
  };
}

function threadsTable(result: PythonInspectResult): Table {
  return {
    title: "Threads",
    columns: ["name", "ident", "OS thread", "daemon"],
    rows: result.threads.map((
      thread,
    ) => [thread.name, thread.ident, thread.nativeId, thread.daemon ? "yes" : "no"]),
  };
}

function filesTable(result: PythonInspectResult): Table {
  return {
    title: "Open files",
    columns: ["fd", "path"],
    rows: result.openFiles.map((file) => [file.fd, file.path]),
  };
}

function socketsTable(result: PythonInspectResult): Table {
  return {
    title: "Sockets",
    columns: ["fd", "family", "type", "local", "remote", "status"],
    rows: result.sockets.map((socket) => [
      socket.fd,
      socket.family,
      socket.type,
      socket.localAddress,
      socket.remoteAddress,
      socket.status,
    ]),
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function inspectFinding(
  run: Plan,
  process: ProcessInfo,
  result: PythonInspectResult,
): ReportOptions {
  const warnings = result.warnings;
  const modules = modulesTable(result);
  const interpreter = interpreterTable(result);
  const threads = threadsTable(result);
  const files = filesTable(result);
  const sockets = socketsTable(result);
  const counts = [
    plural(result.modules.length, "package"),
    plural(result.threads.length, "thread"),
    ...(warnings.length > 0 ? [plural(warnings.length, "warning")] : []),
  ].join(", ");
  const { implementation, version } = result.interpreter;
  return {
    title: title(
      `${implementation} ${version} in ${run.target.pod} ${processLabel(process)}: ${counts}`,
    ),
    severity: warnings.length > 0 ? "low" : "info",
    subject: run.target.subject,
    body: sections(
      processHeader(run, process),
      warnings.length > 0
        ? `### Warnings\n\n${
          warnings.map((warning) => `- **${warning.code}**: ${warning.message}`).join("\n")
        }`
        : "The agent found nothing to warn about.",
      markdownTable(interpreter),
      markdownTable(modules),
      `### Standard-library modules loaded (${result.stdlibModules.length})\n\n${
        result.stdlibModules.map(code).join(", ") || "_(none)_"
      }`,
      markdownTable(threads),
      markdownTable(files),
      markdownTable(sockets),
      `### Environment variables (${result.environmentNames.length}, names only)\n\n${
        result.environmentNames.map(code).join(", ") || "_(none)_"
      }`,
      `Read from inside the process through gdb (${result.injection.strategy}); the process ` +
        `was paused for at most ${seconds(result.injection.gdbSeconds)}.`,
    ),
    tables: [modules, interpreter, threads, files, sockets],
  };
}

export default defineWorkflow({
  name: "python-process-inspector",
  description: "Interpreter, loaded packages and modules, threads, files, sockets and warnings " +
    "of a pod's Python processes.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList", "debug.pythonInspect"],
  params: { ...TARGET_PARAMS },
  async run(ctx, event) {
    const run = await plan(ctx, event, { action: "inspect", pythonOnly: true });
    if (run === undefined) return;
    await eachProcess(ctx, run, {
      verb: "inspect",
      act: async (process) => {
        const result = await ctx.debug.pythonInspect(run.target.ref, { pid: process.pid });
        await ctx.report(inspectFinding(run, process, result));
      },
    });
  },
});
