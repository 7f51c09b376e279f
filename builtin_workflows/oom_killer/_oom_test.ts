// Unit tests of pod-oom-killer-enricher: the analyzer with plain objects, one row per cause with
// the kubelet's real status and event shapes, the terminations it must not report (a rolling
// update's 143 and 0, a SIGKILL), and the workflow with the SDK's fake cluster.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type {
  K8sEvent,
  V1Container,
  V1ContainerStateTerminated,
  V1Node,
  V1NodeCondition,
  V1Pod,
} from "@wfhost/sdk";
import type { Explanation } from "@wfhost/sdk/explain.ts";
import {
  fakeDeployment,
  fakeEvent,
  fakeNode,
  fakePod,
  fakePodObject,
  fakeReplicaSet,
  runWorkflow,
  type TestObject,
} from "@wfhost/sdk/testing.ts";
import { analyzeOom, NODE_MEMORY_EVENTS, type OomInput, oomRecord } from "./_oom.ts";
import workflow from "./pod-oom-killer-enricher.ts";

const KILLED = "2024-05-01T10:00:01Z";
const LABELS = { app: "web", "pod-template-hash": "5d8f7c9b4" };

function killed(
  terminated: Partial<V1ContainerStateTerminated> = {},
  options: { name?: string; resources?: V1Container["resources"]; current?: boolean } = {},
): V1Pod {
  const base = fakePodObject(fakePod({ name: options.name ?? "web-1", labels: LABELS }));
  const record: V1ContainerStateTerminated = {
    exitCode: 137,
    reason: "OOMKilled",
    startedAt: "2024-05-01T09:59:40Z",
    finishedAt: KILLED,
    containerID: "containerd://4b1f",
    ...terminated,
  };
  const container = base.spec?.containers[0] ?? { name: "app" };
  return {
    ...base,
    spec: {
      ...base.spec,
      containers: [
        options.resources === undefined
          ? container
          : { ...container, resources: options.resources },
      ],
    },
    status: {
      ...base.status,
      containerStatuses: [{
        name: "app",
        image: "example/web:1.0",
        imageID: "",
        ready: false,
        restartCount: options.current ? 0 : 2,
        state: options.current ? { terminated: record } : {
          waiting: {
            reason: "CrashLoopBackOff",
            message: "back-off 20s restarting failed container=app",
          },
        },
        lastState: options.current ? {} : { terminated: record },
      }],
    },
  };
}

function node(pressure?: Partial<V1NodeCondition>): V1Node {
  const base = fakeNode();
  return {
    ...base,
    status: {
      ...base.status,
      conditions: (base.status?.conditions ?? []).map((c) =>
        c.type === "MemoryPressure" && pressure !== undefined ? { ...c, ...pressure } : c
      ),
    },
  };
}

function nodeEvent(reason: string, message: string, at = KILLED): K8sEvent {
  return {
    namespace: "default",
    name: `node-1.${reason}`,
    type: "Warning",
    reason,
    message,
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    involvedObject: { kind: "Node", namespace: "", name: "node-1" },
  };
}

function input(pod: V1Pod, overrides: Partial<OomInput> = {}): OomInput {
  return {
    pod,
    container: "app",
    node: node(),
    nodeEvents: [],
    owners: [],
    siblings: [pod],
    logLines: 40,
    memoryGraph: false,
    ...overrides,
  };
}

function text(explanation: Explanation | undefined): string {
  if (explanation === undefined) return "";
  return [
    explanation.summary,
    ...explanation.evidence.map((item) =>
      item.kind === "table"
        ? [item.table.title, ...item.table.rows.map((row) => row.join(" | "))].join("\n")
        : `${item.title}: ${item.text}`
    ),
  ].join("\n");
}

const SYSTEM_OOM = "System OOM encountered, victim process: python, pid: 4242";

