/**
 * `pod-investigator-enricher`: says why a pod stays Pending (the scheduler's reasons with their
 * node counts: CPU, memory, pod slots, taints, node selection, claims; see `_pending.ts`), why a
 * container cannot start because of its configuration (a missing ConfigMap, Secret or key; see
 * `_container_config.ts`), and why a probe keeps failing (with the probe as the pod spec defines
 * it; see `_probes.ts`). One finding per workload and cause (and container), naming the
 * workload's other pods in the same state.
 *
 * Reads only what the explanation needs: the nodes (and, when resources are short, the pods on
 * them, to show what is already requested), the pod's claims, the ConfigMaps it refers to (to
 * tell a missing one from a missing key; never their data). Secrets are never read: the
 * kubelet's message names the missing Secret. `InvalidImageName` and `ErrImageNeverPull` are
 * left to `image-pull-backoff-enricher`; a start error, or a failing liveness or startup probe, of
 * a container already in `CrashLoopBackOff` to `restart-loop-reporter`.
 *
 * Switched on by `workflows.podEnrichment.podInvestigatorEnricher`.
 *
 * @module
 */

import {
  type Context,
  defineWorkflow,
  type K8sEvent,
  NotFoundError,
  type PodContainerConfigErrorEvent,
  type PodPendingEvent,
  type PodProbeFailingEvent,
  type V1Node,
  type V1Pod,
} from "@wfhost/sdk";
import { explanationFinding, podScope, WORKLOAD_KINDS } from "@wfhost/sdk/explain.ts";
import { type ClaimState, explainPending, parseSchedulerMessage } from "./_pending.ts";
import { configReferences, explainContainerConfig } from "./_container_config.ts";
import { explainProbe } from "./_probes.ts";

/** Left to `image-pull-backoff-enricher`. */
const IMAGE_REASONS = new Set(["InvalidImageName", "ErrImageNeverPull"]);
/** Start errors a crash loop also reports (left to the restart-loop reporter while it loops). */
const START_FAILED = new Set(["StartError", "ContainerCannotRun", "RunContainerError"]);
/** At most this many nodes get their pods listed (to show what is requested on them). */
const MAX_NODES_WITH_PODS = 10;
/** At most this many ConfigMaps or claims are looked up. */
const MAX_LOOKUPS = 10;

type AnyContext = Context<unknown>;

function statusOf(pod: V1Pod, container: string) {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]
    .find((s) => s.name === container);
}

function unscheduled(pod: V1Pod): boolean {
  return !pod.spec?.nodeName &&
    (pod.status?.conditions ?? []).some((c) => c.type === "PodScheduled" && c.status === "False");
}

async function exists(
  ctx: AnyContext,
  ref: { apiVersion: "v1"; kind: string; namespace: string; name: string },
): Promise<{ readonly read: boolean; readonly object?: unknown }> {
  try {
    return { read: true, object: await ctx.k8s.get(ref) };
  } catch (error) {
    return { read: error instanceof NotFoundError };
  }
}

async function pending(ctx: AnyContext, event: PodPendingEvent): Promise<void> {
  const pod = event.object;
  const namespace = pod.metadata?.namespace ?? event.pod.namespace;
  const name = pod.metadata?.name ?? event.pod.name;
  const message = event.message ??
    pod.status?.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "";
  const causes = new Set(parseSchedulerMessage(message).reasons.map((r) => r.cause));
  const [scope, nodes] = await Promise.all([
    podScope(ctx.k8s, pod),
    ctx.k8s.list({ apiVersion: "v1", kind: "Node", limit: 100 }).then(
      (list): readonly V1Node[] => list.items,
      () => [],
    ),
  ]);
  let nodePods: Record<string, readonly V1Pod[]> | undefined;
  if (
    causes.has("InsufficientCPU") || causes.has("InsufficientMemory") || causes.has("TooManyPods")
  ) {
    nodePods = {};
    await Promise.all(
      nodes.slice(0, MAX_NODES_WITH_PODS).map(async (node) => {
        const nodeName = node.metadata?.name;
        if (nodeName === undefined || nodePods === undefined) return;
        try {
          const list = await ctx.k8s.list({
            apiVersion: "v1",
            kind: "Pod",
            fieldSelector: `spec.nodeName=${nodeName}`,
            limit: 500,
          });
          if (!list.truncated) nodePods[nodeName] = list.items;
        } catch {
          // Not allowed to list pods across namespaces: the table shows allocatable only.
        }
      }),
    );
  }
  const claims: ClaimState[] = [];
  if (causes.has("UnboundPVC")) {
    const names = (pod.spec?.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []
    ).slice(0, MAX_LOOKUPS);
    for (const claimName of names) {
      const found = await exists(ctx, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace,
        name: claimName,
      });
      const events = found.object === undefined
        ? []
        : await ctx.k8s.events({ kind: "PersistentVolumeClaim", namespace, name: claimName })
          .catch((): K8sEvent[] => []);
      claims.push({
        name: claimName,
        read: found.read,
        events,
        ...(found.object === undefined
          ? {}
          : { claim: found.object as NonNullable<ClaimState["claim"]> }),
      });
    }
  }
  const explanation = explainPending({
    pod,
    message,
    nodes,
    ...(nodePods === undefined ? {} : { nodePods }),
    claims,
    workload: scope.workload,
    siblings: scope.pods.filter((p) => p.metadata?.name !== name && unscheduled(p)),
  });
  await ctx.report(explanationFinding(explanation, {
    namespace,
    workload: scope.workload,
    subject: { kind: "Pod", namespace, name },
  }));
}

