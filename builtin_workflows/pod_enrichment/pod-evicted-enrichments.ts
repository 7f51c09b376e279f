/**
 * `pod-evicted-enrichments`: says why the kubelet evicted a pod, from its eviction message (the
 * starved resource, the threshold and what was available, the containers that used more than
 * they requested; see `_eviction.ts`), with the node's conditions as read after the eviction.
 * One finding per workload and cause, naming the workload's other evicted pods.
 *
 * Switched on by `workflows.podEnrichment.podEvictedEnrichments`.
 *
 * @module
 */

import { defineWorkflow, type V1Node } from "@wfhost/sdk";
import { explanationFinding, podScope, WORKLOAD_KINDS } from "@wfhost/sdk/explain.ts";
import { explainEviction } from "./_eviction.ts";

export default defineWorkflow({
  name: "pod-evicted-enrichments",
  description:
    "Why a pod was evicted: the starved resource, the threshold, the containers using more than they requested, the node's conditions.",
  triggers: [{ on: "pod.evicted" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS, "v1/Node"],
  async run(ctx, event) {
    if (event.kind !== "pod.evicted") return;
    const pod = event.object;
    const namespace = pod.metadata?.namespace ?? event.pod.namespace;
    const name = pod.metadata?.name ?? event.pod.name;
    const nodeName = pod.spec?.nodeName;
    const [scope, node] = await Promise.all([
      podScope(ctx.k8s, pod),
      nodeName
        ? ctx.k8s.node(nodeName).catch((): V1Node | undefined => undefined)
        : Promise.resolve(undefined),
    ]);
    const explanation = explainEviction({
      pod,
      ...(event.message ? { message: event.message } : {}),
      ...(node === undefined ? {} : { node }),
      workload: scope.workload,
      siblings: scope.pods.filter((p) =>
        p.metadata?.name !== name && p.status?.reason === "Evicted"
      ),
    });
    await ctx.report(explanationFinding(explanation, {
      namespace,
      workload: scope.workload,
      subject: { kind: "Pod", namespace, name },
      ...(nodeName ? { labels: { node: nodeName } } : {}),
    }));
  },
});
