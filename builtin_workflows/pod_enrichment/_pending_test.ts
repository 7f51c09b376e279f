// Unit tests of the Pending analyzer (`_pending.ts`) with plain objects, one row per cause with
// the scheduler's real message, and of the workflow's `pod.pending` path with the SDK's fakes.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { V1Node, V1Pod } from "@wfhost/sdk";
import { fakeEvent, fakeNode, fakePod, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  type ClaimState,
  explainPending,
  formatBytes,
  formatCpu,
  parseSchedulerMessage,
  type PendingInput,
  podRequests,
  primaryReason,
  SCHEDULING_PATTERNS,
  tolerates,
} from "./_pending.ts";
import workflow from "./pod-investigator-enricher.ts";
import { evidenceText as text } from "./_evidence_text_test_support.ts";

function pod(
  spec: Partial<NonNullable<V1Pod["spec"]>> = {},
  name = "greedy",
  requests: Record<string, string> = { cpu: "1000", memory: "128Mi" },
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name },
    spec: {
      containers: [{ name: "app", image: "shop/web:1", resources: { requests } }],
      ...spec,
    },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
    },
  };
}

function node(
  name: string,
  extra: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: string }[];
    unschedulable?: boolean;
  } = {},
): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...extra.labels } },
    spec: {
      ...(extra.taints === undefined ? {} : { taints: extra.taints }),
      ...(extra.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      allocatable: {
        cpu: extra.cpu ?? "2",
        memory: extra.memory ?? "8Gi",
        pods: extra.pods ?? "110",
      },
    },
  };
}

Deno.test("every pattern's real message yields a reason of its cause", () => {
  for (const row of SCHEDULING_PATTERNS) {
    const parsed = parseSchedulerMessage(row.example);
    const reason = parsed.reasons.find((r) => row.pattern.test(r.text));
    ok(reason !== undefined, row.example);
    strictEqual(reason.cause, row.cause, row.example);
    ok(parsed.preemption?.length, row.example);
  }
});

Deno.test("parseSchedulerMessage splits counts, PreFilter reasons and the preemption tail", () => {
  deepStrictEqual(
    parseSchedulerMessage(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
    ).reasons.map((r) => [r.count, r.text, r.cause]),
    [
      [1, "Insufficient cpu", "InsufficientCPU"],
      [
        2,
        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
        "UntoleratedTaint",
      ],
    ],
  );
  // The old wording has a comma inside the reason: only ", <count> " separates reasons.
  deepStrictEqual(
    parseSchedulerMessage(
      "0/3 nodes are available: 3 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate.",
    ).reasons.map((r) => [r.count, r.cause]),
    [[3, "UntoleratedTaint"]],
  );
  const prefilter = parseSchedulerMessage(
    '0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
  );
  strictEqual(prefilter.nodes, 1);
  strictEqual(prefilter.reasons[0]?.count, undefined);
  strictEqual(prefilter.reasons[0]?.cause, "UnboundPVC");
  strictEqual(
    prefilter.preemption,
    "0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
  );
  deepStrictEqual(parseSchedulerMessage("no nodes available to schedule pods"), {
    nodes: 0,
    reasons: [],
  });
});

Deno.test("the cause is the reason of the nodes that got furthest through the filters", () => {
  const cause = (message: string) => primaryReason(parseSchedulerMessage(message))?.cause;
  strictEqual(
    cause("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s)."),
    "InsufficientCPU",
  );
  strictEqual(
    cause(
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had untolerated taint(s).",
    ),
    "NodeSelectorMismatch",
  );
  strictEqual(
    cause("0/4 nodes are available: 1 Insufficient cpu, 3 Insufficient memory."),
    "InsufficientMemory",
  );
  strictEqual(
    cause("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."),
    undefined,
  );
});

interface Case {
  readonly name: string;
  readonly input: PendingInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence?: readonly RegExp[];
  readonly fix?: RegExp;
}

const CPU =
  "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";

