/**
 * What every pod-troubleshooting built-in does before and around its action:
 * find the pod and container the event is about, list the container's
 * processes, pick the ones of the workflow's runtime (all of them, or the one
 * asked for by `pid` or `process`), run the action on each, and turn a
 * process-level failure (it exited, it is already being debugged, it serves
 * no pprof) into a finding rather than a failed run. Anything the workflow
 * cannot act on is reported as a clear finding too: no process of its
 * runtime, a pid that is not in the pod. Which processes qualify is decided
 * in `_select.ts`.
 *
 * @module
 */

import {
  type Context,
  type DebugTarget,
  type FindingSubject,
  podRefOf,
  type ProcessInfo,
  type ProcessListResult,
  type Runtime,
  type Severity,
  UpstreamError,
  type WorkflowEvent,
} from "@wfhost/sdk";
import {
  code,
  command,
  markdownTable,
  processLabel,
  processTable,
  sections,
  title,
} from "./_markdown.ts";
import { selectProcesses, type TargetParams, withoutDebugAgent } from "./_select.ts";

export { MAX_PROCESSES, TARGET_PARAMS, type TargetParams } from "./_select.ts";

/** How findings name a runtime. */
const RUNTIME_LABELS: Readonly<Record<Exclude<Runtime, "native" | "python">, string>> = {
  go: "Go",
  jvm: "JVM",
  node: "Node.js",
};

/** How many processes are acted on at the same time. */
const CONCURRENCY = 4;

/** A context whatever the workflow's params. */
export type AnyContext = Context<unknown>;

/** The container a run acts on. */
export interface PodTarget {
  /** What the debug actions are sent, with the container always named. */
  readonly ref: DebugTarget & { readonly container: string };
  /** `namespace/name`. */
  readonly pod: string;
  /** `namespace/name (container c)`, for sentences. */
  readonly where: string;
  /** The finding subject. */
  readonly subject: FindingSubject;
}

/** The processes a run acts on, and why those. */
export interface Plan {
  readonly target: PodTarget;
  /** Every process in the container (the debug agent's own left out). */
  readonly all: readonly ProcessInfo[];
  /** The ones to act on. */
  readonly chosen: readonly ProcessInfo[];
  /** One sentence saying why these, for each finding's body. */
  readonly why: string;
  /** Remarks about the listing (hidden agent processes, a limited scope). */
  readonly notes: readonly string[];
}

function alertPod(event: WorkflowEvent): DebugTarget | undefined {
  if (event.kind !== "alert") return undefined;
  const { namespace, pod, container } = event.alert.labels;
  if (namespace === undefined || pod === undefined) return undefined;
  return container === undefined ? { namespace, name: pod } : { namespace, name: pod, container };
}

function eventPodContainers(event: WorkflowEvent, ref: DebugTarget): readonly string[] | undefined {
  const pod = "pod" in event ? event.pod : undefined;
  if (pod === undefined || pod.namespace !== ref.namespace || pod.name !== ref.name) {
    return undefined;
  }
  return pod.containers.map((container) => container.name);
}

/**
 * The pod and container an event is about: a manual run's target, the pod of
 * a pod event, or the `namespace`/`pod`/`container` labels of an alert.
 * Without a container, the pod's first one (as the host would pick).
 *
 * @param ctx The run's context (reads the pod when the event does not carry it).
 * @param event The event.
 * @returns The target.
 * @throws {Error} When the event names no pod.
 */
export async function resolveTarget(ctx: AnyContext, event: WorkflowEvent): Promise<PodTarget> {
  const ref = podRefOf(event) ?? alertPod(event);
  if (ref === undefined) {
    throw new Error(
      `This workflow acts on a pod, and the ${event.kind} event names none: trigger it on a pod`,
    );
  }
  let container = ref.container;
  if (container === undefined) {
    const names = eventPodContainers(event, ref) ??
      (await ctx.k8s.getPod(ref)).containers.map((entry) => entry.name);
    container = names[0];
    if (container === undefined) {
      throw new Error(`Pod ${ref.namespace}/${ref.name} has no containers`);
    }
  }
  const pod = `${ref.namespace}/${ref.name}`;
  return {
    ref: { namespace: ref.namespace, name: ref.name, container },
    pod,
    where: `${pod} (container ${container})`,
    subject: { namespace: ref.namespace, name: ref.name, kind: "Pod" },
  };
}

/**
 * Lists the container's processes through the debug agent.
 *
 * @param ctx The run's context.
 * @param target The container.
 * @returns The listing without the agent's processes, and remarks about it.
 */