async function containerConfig(
  ctx: AnyContext,
  event: PodContainerConfigErrorEvent,
): Promise<void> {
  if (IMAGE_REASONS.has(event.reason)) return;
  const pod = event.object;
  const waiting = statusOf(pod, event.container)?.state?.waiting?.reason;
  if (START_FAILED.has(event.reason) && waiting === "CrashLoopBackOff") return;
  const namespace = pod.metadata?.namespace ?? event.pod.namespace;
  const name = pod.metadata?.name ?? event.pod.name;
  const scope = await podScope(ctx.k8s, pod);
  const configMaps: Record<string, boolean> = {};
  const wanted = [
    ...new Set(
      configReferences(pod, event.container).filter((r) => r.kind === "ConfigMap" && r.name !== "")
        .map((r) => r.name),
    ),
  ].slice(0, MAX_LOOKUPS);
  await Promise.all(wanted.map(async (configMap) => {
    const found = await exists(ctx, {
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      name: configMap,
    });
    if (found.read) configMaps[configMap] = found.object !== undefined;
  }));
  const explanation = explainContainerConfig({
    pod,
    container: event.container,
    reason: event.reason,
    ...(event.message === undefined ? {} : { message: event.message }),
    configMaps,
    workload: scope.workload,
    siblings: scope.pods.filter((p) =>
      p.metadata?.name !== name &&
      statusOf(p, event.container)?.state?.waiting?.reason === waiting
    ),
  });
  await ctx.report(explanationFinding(explanation, {
    namespace,
    workload: scope.workload,
    subject: { kind: "Pod", namespace, name },
    labels: { container: event.container },
    episode: event.container,
  }));
}

async function probeFailing(ctx: AnyContext, event: PodProbeFailingEvent): Promise<void> {
  // Robust to an event without its Kubernetes Event (a replayed or hand-made one): the subject,
  // the pod and the message are enough.
  const k8sEvent: K8sEvent | undefined = event.k8sEvent ?? undefined;
  const namespace = event.subject?.namespace ?? event.pod?.namespace ??
    k8sEvent?.involvedObject.namespace ?? "";
  const name = event.subject?.name ?? event.pod?.name ?? k8sEvent?.involvedObject.name ?? "";
  if (namespace === "" || name === "") return;
  let pod: V1Pod | undefined = event.object;
  if (pod === undefined) {
    pod = await ctx.k8s.get({ apiVersion: "v1", kind: "Pod", namespace, name }).catch(() =>
      undefined
    );
  }
  // A liveness or startup probe that already put the container in a crash loop is the
  // restart-loop reporter's (it names the probe as the cause of the restarts).
  if (
    pod !== undefined && event.container !== undefined && event.probe !== "readiness" &&
    statusOf(pod, event.container)?.state?.waiting?.reason === "CrashLoopBackOff"
  ) return;
  const scope = pod === undefined
    ? { workload: `Pod/${namespace}/${name}`, pods: [] as readonly V1Pod[] }
    : await podScope(ctx.k8s, pod);
  const [events, unhealthy] = await Promise.all([
    ctx.k8s.events({ kind: "Pod", namespace, name }).catch((): K8sEvent[] => []),
    scope.pods.length > 1
      ? ctx.k8s.list({
        apiVersion: "v1",
        kind: "Event",
        namespace,
        fieldSelector: "reason=Unhealthy",
      })
        .then((list) => list.items, () => [])
      : Promise.resolve([]),
  ]);
  const failing = new Set(
    unhealthy.filter((e) => e.involvedObject.kind === "Pod").map((e) => e.involvedObject.name),
  );
  const explanation = explainProbe({
    ...(pod === undefined ? {} : { pod }),
    ...(event.container === undefined ? {} : { container: event.container }),
    ...(event.probe === undefined ? {} : { probe: event.probe }),
    message: event.message,
    ...(k8sEvent === undefined ? {} : { event: k8sEvent }),
    events,
    workload: scope.workload,
    siblings: scope.pods.filter((p) =>
      p.metadata?.name !== name && failing.has(p.metadata?.name ?? "")
    ),
  });
  await ctx.report(explanationFinding(explanation, {
    namespace,
    workload: scope.workload,
    subject: { kind: "Pod", namespace, name },
    labels: {
      ...(event.container === undefined ? {} : { container: event.container }),
      ...(event.probe === undefined ? {} : { probe: event.probe }),
    },
    episode: event.container ?? "",
  }));
}

export default defineWorkflow({
  name: "pod-investigator-enricher",
  description:
    "Why a pod stays Pending, cannot start its containers (missing ConfigMap, Secret or key), or fails its probes.",
  triggers: [{ on: "pod.pending" }, { on: "pod.containerConfigError" }, { on: "pod.probeFailing" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS, "v1/Node", "v1/PersistentVolumeClaim", "v1/ConfigMap"],
  async run(ctx, event) {
    switch (event.kind) {
      case "pod.pending":
        return await pending(ctx, event);
      case "pod.containerConfigError":
        return await containerConfig(ctx, event);
      case "pod.probeFailing":
        return await probeFailing(ctx, event);
      default:
        return;
    }
  },
});
