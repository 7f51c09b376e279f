// The alert analyzer with plain objects: one row per cause, each an alert as kube-prometheus
// sends it about an object in the state the kubelet or a controller writes; the label
// resolution; and the workflow against a fake cluster.

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type {
  Alert,
  V1ContainerStateTerminated,
  V1ContainerStatus,
  V1Job,
  V1Node,
  V1Pod,
} from "@wfhost/sdk";
import {
  fakeDeployment,
  fakeEvent,
  fakeJob,
  fakeNode,
  fakeReplicaSet,
  runWorkflow,
} from "@wfhost/sdk/testing.ts";
import { type AlertInput, alertScope, alertTargets, explainAlert } from "./_alert.ts";
import workflow from "./default-enricher.ts";

function alert(name: string, labels: Record<string, string>): Alert {
  return {
    status: "firing",
    labels: { alertname: name, severity: "warning", ...labels },
    annotations: {
      summary: "Pod is crash looping.",
      description: 'Pod shop/web-1 (app) is in waiting state (reason: "CrashLoopBackOff").',
      runbook_url:
        "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
    },
    startsAt: "2024-05-01T10:00:00Z",
  };
}

const BACK_OFF = "back-off 5m0s restarting failed container=app pod=web-1_shop(0b9c)";

function status(last: V1ContainerStateTerminated, restarts = 5): V1ContainerStatus {
  return {
    name: "app",
    image: "example/web:1",
    imageID: "",
    ready: false,
    restartCount: restarts,
    state: { waiting: { reason: "CrashLoopBackOff", message: BACK_OFF } },
    lastState: { terminated: { startedAt: "2024-05-01T09:59:00Z", ...last } },
  };
}

function pod(name: string, container: V1ContainerStatus, labels = { app: "web" }): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name, labels },
    spec: {
      restartPolicy: "Always",
      containers: [{
        name: "app",
        image: "example/web:1",
        resources: { limits: { memory: "256Mi" } },
      }],
    },
    status: { phase: "Running", containerStatuses: [container] },
  };
}

function node(type: string, condition: Record<string, string>): V1Node {
  const base = fakeNode({ metadata: { name: "worker-2" } });
  return {
    ...base,
    status: {
      ...base.status,
      conditions: (base.status?.conditions ?? []).map((c) =>
        c.type === type ? { ...c, ...condition } : c
      ),
    },
  };
}

function job(reason: string, message: string): V1Job {
  const base = fakeJob({ metadata: { namespace: "shop", name: "migrate", ownerReferences: [] } });
  const failed = { type: "Failed", status: "True", reason, message };
  return { ...base, status: { ...base.status, conditions: [failed] } };
}

interface Row {
  readonly name: string;
  readonly input: AlertInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly fix: RegExp;
}

