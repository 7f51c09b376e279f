// The pod creation analyzer: every classifier row matches the real message it was taken from,
// each cause explained from the controller's message as recorded, and the workflow against a
// fake cluster (a ReplicaSet of a Deployment over its quota).

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type { V1ReplicaSet, V1ResourceQuota } from "@wfhost/sdk";
import { fakeDeployment, fakeEvent, fakeReplicaSet, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  apiServerMessage,
  classifyCreationFailure,
  CREATION_FAILURES,
  explainPodCreation,
} from "./_pod_creation.ts";
import workflow from "./pod-creation-enricher.ts";

for (const row of CREATION_FAILURES) {
  Deno.test(`pod creation classifier: the ${row.id} example is classified as ${row.id}`, () => {
    strictEqual(classifyCreationFailure(row.example, "shop")?.id, row.id);
  });
}

interface Row {
  readonly name: string;
  readonly kind: string;
  readonly message: string;
  readonly cause: string;
  readonly summary: RegExp;
  readonly fix: RegExp;
}

// As the controllers record them (`Error creating: ` from pkg/controller/controller_utils.go, the
// StatefulSet's prefix from stateful_pod_control.go), from a real cluster.
const ROWS: readonly Row[] = [
  {
    name: "Pod Security baseline: a privileged container",
    kind: "ReplicaSet",
    message:
      'Error creating: pods "web-7d9f8b6c5-x2x4z" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)',
    cause: "PodCreationForbidden",
    summary:
      /^ReplicaSet shop\/web-7d9f8b6c5 cannot create its pods: Pod Security "baseline:latest" forbids them: privileged \(container "app" must not set securityContext.privileged=true\)$/,
    fix: /privileged: remove `securityContext.privileged: true`/,
  },
  {
    name: "Pod Security restricted: several checks",
    kind: "StatefulSet",
    message:
      'create Pod db-0 in StatefulSet db failed error: pods "db-0" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "db" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "db" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "db" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "db" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    cause: "PodCreationForbidden",
    summary:
      /^StatefulSet shop\/web-7d9f8b6c5 cannot create its pods: Pod Security "restricted:latest"/,
    fix: /allowPrivilegeEscalation: false.*capabilities.*runAsNonRoot: true.*RuntimeDefault/s,
  },
  {
    name: "over a ResourceQuota",
    kind: "ReplicaSet",
    message:
      'Error creating: pods "web-7d9f8b6c5-x2x4z" is forbidden: exceeded quota: compute-quota, requested: limits.cpu=2, used: limits.cpu=3, limited: limits.cpu=4',
    cause: "QuotaExceeded",
    summary:
      /cannot create its pods: they would exceed ResourceQuota compute-quota \(requested: limits.cpu=2; used: limits.cpu=3; limited: limits.cpu=4\)$/,
    fix: /kubectl edit resourcequota compute-quota -n shop/,
  },
  {
    name: "a pods quota of 0",
    kind: "Job",
    message:
      'Error creating: pods "migrate-x2x4z" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0',
    cause: "QuotaExceeded",
    summary: /they would exceed ResourceQuota no-pods \(requested: pods=1/,
    fix: /or run fewer of its pods at once/,
  },
  {
    name: "a quota that requires limits",
    kind: "DaemonSet",
    message:
      'Error creating: pods "agent-x2x4z" is forbidden: failed quota: compute-quota: must specify limits.cpu for: agent; limits.memory for: agent',
    cause: "QuotaExceeded",
    summary: /ResourceQuota compute-quota requires every pod to set limits.cpu for: agent/,
    fix: /Set limits.cpu; limits.memory on the containers/,
  },
  {
    name: "an admission webhook's policy",
    kind: "ReplicaSet",
    message:
      'Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: policy Deployment/shop/web for resource violation: disallow-latest-tag: validate-image-tag: "An image tag is required."',
    cause: "PodCreationForbidden",
    summary: /admission webhook "validate.kyverno.svc-fail" denies them: policy Deployment/,
    fix: /satisfy the policy/,
  },
  {
    name: "an admission webhook that is down",
    kind: "ReplicaSet",
    message:
      'Error creating: Internal error occurred: failed calling webhook "mutate.example.com": failed to call webhook: Post "https://webhook.example.svc:443/mutate?timeout=10s": dial tcp 10.96.12.7:443: connect: connection refused',
    cause: "PodCreationForbidden",
    summary: /admission webhook "mutate.example.com" cannot be called/,
    fix: /failurePolicy: Fail/,
  },
  {
    name: "a missing service account",
    kind: "ReplicaSet",
    message:
      'Error creating: pods "web-7d9f8b6c5-x2x4z" is forbidden: error looking up service account shop/builder: serviceaccount "builder" not found',
    cause: "PodCreationForbidden",
    summary:
      /their service account shop\/builder cannot be used \(serviceaccount "builder" not found\)/,
    fix: /kubectl create serviceaccount builder -n shop/,
  },
  {
    name: "RBAC",
    kind: "ReplicaSet",
    message:
      'Error creating: pods "web-7d9f8b6c5-x2x4z" is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods" in API group "" in the namespace "shop"',
    cause: "PodCreationForbidden",
    summary:
      /RBAC does not let system:serviceaccount:kube-system:replicaset-controller create pods in namespace shop$/,
    fix:
      /kubectl auth can-i create pods --as system:serviceaccount:kube-system:replicaset-controller -n shop/,
  },
  {
    name: "a LimitRange",
    kind: "ReplicaSet",
    message:
      'Error creating: pods "web-7d9f8b6c5-x2x4z" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]',
    cause: "PodCreationForbidden",
    summary: /a LimitRange forbids them: maximum cpu usage per Container is 1, but limit is 2, max/,
    fix: /kubectl describe limitrange -n shop/,
  },
  {
    name: "not a refusal we know",
    kind: "ReplicaSet",
    message:
      "Error creating: Timeout: request did not complete within requested timeout - context deadline exceeded",
    cause: "Unknown",
    summary: /^ReplicaSet shop\/web-7d9f8b6c5 cannot create its pods: cause not recognised$/,
    fix: /^$/,
  },
];

for (const row of ROWS) {
  Deno.test(`pod creation: ${row.name} -> ${row.cause}`, () => {
    const explanation = explainPodCreation({
      controller: { kind: row.kind, metadata: { namespace: "shop", name: "web-7d9f8b6c5" } },
      message: row.message,
    });
    strictEqual(explanation.cause, row.cause);
    match(explanation.summary, row.summary);
    match(explanation.fix.join("\n"), row.fix);
    ok(explanation.evidence.some((e) => e.kind === "text" && e.text === row.message));
  });
}

Deno.test("the controller's prefixes are stripped", () => {
  strictEqual(
    apiServerMessage('create Pod db-0 in StatefulSet db failed error: pods "db-0" is forbidden: x'),
    'pods "db-0" is forbidden: x',
  );
});

Deno.test("Pod Security violations are listed one per check", () => {
  const failure = classifyCreationFailure(ROWS[1]?.message ?? "", "shop");
  deepStrictEqual(failure?.violations?.map(([check]) => check), [
    "allowPrivilegeEscalation != false",
    "unrestricted capabilities",
    "runAsNonRoot != true",
    "seccompProfile",
  ]);
});

const QUOTA_MESSAGE = ROWS[2]?.message ?? "";

function quota(): V1ResourceQuota {
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { namespace: "shop", name: "compute-quota" },
    spec: { hard: { "limits.cpu": "4" } },
    status: { hard: { "limits.cpu": "4" }, used: { "limits.cpu": "3" } },
  };
}