export async function listProcesses(
  ctx: AnyContext,
  target: PodTarget,
): Promise<{ readonly processes: readonly ProcessInfo[]; readonly notes: readonly string[] }> {
  const listing: ProcessListResult = await ctx.debug.processList(target.ref);
  const { processes, hidden } = withoutDebugAgent(listing.processes);
  const notes: string[] = [];
  if (hidden > 0) {
    notes.push(
      `${hidden} process${
        hidden === 1 ? " of the debug agent is" : "es of the debug agent are"
      } left out.`,
    );
  }
  if (listing.scopePid !== null) {
    notes.push(
      `The agent sees process ${listing.scopePid} and its descendants only (a local cluster).`,
    );
  }
  return { processes, notes };
}

/**
 * The finding for a pod the debug agent cannot reach: Pod Security refused
 * the debug container (`debug.mechanism: ephemeralContainer`, or a node pod
 * refused too). The message is the host's, naming the server's words.
 *
 * @param target The container.
 * @param action What the workflow would have done.
 * @param error The refusal.
 * @returns The finding.
 */
function podSecurityFinding(
  target: PodTarget,
  action: string,
  error: UpstreamError,
): Parameters<AnyContext["report"]>[0] {
  return {
    title: title(`Cannot ${action} ${target.pod}: Pod Security rejected the debug container`),
    severity: "medium",
    subject: target.subject,
    body: sections(
      `**What happened:** ${error.message} (\`pod_security\`).`,
      "With `debug.mechanism: auto` wfhost runs the agent from a short-lived pod on the " +
        "target's node in its own namespace instead (see docs/debugging.md).",
    ),
  };
}

/**
 * Finds the target, lists its processes and picks the ones to act on. When
 * there is nothing to act on, reports a finding saying why and returns
 * `undefined`.
 *
 * @param ctx The run's context.
 * @param event The event.
 * @param options `action` names what the workflow does, for the finding;
 *   `pythonOnly` whether only Python processes qualify (or `runtime`, the
 *   one runtime that does); `limit` as in {@linkcode selectProcesses}.
 * @returns The plan, or `undefined` when a finding already said why not.
 */