const ROWS: readonly Row[] = [
  {
    name: "a crash-looping pod whose app exits 3",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1", container: "app" }),
      annotations: true,
      subject: {
        kind: "pod",
        pod: pod("web-1", status({ exitCode: 3, reason: "Error" })),
        owners: [],
        log: { container: "app", previous: true, text: "Traceback ...\nKeyError: 'DATABASE_URL'" },
      },
    },
    cause: "ApplicationError",
    summary:
      /^Alert KubePodCrashLooping: Pod shop\/web-1: container app exited with code 3 \(the application's own error code\), restarted 5 times; now CrashLoopBackOff$/,
    fix: /read the log above/,
  },
  {
    name: "an OOM-killed container",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1" }),
      annotations: true,
      subject: {
        kind: "pod",
        pod: pod("web-1", status({ exitCode: 137, reason: "OOMKilled" })),
        owners: [],
      },
    },
    cause: "OOMKilled",
    summary: /container app was OOM-killed \(exit code 137, memory limit 256Mi\)/,
    fix: /memory limit/,
  },
  {
    name: "a command missing from the image",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1" }),
      annotations: true,
      subject: {
        kind: "pod",
        pod: pod("web-1", status({ exitCode: 127, reason: "Error" })),
        owners: [],
      },
    },
    cause: "CommandNotFound",
    summary: /exited with code 127: command not found/,
    fix: /`command`\/`args`/,
  },
  {
    name: "a segfault",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1" }),
      annotations: true,
      subject: {
        kind: "pod",
        pod: pod("web-1", status({ exitCode: 139, reason: "Error" })),
        owners: [],
      },
    },
    cause: "Segfault",
    summary: /segmentation fault \(SIGSEGV\)/,
    fix: /segmentation fault/,
  },
  {
    name: "a service that exits 0 and is restarted",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1" }),
      annotations: true,
      subject: {
        kind: "pod",
        pod: pod("web-1", status({ exitCode: 0, reason: "Completed" })),
        owners: [],
      },
    },
    cause: "ExitedZero",
    summary: /exited with code 0: exited successfully/,
    fix: /must not return/,
  },
  {
    name: "a Deployment whose pods crash",
    input: {
      alert: alert("KubeDeploymentReplicasMismatch", { namespace: "shop", deployment: "web" }),
      annotations: false,
      subject: {
        kind: "workload",
        object: fakeDeployment({
          metadata: { namespace: "shop" },
          status: {
            replicas: 3,
            readyReplicas: 1,
            conditions: [{
              type: "Available",
              status: "False",
              reason: "MinimumReplicasUnavailable",
              message: "Deployment does not have minimum availability.",
            }],
          },
        }),
        owners: [],
        pods: [
          pod("web-1", status({ exitCode: 1, reason: "Error" })),
          pod("web-2", status({ exitCode: 1, reason: "Error" })),
        ],
      },
    },
    cause: "ApplicationError",
    summary:
      /^Alert KubeDeploymentReplicasMismatch: Deployment shop\/web: 1 of 3 ready; 2 pods: container app exited with code 1/,
    fix: /read the log above/,
  },
  {
    name: "a Job past its backoff limit",
    input: {
      alert: alert("KubeJobFailed", { namespace: "shop", job_name: "migrate" }),
      annotations: true,
      subject: {
        kind: "job",
        job: job("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        owners: [],
        pods: [{
          ...pod("migrate-x1", status({ exitCode: 2, reason: "Error" }, 0)),
          spec: { restartPolicy: "Never", containers: [{ name: "app" }] },
        }],
      },
    },
    cause: "BackoffLimitExceeded",
    summary:
      /^Alert KubeJobFailed: Job shop\/migrate failed: its pods failed past its backoffLimit of 3; pod migrate-x1: container app exited with code 2/,
    fix: /backoffLimit/,
  },
  {
    name: "a Job past its deadline",
    input: {
      alert: alert("KubeJobFailed", { namespace: "shop", job_name: "migrate" }),
      annotations: true,
      subject: {
        kind: "job",
        job: job("DeadlineExceeded", "Job was active longer than specified deadline"),
        owners: [],
        pods: [],
      },
    },
    cause: "DeadlineExceeded",
    summary: /still running after its activeDeadlineSeconds/,
    fix: /activeDeadlineSeconds/,
  },
  {
    name: "a node that stopped reporting",
    input: {
      alert: alert("KubeNodeNotReady", { node: "worker-2" }),
      annotations: true,
      subject: {
        kind: "node",
        node: node("Ready", {
          status: "Unknown",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
        }),
      },
    },
    cause: "NodeNotReady",
    summary:
      /^Alert KubeNodeNotReady: Node worker-2 is not Ready \(Unknown\): NodeStatusUnknown: Kubelet stopped posting node status\.$/,
    fix: /kubelet/,
  },
  {
    name: "a node under memory pressure",
    input: {
      alert: alert("KubeNodePressure", { node: "worker-2" }),
      annotations: true,
      subject: {
        kind: "node",
        node: node("MemoryPressure", {
          status: "True",
          reason: "KubeletHasInsufficientMemory",
          message: "kubelet has insufficient memory available",
        }),
      },
    },
    cause: "NodeMemoryPressure",
    summary: /Node worker-2 reports MemoryPressure: KubeletHasInsufficientMemory/,
    fix: /memory requests/,
  },
  {
    name: "an alert about nothing in the cluster",
    input: { alert: alert("HighLatency", { service: "checkout" }), annotations: true },
    cause: "Unknown",
    summary: /^Alert HighLatency: it names no pod, workload, Job or node: cause not recognised$/,
    fix: /^$/,
  },
  {
    name: "a pod that is gone",
    input: {
      alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-9" }),
      annotations: true,
      notes: ["Pod shop/web-9 (label `pod`) does not exist"],
    },
    cause: "Unknown",
    summary: /^Alert KubePodCrashLooping: Pod shop\/web-9 not found: cause not recognised$/,
    fix: /^$/,
  },
];

for (const row of ROWS) {
  Deno.test(`alert: ${row.name} -> ${row.cause}`, () => {
    const explanation = explainAlert(row.input);
    strictEqual(explanation.cause, row.cause);
    match(explanation.summary, row.summary);
    match(explanation.fix.join("\n"), row.fix);
  });
}

