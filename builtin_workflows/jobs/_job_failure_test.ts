// The Job failure analyzer with plain objects, one row per cause with the job controller's own
// message, and the workflow against a fake cluster.

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type { V1ContainerStateTerminated, V1CronJob, V1Job, V1Pod } from "@wfhost/sdk";
import { fakeEvent, fakeJob, runWorkflow } from "@wfhost/sdk/testing.ts";
import { explainJobFailure, failedContainer, jobPodSelector } from "./_job_failure.ts";
import workflow from "./job-failure-reporter.ts";

const UID = "00000000-0000-4000-8000-000000000004";

function job(reason: string, message: string, spec: Record<string, unknown> = {}): V1Job {
  const base = fakeJob({ metadata: { namespace: "shop", name: "migrate", uid: UID } });
  const condition = {
    type: "Failed",
    status: "True",
    reason,
    message,
    lastTransitionTime: "2024-05-01T10:00:00Z",
  };
  return {
    ...base,
    metadata: { ...base.metadata, ownerReferences: [] },
    spec: { ...base.spec, template: base.spec?.template ?? {}, backoffLimit: 0, ...spec },
    status: {
      ...base.status,
      failed: 1,
      conditions: [{ ...condition, type: "FailureTarget" }, condition],
    },
  };
}

function pod(
  name: string,
  terminated: V1ContainerStateTerminated | undefined,
  phase = "Failed",
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      namespace: "shop",
      name,
      creationTimestamp: "2024-05-01T09:59:00Z",
      labels: { "batch.kubernetes.io/controller-uid": UID },
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "Job",
        name: "migrate",
        uid: UID,
        controller: true,
      }],
    },
    spec: { containers: [{ name: "job", image: "example/migrate:1" }] },
    status: {
      phase,
      containerStatuses: [{
        name: "job",
        image: "example/migrate:1",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: terminated === undefined
          ? { running: { startedAt: "2024-05-01T09:59:01Z" } }
          : { terminated: { ...terminated, finishedAt: "2024-05-01T09:59:30Z" } },
      }],
    },
  };
}

interface Row {
  readonly name: string;
  readonly job: V1Job;
  readonly pods: readonly V1Pod[];
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence: RegExp;
  readonly fix: RegExp;
}

