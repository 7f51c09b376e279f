// Unit tests of the eviction analyzer (`_eviction.ts`) with plain objects, one row per message
// form with the kubelet's real message, and of the `pod-evicted-enrichments` workflow.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { V1Node, V1Pod } from "@wfhost/sdk";
import { fakeEvent, fakeNode, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  EVICTION_PATTERNS,
  type EvictionInput,
  explainEviction,
  parseEvictionMessage,
} from "./_eviction.ts";
import workflow from "./pod-evicted-enrichments.ts";
import { evidenceText as text } from "./_evidence_text_test_support.ts";

const MEMORY =
  "The node was low on resource: memory. Threshold quantity: 100Mi, available: 96412Ki. Container app was using 1234Mi, request is 100Mi, has larger consumption of memory. ";
const DISK =
  "The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 1468Mi. Container logger was using 6Gi, request is 0, has larger consumption of ephemeral-storage. ";

function pod(message: string, name = "web-1"): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name },
    spec: {
      nodeName: "node-1",
      containers: [
        {
          name: "app",
          image: "shop/web:1",
          resources: { requests: { memory: "100Mi" }, limits: { memory: "2Gi" } },
        },
        { name: "logger", image: "shop/logger:1" },
      ],
    },
    status: { phase: "Failed", reason: "Evicted", message },
  };
}

function node(pressure: "MemoryPressure" | "DiskPressure" | undefined): V1Node {
  const condition = (type: string) => ({
    type,
    status: type === pressure ? "True" : "False",
    reason: type === pressure
      ? `KubeletHas${type.replace("Pressure", "")}Pressure`
      : "KubeletHasSufficient",
    message: type === pressure ? "kubelet has memory pressure" : "",
    lastTransitionTime: "2026-12-03T10:00:00Z",
  });
  return fakeNode({
    metadata: { name: "node-1" },
    status: {
      conditions: [
        condition("MemoryPressure"),
        condition("DiskPressure"),
        { type: "Ready", status: "True", reason: "KubeletReady" },
      ],
    },
  });
}

Deno.test("every message form's real message parses as that form", () => {
  for (const row of EVICTION_PATTERNS) {
    strictEqual(parseEvictionMessage(row.example).kind, row.kind, row.example);
  }
});

Deno.test("parseEvictionMessage reads the starved resource, threshold and offenders", () => {
  deepStrictEqual(parseEvictionMessage(MEMORY), {
    kind: "pressure",
    resource: "memory",
    threshold: "100Mi",
    available: "96412Ki",
    containers: [{ name: "app", usage: "1234Mi", request: "100Mi", resource: "memory" }],
  });
  const two = parseEvictionMessage(
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container app was using 800Mi, request is 0, has larger consumption of memory. Container sidecar was using 300Mi, request is 64Mi, has larger consumption of memory. ",
  );
  deepStrictEqual(two.containers.map((c) => [c.name, c.usage, c.request]), [
    ["app", "800Mi", "0"],
    ["sidecar", "300Mi", "64Mi"],
  ]);
  deepStrictEqual(parseEvictionMessage("The node had condition: [MemoryPressure]. "), {
    kind: "condition",
    resource: "memory",
    conditions: ["MemoryPressure"],
    containers: [],
  });
  deepStrictEqual(parseEvictionMessage("gone"), { containers: [] });
});

interface Case {
  readonly name: string;
  readonly input: EvictionInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence?: readonly RegExp[];
  readonly fix?: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "memory pressure, a container far above its request",
    input: { pod: pod(MEMORY), node: node("MemoryPressure") },
    cause: "EvictedMemoryPressure",
    summary:
      /^shop\/web-1 was evicted from node node-1: the node was low on memory \(available 96412Ki, eviction threshold 100Mi\); container app used 1234Mi \(request 100Mi\)$/,
    evidence: [
      /memory\|100Mi\|96412Ki/,
      /app\|memory\|1234Mi\|100Mi\|12.3×\|2Gi/,
      /MemoryPressure\|True\|KubeletHasMemoryPressure/,
    ],
    fix:
      /Set container `app`'s `resources.requests.memory` to what it really uses \(1234Mi, not 100Mi\)/,
  },
  {
    name: "disk pressure, a container writing without a request",
    input: { pod: pod(DISK), node: node("DiskPressure") },
    cause: "EvictedDiskPressure",
    summary:
      /the node was low on ephemeral-storage \(available 1468Mi, eviction threshold 10%\); container logger used 6Gi \(request 0\)$/,
    evidence: [/logger\|ephemeral-storage\|6Gi\|0\|no request\|none/, /DiskPressure\|True/],
    fix: /still reports DiskPressure/,
  },
  {
    name: "a container over its ephemeral-storage limit",
    input: { pod: pod('Container app exceeded its local ephemeral storage limit "1Gi". ') },
    cause: "EvictedDiskPressure",
    summary: /container app exceeded its ephemeral-storage limit of 1Gi$/,
    fix: /raise `resources.limits.ephemeral-storage`/,
  },
  {
    name: "an emptyDir over its size limit",
    input: { pod: pod('Usage of EmptyDir volume "cache" exceeds the limit "1Gi". ') },
    cause: "EvictedDiskPressure",
    summary: /emptyDir volume cache exceeded its ephemeral-storage limit of 1Gi$/,
  },
  {
    name: "refused at admission under memory pressure",
    input: { pod: pod("The node had condition: [MemoryPressure]. ") },
    cause: "EvictedMemoryPressure",
    summary: /the node refused it while it had MemoryPressure$/,
  },
  {
    name: "low on PIDs: parsed, but no cause label",
    input: {
      pod: pod("The node was low on resource: pids. Threshold quantity: 1k, available: 312. "),
    },
    cause: "Unknown",
    summary: /low on pids .*\(no cause label for this resource\)$/,
  },
  {
    name: "a message nothing matches is not guessed",
    input: { pod: pod("Pod was evicted for some reason") },
    cause: "Unknown",
    summary: /: cause not recognised$/,
    evidence: [/Pod was evicted for some reason/],
  },
  {
    name: "two evicted replicas give one explanation naming them",
    input: {
      pod: pod(MEMORY, "web-a"),
      workload: "Deployment/shop/web",
      siblings: [pod(MEMORY, "web-b")],
    },
    cause: "EvictedMemoryPressure",
    summary: /^2 pods of Deployment\/shop\/web were evicted from node node-1/,
    evidence: [/Evicted pods of Deployment\/shop\/web/, /web-b\|\|Failed\|Evicted/],
  },
];

for (const c of CASES) {
  Deno.test(`explainEviction: ${c.name}`, () => {
    const explanation = explainEviction(c.input);
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

Deno.test("the workflow reads the node and labels the finding", async () => {
  const object = pod(MEMORY);
  const event = fakeEvent("pod.evicted", { object, reason: "Evicted", message: MEMORY });
  const run = await runWorkflow(workflow, event, { objects: [object, node("MemoryPressure")] });
  const finding = run.findings[0];
  strictEqual(finding?.labels?.["cause"], "EvictedMemoryPressure");
  strictEqual(finding?.labels?.["node"], "node-1");
  strictEqual(finding?.dedupeKey, "EvictedMemoryPressure/Pod/shop/web-1");
  ok(finding?.body?.includes("KubeletHasMemoryPressure"), finding?.body);
});
