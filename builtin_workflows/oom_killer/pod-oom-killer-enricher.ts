/**
 * `pod-oom-killer-enricher`: says why a container was OOM-killed, in one
 * finding per workload and episode: its memory limit and request against
 * what the termination says, and whether its node reported memory pressure
 * or a `SystemOOM` event at that time (the node ran out: `NodeOOM`) or the
 * container reached its own limit (`OOMKilled`); the killed run's log tail
 * when `attachLogs`. `containerMemoryGraph` stays off and, when on, says
 * that no metrics source exists yet.
 *
 * Switched on by `workflows.oomKiller.podOomKillerEnricher`. It reports only
 * a termination whose reason is `OOMKilled`. The analysis is in `_oom.ts`.
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
  type V1Node,
  type V1Pod,
} from "@wfhost/sdk";
import {
  controllerPods,
  explanationFinding,
  WORKLOAD_KINDS,
  workloadOf,
} from "@wfhost/sdk/explain.ts";
import { analyzeOom, oomRecord } from "./_oom.ts";

/** Log lines of the killed run attached when `attachLogs`. */
const LOG_LINES = 40;
/** How long one read may take before the finding goes without it. */
const READ_TIMEOUT_MS = 10_000;
/** Where the kubelet records events about nodes (cluster-scoped objects). */
const NODE_EVENTS_NAMESPACE = "default";

function why(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function timeout(): CallOptions {
  return { signal: AbortSignal.timeout(READ_TIMEOUT_MS) };
}

/** Reads something the finding can do without: on failure, says so in `notes`. */
async function optional<T>(
  what: string,
  notes: string[],
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    notes.push(`${what}: ${why(error)}`);
    return undefined;
  }
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
    other.metadata?.name === pod.metadata?.name ||
    (other.metadata?.deletionTimestamp === undefined && oomRecord(other, container) !== undefined)
  );
}

export default defineWorkflow({
  name: "pod-oom-killer-enricher",
  description:
    "Why a container was OOM-killed: its limit and request, the node's memory pressure or SystemOOM; one finding per workload.",
  triggers: [{ on: "pod.oomKilled" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS, "v1/Node"],
  params: {
    attachLogs: {
      type: "boolean",
      default: true,
      description: "Attach the killed run's log tail.",
    },
    containerMemoryGraph: {
      type: "boolean",
      default: false,
      description:
        "A memory graph of the container; needs a metrics source, which wfhost does not have yet (when on, the finding says so).",
    },
  },
  async run(ctx, event) {
    let pod: V1Pod;
    let container: string | undefined;
    if (event.kind === "pod.oomKilled") {
      pod = event.object;
      container = event.container;
    } else {
      const ref = podRefOf(event);
      if (ref === undefined) {
        ctx.log.warn("%s event names no pod: nothing to explain", event.kind);
        return;
      }
      try {
        pod = await ctx.k8s.get({
          apiVersion: "v1",
          kind: "Pod",
          namespace: ref.namespace,
          name: ref.name,
        }, timeout());
      } catch (error) {
        if (error instanceof NotFoundError) return;
        throw error;
      }
      container = ref.container ??
        [...(pod.spec?.containers ?? [])].find((c) => oomRecord(pod, c.name) !== undefined)?.name;
    }
    const namespace = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    // The record the finding explains must be an OOM kill: a rolling update's 143 or 0, or a
    // pod deleted by a scale-down, is not one.
    const found = container === undefined ? undefined : oomRecord(pod, container);
    if (container === undefined || found === undefined) {
      ctx.log.info("%s/%s: no OOMKilled termination of %s: no finding", namespace, name, container);
      return;
    }
    const notes: string[] = [];
    let owners: KubeObject[] = [];
    try {
      owners = await ctx.k8s.owners(pod, timeout());
    } catch (error) {
      if (!(error instanceof CapabilityDeniedError) && !(error instanceof NotFoundError)) {
        throw error;
      }
      notes.push(`the pod's owners: ${why(error)}`);
    }
    const nodeName = pod.spec?.nodeName;
    const ref = { namespace, name };
    const [siblings, node, nodeEvents, log] = await Promise.all([
      siblingsOf(ctx, pod, owners, container, notes),
      nodeName === undefined
        ? Promise.resolve<V1Node | undefined>(undefined)
        : optional(`node ${nodeName}`, notes, () => ctx.k8s.node(nodeName, timeout())),
      nodeName === undefined
        ? Promise.resolve<K8sEvent[] | undefined>(undefined)
        : optional(`the events of node ${nodeName}`, notes, () =>
          ctx.k8s.events(
            { namespace: NODE_EVENTS_NAMESPACE, name: nodeName, kind: "Node" },
            timeout(),
          )),
      ctx.params.attachLogs
        ? optional("the killed run's log", notes, () =>
          ctx.k8s.podLogs(ref, {
            container,
            previous: !found.current,
            tailLines: LOG_LINES,
            limitBytes: 256 << 10,
            ...timeout(),
          }))
        : Promise.resolve(undefined),
    ]);
    const explanation = analyzeOom({
      pod,
      container,
      node,
      nodeEvents: nodeEvents ?? [],
      owners,
      siblings,
      log: ctx.params.attachLogs ? log ?? "" : undefined,
      logLines: LOG_LINES,
      memoryGraph: ctx.params.containerMemoryGraph,
      notes,
    });
    if (explanation === undefined) return;
    const workload = workloadOf(pod, owners);
    const result = await ctx.report(explanationFinding(explanation, {
      namespace,
      workload,
      subject: { kind: "Pod", namespace, name },
      labels: nodeName === undefined ? { container } : { container, node: nodeName },
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
