/**
 * `restart-loop-reporter`: says why a container crash-loops, in one finding
 * per workload and episode: the exit code and signal decoded, the last
 * termination reason, the log line that most likely says why, the previous
 * and current runs' log tails, the restart timeline, recent events, the
 * owner workload and every replica crashing the same way.
 *
 * Switched on by `workflows.podEnrichment.restartLoopReporter`; `tailLines`
 * sets the log lines shown, `groupSeconds` how long after the crash loop
 * began to wait before listing the workload's other crash-looping pods (so
 * replicas failing together are named in the one finding; the host
 * deduplicates the other replicas' runs by the finding's `dedupeKey`).
 * The analysis is in `_restart_loop.ts`.
 *
 * @module
 */

import {
  type CallOptions,
  CapabilityDeniedError,
  type Context,
  defineWorkflow,
  type K8sEvent,
  type KubeObject,
  NotFoundError,
  podRefOf,
  type V1Pod,
  type WorkflowEvent,
} from "@wfhost/sdk";
import {
  controllerPods,
  explanationFinding,
  lastTermination,
  WORKLOAD_KINDS,
  workloadOf,
} from "@wfhost/sdk/explain.ts";
import { analyzeRestartLoop } from "./_restart_loop.ts";

/** How long one read may take before the finding goes without it. */
const READ_TIMEOUT_MS = 10_000;

