// The node status analyzer with plain objects, one row per cause with the condition the kubelet
// or the node lifecycle controller writes, and the workflow against a fake cluster.

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type { V1Node, V1NodeCondition, V1Pod } from "@wfhost/sdk";
import { fakeEvent, fakeNode, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  explainNodeStatus,
  formatResource,
  type NodeTrigger,
  podResources,
} from "./_node_status.ts";
import workflow from "./node-status-enricher.ts";

function node(type: string, condition: Partial<V1NodeCondition>): V1Node {
  const base = fakeNode({ metadata: { name: "worker-2" } });
  return {
    ...base,
    status: {
      ...base.status,
      conditions: (base.status?.conditions ?? []).map((c) =>
        c.type === type ? { ...c, lastTransitionTime: "2024-05-01T10:00:00Z", ...condition } : c
      ),
    },
  };
}

function pod(
  name: string,
  resources: { requests?: Record<string, string>; limits?: Record<string, string> },
  phase = "Running",
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name },
    spec: { nodeName: "worker-2", containers: [{ name: "app", image: "web:1", resources }] },
    status: { phase },
  };
}

const PODS = [
  pod("web-1", { requests: { cpu: "500m", memory: "3Gi" }, limits: { memory: "4Gi" } }),
  pod("web-2", { requests: { cpu: "500m", memory: "3Gi" }, limits: { memory: "4Gi" } }),
  pod("batch-1", {}),
  pod("done-1", { requests: { cpu: "4", memory: "8Gi" } }, "Succeeded"),
];

interface Row {
  readonly name: string;
  readonly node: V1Node;
  readonly trigger?: NodeTrigger;
  readonly cause: string;
  readonly summary: RegExp;
  readonly fix: RegExp;
}