Deno.test("alert labels resolve to objects, most specific first", () => {
  deepStrictEqual(
    alertTargets({ namespace: "shop", pod: "web-1", deployment: "web", node: "n1", job: "ksm" })
      .map((t) => `${t.label}:${t.kind}/${t.namespace ?? ""}/${t.name}`),
    ["pod:Pod/shop/web-1", "deployment:Deployment/shop/web", "node:Node//n1"],
  );
  deepStrictEqual(alertTargets({ pod: "web-1" }), []);
  deepStrictEqual(
    alertTargets({ namespace: "shop", job_name: "migrate" })[0]?.apiVersion,
    "batch/v1",
  );
});

Deno.test("the annotations are quoted only when asked", () => {
  const [first] = ROWS;
  ok(first !== undefined);
  const titles = (annotations: boolean) =>
    explainAlert({ ...first.input, annotations }).evidence.flatMap((e) =>
      e.kind === "text" ? [`${e.title}: ${e.text}`] : []
    );
  deepStrictEqual(titles(true).slice(0, 3), [
    "Alert summary: Pod is crash looping.",
    'Alert description: Pod shop/web-1 (app) is in waiting state (reason: "CrashLoopBackOff").',
    "Runbook: https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
  ]);
  ok(!titles(false).some((t) => t.startsWith("Alert summary")));
});

Deno.test("the scope is the object's top workload, one finding per alert and workload", () => {
  const input = ROWS[0]?.input;
  ok(input?.subject?.kind === "pod");
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { namespace: "shop", name: "web" },
  };
  deepStrictEqual(
    alertScope({ ...input, subject: { ...input.subject, owners: [deployment] } }),
    {
      namespace: "shop",
      workload: "Deployment/shop/web",
      subject: { kind: "Pod", namespace: "shop", name: "web-1" },
      labels: { alertname: "KubePodCrashLooping" },
      episode: "KubePodCrashLooping",
    },
  );
});

Deno.test("the workflow reads the pod, its owners and the previous run's log", async () => {
  const rs = fakeReplicaSet({ metadata: { namespace: "shop" } });
  const deployment = fakeDeployment({ metadata: { namespace: "shop" } });
  const crashing = pod("web-1", status({ exitCode: 3, reason: "Error" }));
  const owned: V1Pod = {
    ...crashing,
    metadata: {
      ...crashing.metadata,
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: rs.metadata?.name ?? "",
        uid: rs.metadata?.uid ?? "",
        controller: true,
      }],
    },
  };
  const event = fakeEvent("alert", {
    alert: alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1", container: "app" }),
  });
  const run = await runWorkflow(workflow, event, {
    objects: [owned, rs, deployment],
    responses: { "k8s.podLogs": { text: "booting\nKeyError: 'DATABASE_URL'\n" } },
  });
  const [finding] = run.findings;
  ok(finding !== undefined);
  deepStrictEqual(finding.labels, {
    alertname: "KubePodCrashLooping",
    cause: "ApplicationError",
    workload: "Deployment/shop/web",
    namespace: "shop",
  });
  strictEqual(finding.dedupeKey, "ApplicationError/Deployment/shop/web/KubePodCrashLooping");
  strictEqual(finding.severity, "high");
  match(finding.body ?? "", /KeyError: 'DATABASE_URL'/);
  match(finding.body ?? "", /\*\*Runbook:\*\* https:\/\/runbooks/);
  deepStrictEqual(run.calls.find((c) => c.method === "k8s.podLogs")?.params, {
    pod: { namespace: "shop", name: "web-1" },
    container: "app",
    previous: true,
    tailLines: 30,
  });
});

Deno.test("the workflow falls back to the next label when an object is gone", async () => {
  const event = fakeEvent("alert", {
    alert: alert("KubeNodeNotReady", { namespace: "shop", pod: "gone", node: "worker-2" }),
  });
  const notReady = node("Ready", {
    status: "False",
    reason: "KubeletNotReady",
    message: "PLEG is not healthy",
  });
  const run = await runWorkflow(workflow, event, { objects: [notReady] });
  const [finding] = run.findings;
  strictEqual(finding?.labels?.["cause"], "NodeNotReady");
  strictEqual(finding?.labels?.["workload"], "Node/worker-2");
  match(finding?.body ?? "", /Pod shop\/gone \(label `pod`\) does not exist/);
});

Deno.test("resolved alerts are not explained", async () => {
  const event = fakeEvent("alert", {
    alert: {
      ...alert("KubePodCrashLooping", { namespace: "shop", pod: "web-1" }),
      status: "resolved",
    },
  });
  const run = await runWorkflow(workflow, event, {});
  deepStrictEqual(run.findings, []);
});