function replicaSet(): V1ReplicaSet {
  const base = fakeReplicaSet({ metadata: { namespace: "shop" } });
  return {
    ...base,
    status: {
      replicas: 0,
      conditions: [{
        type: "ReplicaFailure",
        status: "True",
        reason: "FailedCreate",
        message: apiServerMessage(QUOTA_MESSAGE),
        lastTransitionTime: "2024-05-01T10:00:00Z",
      }],
    },
  };
}

Deno.test("the ReplicaFailure condition and the quota are evidence", () => {
  const explanation = explainPodCreation({
    controller: replicaSet(),
    message: QUOTA_MESSAGE,
    count: 7,
    workload: "Deployment/shop/web",
    quotas: [quota()],
  });
  match(
    explanation.summary,
    /^ReplicaSet shop\/web-5d8f7c9b4 \(of Deployment shop\/web\) cannot create its pods: /,
  );
  const tables = explanation.evidence.flatMap((e) => e.kind === "table" ? [e.table] : []);
  deepStrictEqual(tables.find((t) => t.title === "ResourceQuota compute-quota")?.rows, [[
    "limits.cpu",
    "4",
    "3",
    "2",
  ]]);
  ok(tables.some((t) => t.rows.some((r) => r[0] === "ReplicaFailure" && r[2] === "FailedCreate")));
  ok(
    explanation.evidence.some((e) =>
      e.kind === "text" && e.title === "FailedCreate event, 7 times"
    ),
  );
});

