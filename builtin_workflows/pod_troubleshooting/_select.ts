/**
 * How the pod-troubleshooting built-ins pick the processes to act on: the
 * debug agent's own processes never count; `pid` picks one process, `process`
 * the ones whose command line matches; without either, every process of the
 * workflow's runtime (Python, Go, Node.js; the busiest few when there are
 * many). Pure functions of the listing, so unit tests can pin the rules down.
 *
 * @module
 */

import type { ParamSpecs, ProcessInfo, Runtime, Severity } from "@wfhost/sdk";
import { processLabel } from "./_markdown.ts";

/** Params every built-in takes to pick its process. */
export const TARGET_PARAMS = {
  pid: {
    type: "integer",
    minimum: 1,
    description: "The process to act on (see pod-process-list); every Python process when absent.",
  },
  process: {
    type: "string",
    description:
      "A regular expression (or plain text) matched against command lines: act on the Python processes it matches.",
  },
} as const satisfies ParamSpecs;

/** The values of {@linkcode TARGET_PARAMS}. */
export interface TargetParams {
  readonly pid?: number;
  readonly process?: string;
}

/** How sentences name the processes of a runtime, and what one of them is. */
export const RUNTIME_WORDS: Readonly<
  Record<Exclude<Runtime, "native">, { readonly noun: string; readonly is: string }>
> = {
  python: { noun: "Python process", is: "a CPython interpreter" },
  go: { noun: "Go process", is: "a Go program" },
  jvm: { noun: "JVM process", is: "a Java virtual machine" },
  node: { noun: "Node.js process", is: "a Node.js process" },
};

/** At most this many processes are acted on in one run; the busiest are kept. */
export const MAX_PROCESSES = 8;

/** What `selectProcesses` decided. */
export type Selection =
  | { readonly ok: true; readonly chosen: readonly ProcessInfo[]; readonly why: string }
  | {
    readonly ok: false;
    readonly title: string;
    readonly why: string;
    readonly severity: Severity;
  };

function isAgentCommand(cmdline: readonly string[]): boolean {
  const base = (arg: string | undefined) => (arg ?? "").split("/").pop() ?? "";
  if (base(cmdline[0]) === "wfhost-agent" || base(cmdline[1]) === "wfhost-agent") return true;
  return cmdline[1] === "-m" && cmdline[2] === "host.agent";
}

/**
 * Leaves out the debug agent (its `wait` process and any action running) and
 * every process it started: in a pod they share the container's pid
 * namespace and would look like the application's Python processes.
 *
 * @param processes The listing.
 * @returns The application's processes and how many were left out.
 */
export function withoutDebugAgent(
  processes: readonly ProcessInfo[],
): { readonly processes: readonly ProcessInfo[]; readonly hidden: number } {
  const agents = new Set(processes.filter((p) => isAgentCommand(p.cmdline)).map((p) => p.pid));
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  const isHidden = (pid: number): boolean => {
    const seen = new Set<number>();
    for (
      let current: number | undefined = pid;
      current !== undefined;
      current = parent.get(current)
    ) {
      if (agents.has(current)) return true;
      if (seen.has(current)) return false;
      seen.add(current);
    }
    return false;
  };
  const kept = processes.filter((p) => !isHidden(p.pid));
  return { processes: kept, hidden: processes.length - kept.length };
}

function matcher(pattern: string): (process: ProcessInfo) => boolean {
  let regex: RegExp | undefined;
  try {
    regex = new RegExp(pattern);
  } catch {
    regex = undefined; // not a valid expression: match it as plain text
  }
  return (process) => {
    const line = process.cmdline.join(" ") || (process.exe ?? "");
    return regex === undefined ? line.includes(pattern) : regex.test(line);
  };
}

function busiest(processes: readonly ProcessInfo[], limit: number): readonly ProcessInfo[] {
  if (processes.length <= limit) return processes;
  return [...processes].sort((a, b) => b.cpuPercent - a.cpuPercent || a.pid - b.pid)
    .slice(0, limit).sort((a, b) => a.pid - b.pid);
}

function capped(processes: readonly ProcessInfo[], why: string, limit: number): Selection {
  const chosen = busiest(processes, limit);
  if (chosen.length === processes.length) return { ok: true, chosen, why };
  return {
    ok: true,
    chosen,
    why: `${why} Only the ${chosen.length} busiest of the ${processes.length} are handled in one ` +
      "run; pass `pid` or `process` to pick others.",
  };
}

/**
 * Picks the processes to act on.
 *
 * @param processes Every process in the container.
 * @param params `pid` wins over `process`; with neither, every candidate.
 * @param options `runtime`: only processes of that runtime are candidates
 *   (`pythonOnly` is `runtime: "python"`); `where` names the container in
 *   sentences; `limit` caps how many are chosen ({@linkcode MAX_PROCESSES}
 *   when absent), keeping the busiest.
 * @returns The chosen processes with the reason, or why there are none.
 */