function why(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function timeout(): CallOptions {
  return { signal: AbortSignal.timeout(READ_TIMEOUT_MS) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The container that crash-loops: the event's, or the one waiting in CrashLoopBackOff. */
function crashingContainer(pod: V1Pod, named: string | undefined): string | undefined {
  if (named !== undefined) return named;
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  return (statuses.find((s) => s.state?.waiting?.reason === "CrashLoopBackOff") ??
    statuses.find((s) => s.restartCount > 0))?.name;
}

/** A sibling crashes the same way: its last termination has the same exit code and reason. */
function crashesLike(pod: V1Pod, other: V1Pod, container: string): boolean {
  if (other.metadata?.deletionTimestamp !== undefined) return false;
  const ours = lastTermination(pod, container)?.record;
  const theirs = lastTermination(other, container)?.record;
  if (ours === undefined || theirs === undefined) {
    return [...(other.status?.containerStatuses ?? [])].some((s) =>
      s.name === container && s.state?.waiting?.reason === "CrashLoopBackOff"
    );
  }
  return ours.exitCode === theirs.exitCode && (ours.reason ?? "") === (theirs.reason ?? "");
}

async function siblingsOf(
  ctx: Context<unknown>,
  pod: V1Pod,
  owners: readonly KubeObject[],
  container: string,
  notes: string[],
): Promise<V1Pod[]> {
  const found = await controllerPods(ctx.k8s, pod, owners, timeout());
  notes.push(...found.notes);
  return found.pods.filter((other) =>
    other.metadata?.name === pod.metadata?.name || crashesLike(pod, other, container)
  );
}

async function readLog(
  ctx: Context<unknown>,
  pod: { namespace: string; name: string },
  container: string,
  previous: boolean,
  tailLines: number,
  notes: string[],
): Promise<string> {
  try {
    return await ctx.k8s.podLogs(pod, {
      container,
      previous,
      tailLines,
      limitBytes: 256 << 10,
      ...timeout(),
    });
  } catch (error) {
    notes.push(`the ${previous ? "previous" : "current"} run's log: ${why(error)}`);
    return "";
  }
}

async function readEvents(
  ctx: Context<unknown>,
  subject: { namespace: string; name: string },
  notes: string[],
): Promise<K8sEvent[]> {
  try {
    return await ctx.k8s.events({ ...subject, kind: "Pod" }, timeout());
  } catch (error) {
    notes.push(`the pod's events: ${why(error)}`);
    return [];
  }
}

async function ownersOf(
  ctx: Context<unknown>,
  pod: V1Pod,
  notes: string[],
): Promise<KubeObject[]> {
  try {
    return await ctx.k8s.owners(pod, timeout());
  } catch (error) {
    if (!(error instanceof CapabilityDeniedError) && !(error instanceof NotFoundError)) throw error;
    notes.push(`the pod's owners: ${why(error)}`);
    return [];
  }
}

/** The pod the event is about and its crash-looping container, before waiting. */
function target(
  ctx: Context<unknown>,
  event: WorkflowEvent,
): { namespace: string; name: string; container: string | undefined } | undefined {
  if (event.kind === "pod.crashLoop") {
    return { namespace: event.pod.namespace, name: event.pod.name, container: event.container };
  }
  const ref = podRefOf(event);
  if (ref === undefined) {
    ctx.log.warn("%s event names no pod: nothing to explain", event.kind);
    return undefined;
  }
  return { namespace: ref.namespace, name: ref.name, container: ref.container };
}

export default defineWorkflow({
  name: "restart-loop-reporter",
  description:
    "Why a container crash-loops: exit code and signal, the log line that says why, restarts, events, owner; one finding per workload.",
  triggers: [{ on: "pod.crashLoop" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS],
  params: {
    tailLines: {
      type: "integer",
      default: 40,
      minimum: 1,
      maximum: 1000,
      description: "Log lines of each run shown in the finding.",
    },
    groupSeconds: {
      type: "number",
      default: 5,
      minimum: 0,
      maximum: 60,
      description:
        "Seconds after the crash loop began to wait before listing the workload's other crash-looping pods.",
    },
  },
  async run(ctx, event) {
    const where = target(ctx, event);
    if (where === undefined) return;
    // Replicas failing together enter their crash loops within a few seconds: wait until
    // `groupSeconds` after this one's, so the one finding names them all. Runs queued behind
    // it are past that time already and do not wait.
    const wait = ctx.params.groupSeconds * 1000 - (Date.now() - Date.parse(event.time));
    if (wait > 0) await sleep(Math.min(wait, ctx.params.groupSeconds * 1000), ctx.signal);

    let pod: V1Pod;
    try {
      pod = await ctx.k8s.get({
        apiVersion: "v1",
        kind: "Pod",
        namespace: where.namespace,
        name: where.name,
      }, timeout());
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      ctx.log.info(
        "%s/%s is gone (deleted by a rollout or a scale-down): no finding",
        where.namespace,
        where.name,
      );
      return;
    }
    if (pod.metadata?.deletionTimestamp !== undefined) {
      ctx.log.info("%s/%s is being deleted: no finding", where.namespace, where.name);
      return;
    }
    const container = crashingContainer(pod, where.container);
    if (container === undefined) {
      ctx.log.info("%s/%s has no crash-looping container", where.namespace, where.name);
      return;
    }
    const notes: string[] = [];
    const ref = { namespace: where.namespace, name: where.name };
    const owners = await ownersOf(ctx, pod, notes);
    const [siblings, previousLog, currentLog, events] = await Promise.all([
      siblingsOf(ctx, pod, owners, container, notes),
      readLog(ctx, ref, container, true, ctx.params.tailLines, notes),
      readLog(ctx, ref, container, false, ctx.params.tailLines, notes),
      readEvents(ctx, ref, notes),
    ]);
    const explanation = analyzeRestartLoop({
      pod,
      container,
      previousLog,
      currentLog,
      events,
      owners,
      siblings,
      tailLines: ctx.params.tailLines,
      notes,
    });
    const workload = workloadOf(pod, owners);
    const result = await ctx.report(explanationFinding(explanation, {
      namespace: where.namespace,
      workload,
      subject: { kind: "Pod", namespace: where.namespace, name: where.name },
      labels: { container },
      episode: container,
    }));
    ctx.log.info(
      "%s: %s (%s pods)%s",
      workload,
      explanation.cause,
      siblings.length,
      result.duplicate ? ", already reported" : "",
    );
  },
});