Deno.test("the workflow reads the ReplicaSet, its Deployment and the quota", async () => {
  const rs = replicaSet();
  const name = rs.metadata?.name ?? "";
  const event = fakeEvent("k8s.warningEvent", {
    k8sEvent: {
      namespace: "shop",
      name: `${name}.17a`,
      type: "Warning",
      reason: "FailedCreate",
      message: QUOTA_MESSAGE,
      count: 3,
      firstTimestamp: "2024-05-01T10:00:00Z",
      lastTimestamp: "2024-05-01T10:01:00Z",
      involvedObject: { kind: "ReplicaSet", namespace: "shop", name },
    },
  });
  const run = await runWorkflow(workflow, event, {
    objects: [rs, fakeDeployment({ metadata: { namespace: "shop" } }), quota()],
  });
  const [finding] = run.findings;
  ok(finding !== undefined);
  deepStrictEqual(finding.labels, {
    cause: "QuotaExceeded",
    workload: "Deployment/shop/web",
    namespace: "shop",
  });
  strictEqual(finding.dedupeKey, "QuotaExceeded/Deployment/shop/web");
  deepStrictEqual(finding.subject, { kind: "ReplicaSet", namespace: "shop", name });
  match(finding.body ?? "", /\| limits.cpu \| 4 \| 3 \| 2 \|/);
});

Deno.test("the workflow ignores other warnings and other objects", async () => {
  const other = fakeEvent("k8s.warningEvent");
  const run = await runWorkflow(workflow, other, {});
  deepStrictEqual(run.findings, []);
  deepStrictEqual(run.calls, []);
});

Deno.test("the workflow reads the raw core/v1 Event when the summary is missing", async () => {
  const rs = replicaSet();
  const name = rs.metadata?.name ?? "";
  const base = fakeEvent("k8s.warningEvent");
  const raw = {
    apiVersion: "v1" as const,
    kind: "Event" as const,
    metadata: { namespace: "shop", name: `${name}.17b` },
    involvedObject: { apiVersion: "apps/v1", kind: "ReplicaSet", namespace: "shop", name },
    type: "Warning",
    reason: "FailedCreate",
    message: ROWS[0]?.message ?? "",
    count: 2,
    lastTimestamp: "2024-05-01T10:01:00Z",
  };
  const { k8sEvent: _, ...withoutSummary } = { ...base, object: raw };
  const run = await runWorkflow(workflow, withoutSummary as typeof base, {
    objects: [rs, fakeDeployment({ metadata: { namespace: "shop" } })],
  });
  strictEqual(run.findings[0]?.labels?.["cause"], "PodCreationForbidden");
  match(run.findings[0]?.body ?? "", /FailedCreate event, 2 times, last at 2024-05-01T10:01:00Z/);
});