const CASES: readonly Case[] = [
  {
    name: "a CPU request no node can ever fit",
    input: {
      pod: pod(),
      message: CPU,
      nodes: [node("localnode")],
      nodePods: { localnode: [pod({ nodeName: "localnode" }, "other", { cpu: "500m" })] },
    },
    cause: "InsufficientCPU",
    summary:
      /^shop\/greedy stays Pending: 1 of 1 nodes lack unrequested CPU for its request of 1000$/,
    evidence: [
      /This pod requests cpu 1000, memory 128Mi/,
      /localnode\|2\|500m\|1.5\|8Gi\|0\|8Gi\|1\/110/,
      /no lower-priority pods whose eviction would make room/,
    ],
    fix: /No node can ever fit it: it requests cpu 1000 and the largest node has 2 allocatable/,
  },
  {
    name: "memory that would fit an empty node",
    input: {
      pod: pod({}, "cache", { memory: "6Gi" }),
      message:
        "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
      nodes: [node("a"), node("b", { taints: [{ key: "gpu", effect: "NoSchedule" }] })],
    },
    cause: "InsufficientMemory",
    summary: /1 of 3 nodes lack unrequested memory for its request of 6Gi/,
    evidence: [/a\|2\|\?\|\?\|8Gi/, /b\|gpu:NoSchedule\|no/],
    fix: /Lower `resources.requests.memory` in the pod \(it asks for 6Gi\), or free room/,
  },
  {
    name: "a taint the pod does not tolerate",
    input: {
      pod: pod({ tolerations: [{ key: "other", operator: "Exists" }] }),
      message:
        "0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
      nodes: [
        node("localnode", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
      ],
    },
    cause: "UntoleratedTaint",
    summary: /1 of 1 nodes carry a taint the pod does not tolerate$/,
    evidence: [/localnode\|dedicated=gpu:NoSchedule\|no/, /tolerations: `other exists`/],
    fix: /kubectl taint nodes localnode dedicated-/,
  },
  {
    name: "a cordoned node",
    input: {
      pod: pod(),
      message: "0/1 nodes are available: 1 node(s) were unschedulable.",
      nodes: [node("localnode", {
        unschedulable: true,
        taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }],
      })],
    },
    cause: "UntoleratedTaint",
    summary: /1 of 1 nodes are cordoned/,
    fix: /kubectl uncordon localnode/,
  },
  {
    name: "a nodeSelector no node matches",
    input: {
      pod: pod({ nodeSelector: { disktype: "ssd" } }),
      message:
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
      nodes: [node("localnode", { labels: { disktype: "hdd" } })],
    },
    cause: "NodeSelectorMismatch",
    summary: /1 of 1 nodes do not match its nodeSelector disktype=ssd$/,
    evidence: [
      /node\|disktype\nlocalnode\|hdd/,
      /evicting lower-priority pods would not make room/,
    ],
    fix: /kubectl label node localnode disktype=ssd/,
  },
  {
    name: "a required node affinity no node matches",
    input: {
      pod: pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{
                matchExpressions: [{
                  key: "topology.kubernetes.io/zone",
                  operator: "In",
                  values: ["eu-west-1c"],
                }],
              }],
            },
          },
        },
      }),
      message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
      nodes: [node("a", { labels: { "topology.kubernetes.io/zone": "eu-west-1a" } }), node("b")],
    },
    cause: "NodeSelectorMismatch",
    summary: /required affinity: topology.kubernetes.io\/zone In \(eu-west-1c\)/,
    evidence: [/a\|eu-west-1a/, /b\|\(absent\)/],
  },
  {
    name: "a claim that does not exist",
    input: {
      pod: pod({ volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] }),
      message:
        '0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
      claims: [{ name: "data", read: true }],
    },
    cause: "UnboundPVC",
    summary: /its PersistentVolumeClaim "data" does not exist$/,
    evidence: [/all\|persistentvolumeclaim "data" not found\|UnboundPVC/, /data\|does not exist/],
    fix: /Create PersistentVolumeClaim `data` in namespace `shop`/,
  },
  {
    name: "a claim that stays Pending",
    input: {
      pod: pod({ volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] }),
      message:
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
      claims: [
        {
          name: "data",
          read: true,
          claim: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: "data", namespace: "shop" },
            spec: {
              storageClassName: "fast",
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "10Gi" } },
            },
            status: { phase: "Pending" },
          },
          events: [{
            namespace: "shop",
            name: "data.1",
            type: "Warning",
            reason: "ProvisioningFailed",
            message: 'storageclass.storage.k8s.io "fast" not found',
            count: 4,
            firstTimestamp: "2026-12-03T10:00:00Z",
            lastTimestamp: "2026-12-03T10:01:00Z",
            involvedObject: { kind: "PersistentVolumeClaim", namespace: "shop", name: "data" },
          }],
        } satisfies ClaimState,
      ],
    },
    cause: "UnboundPVC",
    summary: /its PersistentVolumeClaim "data" is Pending, not bound to a volume/,
    evidence: [/data\|Pending\|fast\|10Gi\|ReadWriteOnce/, /ProvisioningFailed/],
    fix: /StorageClass `fast` exists and its provisioner works/,
  },
  {
    name: "nodes full of pods",
    input: {
      pod: pod(),
      message:
        "0/2 nodes are available: 2 Too many pods. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
      nodes: [node("a", { pods: "4" })],
    },
    cause: "TooManyPods",
    summary: /2 of 2 nodes already run as many pods as they allow/,
    evidence: [/a\|2\|\?.*\|\?\/4/],
    fix: /raise the kubelet's `maxPods`/,
  },
  {
    name: "a reason outside the vocabulary is not guessed",
    input: {
      pod: pod(),
      message:
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    },
    cause: "Unknown",
    summary: /the scheduler's reason was not recognised$/,
    evidence: [/3\|node\(s\) didn't match pod anti-affinity rules\|Unknown/],
  },
  {
    name: "three pending replicas give one explanation naming them",
    input: {
      pod: pod({}, "web-5d8f-a"),
      message: CPU,
      workload: "Deployment/shop/web",
      siblings: [pod({}, "web-5d8f-b"), pod({}, "web-5d8f-c")],
    },
    cause: "InsufficientCPU",
    summary: /^3 pods of Deployment\/shop\/web stay Pending/,
    evidence: [/web-5d8f-a\|\|Pending/, /web-5d8f-c\|\|Pending/],
    fix: /Deployment shop\/web's pod template/,
  },
];