const ROWS: readonly Row[] = [
  {
    name: "the kubelet says its network plugin is not ready",
    node: node("Ready", {
      status: "False",
      reason: "KubeletNotReady",
      message:
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
    }),
    trigger: { kind: "node.notReady", reason: "KubeletNotReady" },
    cause: "NodeNotReady",
    summary:
      /^Node worker-2 is NotReady \(KubeletNotReady: container runtime network not ready: .*cni plugin not initialized\); 3 pods run on it$/,
    fix: /network plugin \(CNI\)/,
  },
  {
    name: "PLEG not healthy: the container runtime hangs",
    node: node("Ready", {
      status: "False",
      reason: "KubeletNotReady",
      message: "PLEG is not healthy: pleg was last seen active 3m5.301s ago; threshold is 3m0s",
    }),
    trigger: { kind: "node.notReady", reason: "KubeletNotReady" },
    cause: "NodeNotReady",
    summary: /is NotReady \(KubeletNotReady: PLEG is not healthy/,
    fix: /container runtime is unhealthy/,
  },
  {
    name: "the node controller stopped hearing from the kubelet",
    node: node("Ready", {
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
    }),
    trigger: { kind: "node.notReady", reason: "NodeStatusUnknown" },
    cause: "NodeNotReady",
    summary:
      /^Node worker-2 stopped reporting its status \(NodeStatusUnknown: Kubelet stopped posting node status\.\); 3 pods run on it$/,
    fix: /machine is up and reachable/,
  },
  {
    name: "memory pressure",
    node: node("MemoryPressure", {
      status: "True",
      reason: "KubeletHasInsufficientMemory",
      message: "kubelet has insufficient memory available",
    }),
    trigger: { kind: "node.pressure", reason: "MemoryPressure" },
    cause: "NodeMemoryPressure",
    summary:
      /^Node worker-2 is under memory pressure \(kubelet has insufficient memory available\); its 3 pods request 6Gi of 6.8Gi allocatable memory \(88%\)$/,
    fix: /Set memory requests and limits on the pods that have none \(shop\/batch-1\)/,
  },
  {
    name: "disk pressure",
    node: node("DiskPressure", {
      status: "True",
      reason: "KubeletHasDiskPressure",
      message: "kubelet has disk pressure",
    }),
    trigger: { kind: "node.pressure", reason: "DiskPressure" },
    cause: "NodeDiskPressure",
    summary:
      /^Node worker-2 is under disk pressure \(kubelet has disk pressure\); none of its 3 pods requests ephemeral-storage$/,
    fix: /ephemeral-storage/,
  },
  {
    name: "PID pressure",
    node: node("PIDPressure", {
      status: "True",
      reason: "KubeletHasInsufficientPID",
      message: "kubelet has insufficient PID available",
    }),
    trigger: { kind: "node.pressure", reason: "PIDPressure" },
    cause: "NodePIDPressure",
    summary: /^Node worker-2 is under PID pressure \(kubelet has insufficient PID available\)/,
    fix: /podPidsLimit/,
  },
  {
    name: "no trigger: the worst condition is explained",
    node: node("DiskPressure", { status: "True", reason: "KubeletHasDiskPressure" }),
    cause: "NodeDiskPressure",
    summary: /under disk pressure/,
    fix: /ephemeral-storage/,
  },
  {
    name: "a healthy node",
    node: node("Ready", {}),
    cause: "Unknown",
    summary: /^Node worker-2 is Ready with no pressure: cause not recognised$/,
    fix: /^$/,
  },
];

for (const row of ROWS) {
  Deno.test(`node status: ${row.name} -> ${row.cause}`, () => {
    const explanation = explainNodeStatus({
      node: row.node,
      pods: PODS,
      ...(row.trigger === undefined ? {} : { trigger: row.trigger }),
    });
    strictEqual(explanation.cause, row.cause);
    match(explanation.summary, row.summary);
    match(explanation.fix.join("\n"), row.fix);
  });
}

Deno.test("requests vs allocatable, and the pods most requesting first", () => {
  const explanation = explainNodeStatus({
    node: node("MemoryPressure", { status: "True" }),
    pods: PODS,
    trigger: { kind: "node.pressure", reason: "MemoryPressure" },
  });
  const tables = explanation.evidence.flatMap((e) => e.kind === "table" ? [e.table] : []);
  const usage = tables.find((t) => t.title?.startsWith("Requests of its 3 pods"));
  deepStrictEqual(usage?.rows.find((r) => r[0] === "memory"), [
    "memory",
    "6.8Gi",
    "6Gi",
    "88%",
    "8Gi (+1 pod without a limit)",
    "117%",
  ]);
  deepStrictEqual(usage?.rows.find((r) => r[0] === "pods"), ["pods", "29", 3, "10%", "", ""]);
  const pods = tables.find((t) => t.title?.startsWith("Pods on worker-2"));
  deepStrictEqual(pods?.rows.map((r) => [r[0], r[2]]), [
    ["shop/web-1", "Burstable"],
    ["shop/web-2", "Burstable"],
    ["shop/batch-1", "BestEffort"],
  ]);
  const conditions = tables.find((t) => t.title === "Conditions of node worker-2");
  ok(conditions?.rows.some((r) => r[0] === "MemoryPressure" && r[1] === "True"));
});

Deno.test("pod resources count the largest init container and the overhead", () => {
  const resources = podResources({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "a", name: "p" },
    spec: {
      overhead: { cpu: "100m" },
      initContainers: [{ name: "init", resources: { requests: { cpu: "2" } } }],
      containers: [
        { name: "a", resources: { requests: { cpu: "250m" }, limits: { cpu: "1" } } },
        { name: "b", resources: { requests: { cpu: "250m" } } },
      ],
    },
  });
  strictEqual(resources.requests["cpu"], 2.1);
  strictEqual(resources.limits["cpu"], undefined);
  strictEqual(formatResource("cpu", 2.1), "2100m");
  strictEqual(formatResource("memory", 1536 * 2 ** 20), "1.5Gi");
});

Deno.test("the workflow lists the node's pods in every namespace and labels the node", async () => {
  const notReady = node("Ready", {
    status: "False",
    reason: "KubeletNotReady",
    message: "container runtime is down",
  });
  const elsewhere: V1Pod = { ...pod("other", {}), spec: { nodeName: "node-9", containers: [] } };
  const run = await runWorkflow(
    workflow,
    fakeEvent("node.notReady", {
      object: notReady,
      reason: "KubeletNotReady",
      message: "container runtime is down",
    }),
    { objects: [notReady, ...PODS, elsewhere] },
  );
  deepStrictEqual(run.calls[0]?.params, {
    apiVersion: "v1",
    kind: "Pod",
    fieldSelector: "spec.nodeName=worker-2",
    limit: 500,
  });
  const [finding] = run.findings;
  ok(finding !== undefined);
  deepStrictEqual(finding.labels, {
    node: "worker-2",
    cause: "NodeNotReady",
    workload: "Node/worker-2",
  });
  strictEqual(finding.dedupeKey, "NodeNotReady/Node/worker-2");
  strictEqual(finding.severity, "critical");
  match(finding.title, /^Node worker-2 is NotReady \(KubeletNotReady: container runtime is down\)/);
  ok(!(finding.body ?? "").includes("shop/other"));
});

Deno.test("a refused pod listing is said, not fatal", async () => {
  const pressured = node("MemoryPressure", { status: "True" });
  const run = await runWorkflow(workflow, fakeEvent("node.pressure", { object: pressured }), {
    responses: { "k8s.list": new Error("pods is forbidden") },
  });
  match(
    run.findings[0]?.body ?? "",
    /the pods on the node could not be listed: Error: pods is forbidden/,
  );
});