export function selectProcesses(
  processes: readonly ProcessInfo[],
  params: TargetParams,
  options: {
    readonly pythonOnly?: boolean;
    readonly runtime?: Exclude<Runtime, "native">;
    readonly where: string;
    readonly limit?: number;
  },
): Selection {
  const { where, limit = MAX_PROCESSES } = options;
  const runtime = options.runtime ?? (options.pythonOnly === true ? "python" : undefined);
  const words = runtime === undefined ? undefined : RUNTIME_WORDS[runtime];
  const kind = words?.noun ?? "process";
  const ofRuntime = (process: ProcessInfo): boolean =>
    runtime === undefined || (runtime === "python" ? process.python : process.runtime === runtime);
  if (params.pid !== undefined) {
    const pid = params.pid;
    const found = processes.find((process) => process.pid === pid);
    if (found === undefined) {
      const pids = processes.map((process) => process.pid).join(", ") || "none";
      return {
        ok: false,
        severity: "low",
        title: `No process ${pid} in ${where}`,
        why: `\`pid=${pid}\` was asked for, but the container has no such process ` +
          `(its processes: ${pids}). Pids differ between containers and change on restart.`,
      };
    }
    if (words !== undefined && !ofRuntime(found)) {
      if (runtime === "python") {
        return {
          ok: false,
          severity: "low",
          title: `Process ${processLabel(found)} in ${where} is not Python`,
          why: `\`pid=${pid}\` was asked for, but it is not a CPython interpreter, so there is ` +
            "nothing to do. Pick a process with a Python version in the table below.",
        };
      }
      return {
        ok: false,
        severity: "low",
        title: `Process ${processLabel(found)} in ${where} is not a ${kind}`,
        why: `\`pid=${pid}\` was asked for, but it is ${runtimeOf(found)}, not ${words.is}, so ` +
          `there is nothing to do. Pick a process whose runtime is ${runtime} in the table below.`,
      };
    }
    const ignored = params.process === undefined
      ? ""
      : ` (\`process\` is ignored when \`pid\` is given)`;
    return { ok: true, chosen: [found], why: `\`pid=${pid}\` was asked for${ignored}.` };
  }
  const candidates = processes.filter(ofRuntime);
  if (params.process !== undefined) {
    const pattern = params.process;
    const matches = processes.filter(matcher(pattern));
    const chosen = candidates.filter((process) => matches.includes(process));
    if (chosen.length === 0) {
      const some = matches.length > 0;
      return {
        ok: false,
        severity: "low",
        title: some
          ? `No ${kind} in ${where} matches ${JSON.stringify(pattern)}`
          : `No process in ${where} matches ${JSON.stringify(pattern)}`,
        why: some
          ? `\`process=${pattern}\` matches ${matches.map(processLabel).join(", ")}, ` +
            `but none of them is ${words?.is ?? "one to act on"}.`
          : `\`process=${pattern}\` matches no command line in the container.`,
      };
    }
    const of = `${chosen.length} of ${candidates.length} ${kind}es`;
    return capped(
      chosen,
      chosen.length === 1
        ? `Its command line matches \`process=${pattern}\` (1 of ${candidates.length} ${kind}${
          candidates.length === 1 ? "" : "es"
        } in the container).`
        : `Their command lines match \`process=${pattern}\` (${of} in the container); each gets its own finding.`,
      limit,
    );
  }
  if (candidates.length === 0) {
    return {
      ok: false,
      severity: "info",
      title: `No ${kind} in ${where}`,
      why: `The container runs ${processes.length} process${processes.length === 1 ? "" : "es"}, ` +
        `none of them ${words?.is ?? "one to act on"}, so there is nothing to do here. ` +
        "If the application runs in another container of the pod, name it as the target's container." +
        (runtime === "python" ? "" : ` Runtimes seen: ${runtimesSeen(processes)}.`),
    };
  }
  if (candidates.length === 1) {
    return {
      ok: true,
      chosen: candidates,
      why: `It is the only ${kind} in the container.`,
    };
  }
  return capped(
    candidates,
    `It is one of the ${candidates.length} ${kind}es in the container, which are all handled, ` +
      "each in its own finding; pass `pid` or `process` to pick one.",
    limit,
  );
}

function runtimeOf(process: ProcessInfo): string {
  const version = process.runtimeVersion === null ? "" : ` ${process.runtimeVersion}`;
  return process.runtime === "native"
    ? "a native program"
    : `a ${process.runtime}${version} process`;
}

function runtimesSeen(processes: readonly ProcessInfo[]): string {
  const counts = new Map<string, number>();
  for (const process of processes) {
    counts.set(process.runtime, (counts.get(process.runtime) ?? 0) + 1);
  }
  return [...counts].map(([runtime, count]) => `${runtime} ${count}`).join(", ") || "none";
}