for (const c of CASES) {
  Deno.test(`explainPending: ${c.name}`, () => {
    const explanation = explainPending(c.input);
    strictEqual(explanation.cause, c.cause);
    ok(c.summary.test(explanation.summary), explanation.summary);
    const evidence = text(explanation);
    for (const pattern of c.evidence ?? []) ok(pattern.test(evidence), `${pattern}\n${evidence}`);
    if (c.fix !== undefined) {
      ok(explanation.fix.some((f) => c.fix?.test(f)), explanation.fix.join("\n"));
    }
    if (c.cause === "Unknown") deepStrictEqual(explanation.fix, []);
  });
}

Deno.test("podRequests counts init containers and overhead as the scheduler does", () => {
  const requests = podRequests({
    apiVersion: "v1",
    kind: "Pod",
    spec: {
      containers: [
        { name: "a", resources: { requests: { cpu: "250m", memory: "64Mi" } } },
        { name: "b", resources: { requests: { cpu: "250m" } } },
      ],
      initContainers: [{ name: "init", resources: { requests: { cpu: "1", memory: "32Mi" } } }],
      overhead: { cpu: "100m" },
    },
  });
  deepStrictEqual(requests, { cpu: 1.1, memory: 64 * 2 ** 20 });
  strictEqual(formatCpu(0.25), "250m");
  strictEqual(formatCpu(1000), "1000");
  strictEqual(formatBytes(1.5 * 2 ** 30), "1.5Gi");
});

Deno.test("tolerates follows the scheduler's matching rules", () => {
  const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
  const rows: [Parameters<typeof tolerates>[0], boolean][] = [
    [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }, true],
    [{ key: "dedicated", operator: "Equal", value: "cpu" }, false],
    [{ key: "dedicated", operator: "Exists" }, true],
    [{ operator: "Exists" }, true],
    [{ key: "dedicated", operator: "Exists", effect: "NoExecute" }, false],
  ];
  for (const [toleration, expected] of rows) {
    strictEqual(tolerates(toleration, taint), expected, JSON.stringify(toleration));
  }
});

Deno.test("the workflow reads the nodes and their pods, and reports the cause", async () => {
  const object = pod({}, "greedy");
  const event = fakeEvent("pod.pending", {
    pod: fakePod({ namespace: "shop", name: "greedy", phase: "Pending" }),
    object,
    reason: "Unschedulable",
    message: CPU,
  });
  const node1 = fakeNode({
    metadata: { name: "localnode" },
    status: { allocatable: { cpu: "2", memory: "4Gi", pods: "110" } },
  });
  const run = await runWorkflow(workflow, event, { objects: [object, node1] });
  strictEqual(run.findings.length, 1);
  const finding = run.findings[0];
  strictEqual(finding?.labels?.["cause"], "InsufficientCPU");
  strictEqual(finding?.labels?.["workload"], "Pod/shop/greedy");
  strictEqual(finding?.dedupeKey, "InsufficientCPU/Pod/shop/greedy");
  ok(
    run.calls.some((c) =>
      c.method === "k8s.list" && c.params["fieldSelector"] === "spec.nodeName=localnode"
    ),
    JSON.stringify(run.calls.map((c) => c.method)),
  );
  ok(finding?.body?.includes("largest node has 2 allocatable"), finding?.body);
});