const CASES: readonly {
  readonly name: string;
  readonly cause: "OOMKilled" | "NodeOOM";
  readonly input: OomInput;
  readonly says: readonly string[];
}[] = [
  {
    name: "at its own limit (137, OOMKilled, the node fine)",
    cause: "OOMKilled",
    input: input(killed()),
    says: [
      "default/web-1 (container app) was OOM-killed: it reached its memory limit of 256Mi (request 128Mi)",
      "reason OOMKilled, exit code 137 (SIGKILL)",
      "app | 128Mi | 256Mi | OOMKilled",
      "no SystemOOM or memory-pressure event on node node-1 within 120s of the kill; MemoryPressure is False",
    ],
  },
  {
    name: "the node's kernel OOM killer (a SystemOOM event at that time)",
    cause: "NodeOOM",
    input: input(killed(), {
      nodeEvents: [nodeEvent("SystemOOM", SYSTEM_OOM, "2024-05-01T10:00:00Z")],
    }),
    says: [
      `because node node-1 ran out of memory (the kubelet reported SystemOOM: ${SYSTEM_OOM}), below its own limit of 256Mi`,
      "Memory events of node node-1 within 120s of the kill",
    ],
  },
  {
    name: "the node under MemoryPressure (its condition True)",
    cause: "NodeOOM",
    input: input(killed(), {
      node: node({
        status: "True",
        reason: "KubeletHasInsufficientMemory",
        message: "kubelet has insufficient memory available",
        lastTransitionTime: "2024-05-01T09:58:00Z",
      }),
    }),
    says: [
      "ran out of memory (the node reported MemoryPressure)",
      "MemoryPressure | True | KubeletHasInsufficientMemory",
    ],
  },
  {
    name: "the node's pressure events (NodeHasInsufficientMemory, EvictionThresholdMet)",
    cause: "NodeOOM",
    input: input(killed(), {
      nodeEvents: [
        nodeEvent(
          "NodeHasInsufficientMemory",
          "Node node-1 status is now: NodeHasInsufficientMemory",
        ),
        nodeEvent("EvictionThresholdMet", "Attempting to reclaim memory"),
      ],
    }),
    says: ["the kubelet reported NodeHasInsufficientMemory, EvictionThresholdMet"],
  },
  {
    name: "no memory limit: the node's memory ran out",
    cause: "NodeOOM",
    input: input(killed({}, { resources: { requests: { cpu: "100m" } } })),
    says: [
      "it has no memory limit, so nothing bounded it but the memory of node node-1, which ran out",
      "app | none | none",
    ],
  },
  {
    name: "a SystemOOM an hour earlier does not count",
    cause: "OOMKilled",
    input: input(killed(), {
      nodeEvents: [nodeEvent("SystemOOM", SYSTEM_OOM, "2024-05-01T09:00:00Z")],
    }),
    says: ["reached its memory limit of 256Mi"],
  },
  {
    name: "a child process OOM-killed, the main process exiting 1",
    cause: "OOMKilled",
    input: input(killed({ exitCode: 1 })),
    says: [
      "a process of the container was killed by the OOM killer; the main process then exited with code 1",
    ],
  },
];

for (const row of CASES) {
  Deno.test(`oom: ${row.name} → ${row.cause}`, () => {
    const explanation = analyzeOom(row.input);
    strictEqual(explanation?.cause, row.cause, explanation?.summary);
    const all = text(explanation);
    for (const expected of row.says) ok(all.includes(expected), `${expected}\nnot in\n${all}`);
    ok((explanation?.fix.length ?? 0) > 0);
  });
}

Deno.test("never reports a termination that was not an OOM kill (rolling update, scale-down, SIGKILL)", () => {
  for (
    const record of [
      { exitCode: 143, reason: "Error" },
      { exitCode: 0, reason: "Completed" },
      { exitCode: 137, reason: "Error" },
      { exitCode: 137, reason: "ContainerStatusUnknown" },
    ]
  ) {
    for (const current of [true, false]) {
      const pod = killed(record, { current });
      strictEqual(oomRecord(pod, "app"), undefined);
      strictEqual(analyzeOom(input(pod)), undefined, JSON.stringify(record));
    }
  }
  strictEqual(oomRecord(killed(), "sidecar"), undefined);
});

Deno.test("the log of the killed run and the memory graph note", () => {
  const explanation = analyzeOom(input(killed(), {
    log: "allocating\nallocating\n",
    memoryGraph: true,
  }));
  const all = text(explanation);
  ok(all.includes("Log of the killed run, last 40 lines: allocating\nallocating"), all);
  ok(all.includes("Memory graph: not available: wfhost has no metrics source yet"), all);
});