export async function plan(
  ctx: AnyContext,
  event: WorkflowEvent,
  options: {
    readonly action: string;
    readonly pythonOnly: boolean;
    readonly runtime?: Exclude<Runtime, "native">;
    readonly limit?: number;
  },
): Promise<Plan | undefined> {
  const target = await resolveTarget(ctx, event);
  let listing: Awaited<ReturnType<typeof listProcesses>>;
  try {
    listing = await listProcesses(ctx, target);
  } catch (error) {
    if (!(error instanceof UpstreamError) || error.reason !== "pod_security") throw error;
    await ctx.report(podSecurityFinding(target, options.action, error));
    return undefined;
  }
  const { processes, notes } = listing;
  const params = ctx.params as TargetParams;
  const selection = selectProcesses(processes, params, {
    pythonOnly: options.pythonOnly,
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    where: target.where,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  if (selection.ok) {
    ctx.log.info(
      "%s: %s in %s",
      options.action,
      selection.chosen.map(processLabel).join(", "),
      target.where,
    );
    return { target, all: processes, chosen: selection.chosen, why: selection.why, notes };
  }
  const table = processTable(processes, `Processes in ${target.where}`);
  await ctx.report({
    title: title(selection.title),
    severity: selection.severity,
    subject: target.subject,
    body: sections(
      `Nothing to ${options.action}. ${selection.why}`,
      notes.join(" "),
      markdownTable(table),
    ),
    tables: [table],
  });
  return undefined;
}

/** Agent error reasons that concern one process, not the workflow or the cluster. */
const PROCESS_REASONS: Readonly<
  Record<string, { readonly severity: Severity; readonly hint: string }>
> = {
  "process_exited": {
    severity: "low",
    hint: "The process ended while the action ran; if the container restarted, run again.",
  },
  "no_such_process": {
    severity: "low",
    hint: "The process ended between the listing and the action; run again.",
  },
  "not_python": { severity: "low", hint: "The process is not a CPython interpreter." },
  "wrong_runtime": {
    severity: "low",
    hint: "The process runs another runtime than this workflow's (see pod-process-list).",
  },
  "pprof_unavailable": {
    severity: "low",
    hint: "The Go program serves no net/http/pprof, which the profile and goroutine dump come " +
      'from. Add `import _ "net/http/pprof"` to its main package and serve it on a local port, ' +
      'e.g. `go http.ListenAndServe("localhost:6060", nil)`; pass `port` when it is not found ' +
      "by probing.",
  },
  "inspector_unavailable": {
    severity: "low",
    hint: "Node.js did not open its inspector on SIGUSR1: the process may handle SIGUSR1 " +
      "itself, run with `--disable-sigusr1`, or port 9229 may be taken in the pod. Starting it " +
      "with `--inspect=127.0.0.1:9229` and passing `port` works too.",
  },
  "attach_unavailable": {
    severity: "low",
    hint: "The JVM refused its attach mechanism, which the thread dump, the heap histogram and " +
      "the JFR recording go through: it runs with `-XX:+DisableAttachMechanism` (drop it), " +
      "without SIGQUIT handling (`-Xrs`) and lost its socket, or it was too busy to answer.",
  },
  "protocol_error": {
    severity: "low",
    hint: "The process's diagnostics endpoint answered something the agent could not read.",
  },
  "out_of_scope": {
    severity: "low",
    hint: "The process is outside what the debug agent may act on.",
  },
  "target_busy": {
    severity: "low",
    hint: "Another debugger or wfhost action is attached to it; run again when that has finished.",
  },
  "ptrace_denied": {
    severity: "medium",
    hint: "The kernel refused to let the debug container trace it: it needs the SYS_PTRACE " +
      "capability, and the node's ptrace scope (kernel.yama.ptrace_scope) must allow it.",
  },
  "already_debugging": {
    severity: "low",
    hint: "debugpy already listens in this process (from an earlier python-debugger run): " +
      "connect to that port; it listens until the process exits.",
  },
  "port_in_use": {
    severity: "low",
    hint: "Something in the pod already listens on that port: run again with another `port`.",
  },
};

function processFailure(
  error: unknown,
): {
  readonly error: UpstreamError;
  readonly reason: string;
  readonly severity: Severity;
  readonly hint: string;
} | undefined {
  if (!(error instanceof UpstreamError) || error.reason === undefined) return undefined;
  const known = PROCESS_REASONS[error.reason];
  return known === undefined ? undefined : { error, reason: error.reason, ...known };
}

/**
 * Runs `act` on each chosen process (a few at a time). A failure that
 * concerns one process (it exited, it is busy, it is already being debugged)
 * is reported as a finding and the others go on; any other failure fails the
 * run once every process is done.
 *
 * @param ctx The run's context.
 * @param plan The plan.
 * @param options `verb` for the failure finding's title (e.g. `profile`);
 *   `act` does the work and reports for one process.
 */
export async function eachProcess(
  ctx: AnyContext,
  plan: Plan,
  options: {
    readonly verb: string;
    readonly act: (process: ProcessInfo, index: number) => Promise<void>;
  },
): Promise<void> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.chosen.length) {
      const index = next++;
      const process = plan.chosen[index];
      if (process === undefined) return;
      try {
        await options.act(process, index);
      } catch (error) {
        const known = processFailure(error);
        if (known === undefined) {
          failures.push(error);
          continue;
        }
        ctx.log.warn(
          "could not %s %s: %s",
          options.verb,
          processLabel(process),
          known.error.message,
        );
        await ctx.report({
          title: title(
            `Could not ${options.verb} ${plan.target.pod} ${
              processLabel(process)
            }: ${known.error.message}`,
          ),
          severity: known.severity,
          subject: plan.target.subject,
          body: sections(
            `**Process:** pid ${process.pid}, ${
              code(command(process, 500))
            } in ${plan.target.where}`,
            `**Why this process:** ${plan.why}`,
            `**What happened:** ${known.error.message} (\`${known.reason}\`).`,
            known.hint,
          ),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, plan.chosen.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/**
 * The lines every per-process finding starts with: pod, process and why it
 * was chosen.
 *
 * @param plan The plan.
 * @param process The process the finding is about.
 * @returns Markdown.
 */
export function processHeader(plan: Plan, process: ProcessInfo): string {
  const python = process.pythonVersion !== null
    ? `Python ${process.pythonVersion}, `
    : process.runtime === "native" || process.runtime === "python"
    ? ""
    : `${RUNTIME_LABELS[process.runtime]}${
      process.runtimeVersion === null ? "" : ` ${process.runtimeVersion}`
    }, `;
  return [
    `**Pod:** ${code(plan.target.pod)}, container ${code(plan.target.ref.container)}  `,
    `**Process:** pid ${process.pid}, ${code(command(process, 500))} (${python}` +
    `${process.cpuPercent}% CPU, ${process.threads} thread${process.threads === 1 ? "" : "s"})  `,
    `**Why this process:** ${plan.why}`,
  ].join("\n");
}