// The messages are the job controller's (pkg/controller/job/job_controller.go).
const ROWS: readonly Row[] = [
  {
    name: "pods failing past backoffLimit: the pod's exit code",
    job: job("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    pods: [pod("migrate-x1", { exitCode: 2, reason: "Error" })],
    cause: "BackoffLimitExceeded",
    summary:
      /^Job shop\/migrate failed: its pods failed 1 time, past its backoffLimit of 0; the last one, migrate-x1: container job exited with code 2/,
    evidence: /migrate-x1: ApplicationError/,
    fix: /fix the code/,
  },
  {
    name: "pods OOM-killed past backoffLimit",
    job: job("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    pods: [pod("migrate-x1", { exitCode: 137, reason: "OOMKilled" })],
    cause: "BackoffLimitExceeded",
    summary: /migrate-x1: container job was OOM-killed/,
    evidence: /migrate-x1: OOMKilled/,
    fix: /memory limit/,
  },
  {
    name: "a command missing from the image",
    job: job("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    pods: [pod("migrate-x1", { exitCode: 127, reason: "Error" })],
    cause: "BackoffLimitExceeded",
    summary: /exited with code 127: command not found/,
    evidence: /CommandNotFound/,
    fix: /`command`\/`args`/,
  },
  {
    name: "past activeDeadlineSeconds",
    job: job("DeadlineExceeded", "Job was active longer than specified deadline", {
      activeDeadlineSeconds: 1,
    }),
    pods: [],
    cause: "DeadlineExceeded",
    summary:
      /^Job shop\/migrate failed: it was still running after its activeDeadlineSeconds of 1 s/,
    evidence: /DeadlineExceeded: Job was active longer than specified deadline/,
    fix: /Raise `spec.activeDeadlineSeconds` \(now 1\)/,
  },
  {
    name: "a pod failure policy rule: not a cause we name",
    job: job(
      "PodFailurePolicy",
      "Container job for pod shop/migrate-x1 failed with exit code 42 matching FailJob rule at index 0",
    ),
    pods: [pod("migrate-x1", { exitCode: 42, reason: "Error" })],
    cause: "Unknown",
    summary: /^Job shop\/migrate failed \(PodFailurePolicy\): cause not recognised$/,
    evidence: /matching FailJob rule at index 0/,
    fix: /^$/,
  },
];

function text(explanation: ReturnType<typeof explainJobFailure>): string {
  return explanation.evidence.map((item) =>
    item.kind === "table"
      ? item.table.rows.map((row) => row.join(" | ")).join("\n")
      : `${item.title}: ${item.text}`
  ).join("\n");
}

for (const row of ROWS) {
  Deno.test(`job failure: ${row.name} -> ${row.cause}`, () => {
    const explanation = explainJobFailure({ job: row.job, pods: row.pods });
    strictEqual(explanation.cause, row.cause);
    match(explanation.summary, row.summary);
    match(text(explanation), row.evidence);
    match(explanation.fix.join("\n"), row.fix);
  });
}

Deno.test("the CronJob behind the Job is named, with how to re-run it", () => {
  const cronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { namespace: "shop", name: "nightly" },
    spec: { schedule: "0 3 * * *", jobTemplate: {} },
    status: {},
  } as V1CronJob;
  const explanation = explainJobFailure({
    job: job("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    pods: [pod("migrate-x1", { exitCode: 1, reason: "Error" })],
    cronJob,
    logs: [{ pod: "migrate-x1", container: "job", previous: false, text: "KeyError: 'id'" }],
    tailLines: 5,
  });
  match(explanation.summary, /created by CronJob nightly/);
  match(text(explanation), /shop\/nightly, schedule `0 3 \* \* \*`, no successful run/);
  ok(
    explanation.evidence.some((e) =>
      e.kind === "log" && e.title === "Log of migrate-x1 (container job, last run, last 5 lines)"
    ),
  );
  match(explanation.fix.join("\n"), /kubectl create job --from=cronjob\/nightly/);
});

Deno.test("the failed container is the first terminated badly, the previous run's if restarted", () => {
  const restarted = pod("migrate-x2", undefined, "Running");
  const status = restarted.status?.containerStatuses?.[0];
  ok(status !== undefined);
  const withLast: V1Pod = {
    ...restarted,
    status: {
      ...restarted.status,
      containerStatuses: [{
        ...status,
        lastState: { terminated: { exitCode: 3, reason: "Error" } },
      }],
    },
  };
  deepStrictEqual(failedContainer(withLast)?.previous, true);
  strictEqual(failedContainer(pod("ok", { exitCode: 0, reason: "Completed" })), undefined);
  strictEqual(
    jobPodSelector(job("DeadlineExceeded", "")),
    `batch.kubernetes.io/controller-uid=${UID}`,
  );
});

Deno.test("the workflow lists the Job's pods, reads the failed one's log, names the CronJob", async () => {
  const failed = fakeJob({ metadata: { namespace: "shop" } });
  const uid = failed.metadata?.uid ?? "";
  const name = failed.metadata?.name ?? "";
  const failedPod: V1Pod = {
    ...pod(`${name}-abcde`, { exitCode: 2, reason: "Error" }),
    metadata: {
      namespace: "shop",
      name: `${name}-abcde`,
      labels: { "batch.kubernetes.io/controller-uid": uid },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid, controller: true }],
    },
  };
  const cronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { namespace: "shop", name: "report", uid: "00000000-0000-4000-8000-000000000005" },
    spec: { schedule: "*/5 * * * *", jobTemplate: {} },
  } as V1CronJob;
  const run = await runWorkflow(workflow, fakeEvent("job.failed", { object: failed }), {
    objects: [failed, failedPod, cronJob],
    params: { tailLines: 2 },
    responses: { "k8s.podLogs": { text: "a\nb\nTraceback...\nValueError: bad row\n" } },
  });
  const [finding] = run.findings;
  ok(finding !== undefined);
  strictEqual(finding.labels?.["cause"], "BackoffLimitExceeded");
  strictEqual(finding.labels?.["workload"], "CronJob/shop/report");
  strictEqual(finding.labels?.["namespace"], "shop");
  strictEqual(finding.dedupeKey, "BackoffLimitExceeded/CronJob/shop/report");
  deepStrictEqual(finding.subject, { kind: "Job", namespace: "shop", name });
  match(finding.body ?? "", /Traceback\.\.\.\nValueError: bad row/);
  const logCall = run.calls.find((call) => call.method === "k8s.podLogs");
  deepStrictEqual(logCall?.params, {
    pod: { namespace: "shop", name: `${name}-abcde` },
    container: "job",
    previous: false,
    tailLines: 2,
  });
});