Deno.test("the node events table names each reason the kubelet writes", () => {
  deepStrictEqual(NODE_MEMORY_EVENTS.map((rule) => rule.reason), [
    "SystemOOM",
    "NodeHasInsufficientMemory",
    "EvictionThresholdMet",
  ]);
});

// -- the workflow, with the SDK's fake cluster -------------------------------------------------

function cluster(pods: readonly V1Pod[], extra: readonly TestObject[] = []): TestObject[] {
  return [fakeDeployment(), fakeReplicaSet(), fakeNode(), ...pods, ...extra];
}

function oomEvent(pod: V1Pod) {
  return fakeEvent("pod.oomKilled", {
    pod: fakePod({ name: pod.metadata?.name ?? "web-1", labels: LABELS }),
    object: pod,
  });
}

Deno.test("reports once per workload and container, with the node label, logs of the killed run", async () => {
  const pods = [
    killed({}, { name: "web-1" }),
    killed({}, { name: "web-2" }),
    killed({ reason: "Error" }, { name: "web-3" }),
  ];
  const first = pods[0] ?? killed();
  const run = await runWorkflow(workflow, oomEvent(first), {
    objects: cluster(pods),
    responses: {
      "k8s.podLogs": { text: "allocating\n" },
      "k8s.events": { items: [] },
    },
  });
  strictEqual(run.findings.length, 1);
  const [finding] = run.findings;
  deepStrictEqual(finding?.labels, {
    container: "app",
    node: "node-1",
    cause: "OOMKilled",
    workload: "Deployment/default/web",
    namespace: "default",
  });
  strictEqual(finding?.dedupeKey, "OOMKilled/Deployment/default/web/app");
  strictEqual(
    finding?.title,
    "2 pods of Deployment/default/web (container app) were OOM-killed: it reached its memory limit of 256Mi (request 128Mi)",
  );
  const logs = run.calls.find((call) => call.method === "k8s.podLogs")?.params;
  deepStrictEqual([logs?.["previous"], logs?.["container"]], [true, "app"]);
  const events = run.calls.find((call) => call.method === "k8s.events")?.params;
  deepStrictEqual(events?.["subject"], { namespace: "default", name: "node-1", kind: "Node" });
});

Deno.test("a SystemOOM event on the node makes it NodeOOM; attachLogs false reads no log", async () => {
  const pod = killed({}, { current: true });
  const run = await runWorkflow(workflow, oomEvent(pod), {
    params: { attachLogs: false },
    objects: cluster([pod]),
    responses: {
      "k8s.events": (params) => ({
        items: params.subject.kind === "Node" ? [nodeEvent("SystemOOM", SYSTEM_OOM)] : [],
      }),
    },
  });
  strictEqual(run.findings[0]?.labels?.["cause"], "NodeOOM");
  strictEqual(run.calls.some((call) => call.method === "k8s.podLogs"), false);
});

Deno.test("an event whose record is not an OOM kill (a rolling update's 143) gives no finding", async () => {
  const pod = killed({ exitCode: 143, reason: "Error" }, { current: true });
  const run = await runWorkflow(workflow, oomEvent(pod), {
    objects: cluster([pod]),
    responses: { "k8s.events": { items: [] }, "k8s.podLogs": { text: "" } },
  });
  deepStrictEqual(run.findings, []);
  deepStrictEqual(run.calls, []);
});

Deno.test("the node and its events unreadable: the finding says so and still explains", async () => {
  const pod = killed();
  const run = await runWorkflow(workflow, oomEvent(pod), {
    objects: [fakeDeployment(), fakeReplicaSet(), pod] as TestObject[],
    responses: { "k8s.events": new Error("refused"), "k8s.podLogs": { text: "" } },
  });
  const body = run.findings[0]?.body ?? "";
  ok(body.includes("**Not read:** node node-1:"), body);
  ok(body.includes("**Not read:** the events of node node-1: refused"), body);
  strictEqual(run.findings[0]?.labels?.["cause"], "OOMKilled");
});
