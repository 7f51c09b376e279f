/**
 * `node-status-enricher`: says why a node is NotReady or under memory, disk
 * or PID pressure, with its conditions and the pods bound to it, their
 * requests and limits against the node's allocatable. The analysis is
 * `_node_status.ts`; this file only reads.
 *
 * Switched on by `workflows.nodes.nodeStatusEnricher`. Nodes are
 * cluster-scoped: the finding has no namespace label and its workload is
 * `Node/<name>`.
 *
 * @module
 */

import { defineWorkflow, type V1Node, type V1Pod } from "@wfhost/sdk";
import { explanationFinding } from "@wfhost/sdk/explain.ts";
import { explainNodeStatus } from "./_node_status.ts";

/** At most this many pods are read (a node rarely runs more than 110). */
const POD_LIMIT = 500;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export default defineWorkflow({
  name: "node-status-enricher",
  description: "A NotReady or pressured node: its conditions, its pods' requests vs allocatable.",
  triggers: [{ on: "node.notReady" }, { on: "node.pressure" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: ["v1/Node"],
  async run(ctx, event) {
    if (event.kind !== "node.notReady" && event.kind !== "node.pressure") {
      ctx.log.info("node-status-enricher acts on node events, not %s", event.kind);
      return;
    }
    const node: V1Node = event.object;
    const name = node.metadata?.name ?? "?";
    let pods: readonly V1Pod[] = [];
    let podsNote: string | undefined;
    try {
      // Pods are readable with k8s.read alone; across namespaces unless the grant names some.
      const listed = await ctx.k8s.list({
        apiVersion: "v1",
        kind: "Pod",
        fieldSelector: `spec.nodeName=${name}`,
        limit: POD_LIMIT,
      });
      pods = listed.items;
      if (listed.truncated) podsNote = `more than ${POD_LIMIT} pods: only the first are counted`;
    } catch (error) {
      podsNote = `the pods on the node could not be listed: ${errorText(error)}`;
    }
    const explanation = explainNodeStatus({
      node,
      pods,
      trigger: {
        kind: event.kind,
        reason: event.reason,
        ...(event.message === undefined ? {} : { message: event.message }),
      },
      ...(podsNote === undefined ? {} : { podsNote }),
    });
    await ctx.report(explanationFinding(explanation, {
      workload: `Node/${name}`,
      labels: { node: name },
    }));
  },
});
