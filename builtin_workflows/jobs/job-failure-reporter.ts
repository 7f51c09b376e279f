/**
 * `job-failure-reporter`: says why a Job failed (its `Failed` condition:
 * `BackoffLimitExceeded` or `DeadlineExceeded`), with its pods' exit codes
 * decoded, their log tails and the CronJob behind it. The analysis is
 * `_job_failure.ts`; this file only reads.
 *
 * Switched on by `workflows.jobs.jobFailureReporter`; `tailLines` sets how
 * many log lines of each failed pod are shown.
 *
 * @module
 */

import { defineWorkflow, type V1CronJob, type V1Job, type V1Pod } from "@wfhost/sdk";
import { explanationFinding, logTail, workloadOf } from "@wfhost/sdk/explain.ts";
import { explainJobFailure, jobPodSelector, type PodLog, podsToRead } from "./_job_failure.ts";

/** Log tails of at most this many failed pods. */
const LOGGED_PODS = 3;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export default defineWorkflow({
  name: "job-failure-reporter",
  description:
    "Why a Job failed: its Failed condition, its pods' exit codes and logs, its CronJob.",
  triggers: [{ on: "job.failed" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: ["batch/v1/Job", "batch/v1/CronJob"],
  params: {
    tailLines: {
      type: "integer",
      default: 40,
      minimum: 1,
      maximum: 1000,
      description: "Log lines of each failed pod shown in the finding.",
    },
  },
  async run(ctx, event) {
    if (event.kind !== "job.failed") {
      ctx.log.info("job-failure-reporter acts on job.failed events, not %s", event.kind);
      return;
    }
    const job: V1Job = event.object;
    const namespace = job.metadata?.namespace ?? "default";
    const name = job.metadata?.name ?? "?";
    const tailLines = ctx.params.tailLines;

    let pods: readonly V1Pod[] = [];
    let podsNote: string | undefined;
    try {
      const listed = await ctx.k8s.list({
        apiVersion: "v1",
        kind: "Pod",
        namespace,
        labelSelector: jobPodSelector(job),
        limit: 200,
      });
      const uid = job.metadata?.uid;
      pods = listed.items.filter((pod) =>
        uid === undefined ||
        (pod.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid)
      );
      if (listed.truncated) podsNote = "more than 200 pods: only the first 200 are shown";
    } catch (error) {
      podsNote = `the pods could not be listed: ${errorText(error)}`;
    }

    let owners: Awaited<ReturnType<typeof ctx.k8s.owners>> = [];
    try {
      owners = await ctx.k8s.owners(job);
    } catch (error) {
      ctx.log.warn("owners of Job %s/%s: %s", namespace, name, errorText(error));
    }
    const cronJob = owners.find((owner) => owner.kind === "CronJob") as V1CronJob | undefined;

    const logs: PodLog[] = [];
    for (const { pod, failed } of podsToRead(pods, LOGGED_PODS)) {
      const podName = pod.metadata?.name ?? "?";
      const base = { pod: podName, container: failed.container, previous: failed.previous };
      try {
        const text = await ctx.k8s.podLogs({ namespace, name: podName }, {
          container: failed.container,
          previous: failed.previous,
          tailLines,
        });
        logs.push({ ...base, text: logTail(text, tailLines) });
      } catch (error) {
        logs.push({ ...base, error: `the log could not be read: ${errorText(error)}` });
      }
    }

    const explanation = explainJobFailure({
      job,
      pods,
      logs,
      tailLines,
      reason: event.reason,
      ...(cronJob === undefined ? {} : { cronJob }),
      ...(event.message === undefined ? {} : { message: event.message }),
      ...(podsNote === undefined ? {} : { podsNote }),
    });
    await ctx.report(explanationFinding(explanation, {
      namespace,
      workload: workloadOf(job, owners),
      subject: { kind: "Job", namespace, name },
      labels: { job: name },
    }));
  },
});
