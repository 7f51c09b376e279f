/**
 * Why a Job failed: the pure analyzer behind `job-failure-reporter`.
 *
 * Objects in (the Job, its pods, their log tails, the CronJob behind it),
 * an {@linkcode Explanation} out. The cause is the Job's `Failed` condition
 * (`BackoffLimitExceeded`: its pods failed too often; `DeadlineExceeded`: it
 * ran past `activeDeadlineSeconds`); the pods' own causes (exit codes
 * decoded, OOM kills, commands not found) are evidence and shape the fix.
 *
 * @module
 */

import {
  type Cause,
  containerStatesTable,
  decodeExit,
  type Evidence,
  type Explanation,
  jobFailureCause,
  selectorString,
  terminationCause,
} from "@wfhost/sdk/explain.ts";
import type { V1ContainerStateTerminated, V1CronJob, V1Job, V1Pod } from "@wfhost/sdk";

/** A pod's log tail, or why it could not be read. */
export interface PodLog {
  /** The pod's name. */
  readonly pod: string;
  /** The container whose log it is. */
  readonly container: string;
  /** Whether it is the previous run's log (the container restarted since). */
  readonly previous: boolean;
  /** The log tail. */
  readonly text?: string;
  /** Why the log could not be read. */
  readonly error?: string;
}

/** What the analyzer reads. */
export interface JobFailureInput {
  /** The failed Job, as the event or `ctx.k8s.get` gave it. */
  readonly job: V1Job;
  /** Its pods (those left: the controller may have deleted some). */
  readonly pods: readonly V1Pod[];
  /** Log tails of its failed pods' failed containers. */
  readonly logs?: readonly PodLog[];
  /** The CronJob that created the Job, if any. */
  readonly cronJob?: V1CronJob;
  /** How many log lines were asked for (for the log titles). */
  readonly tailLines?: number;
  /** The event's reason, used when the Job carries no `Failed` condition. */
  readonly reason?: string;
  /** The event's message, likewise. */
  readonly message?: string;
  /** A remark about the pod listing (truncated, refused). */
  readonly podsNote?: string;
}

/** The container whose termination failed a pod. */
export interface FailedContainer {
  /** The container's name. */
  readonly container: string;
  /** Its termination. */
  readonly terminated: V1ContainerStateTerminated;
  /** Whether that termination is the last run's (the container restarted since). */
  readonly previous: boolean;
  /** What the termination points to. */
  readonly cause: Cause;
}

/**
 * The container that failed a pod: the first (init containers first) whose
 * current or last termination has a non-zero exit code or a reason other
 * than `Completed`.
 *
 * @param pod The pod.
 * @returns The failed container, or `undefined` when none terminated badly.
 */
export function failedContainer(pod: V1Pod): FailedContainer | undefined {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const status of statuses) {
    for (
      const [terminated, previous] of [
        [status.state?.terminated, false],
        [status.lastState?.terminated, true],
      ] as const
    ) {
      if (terminated === undefined) continue;
      if (terminated.exitCode === 0 && (terminated.reason ?? "Completed") === "Completed") continue;
      return { container: status.name, terminated, previous, cause: terminationCause(terminated) };
    }
  }
  return undefined;
}

function jobName(job: V1Job): string {
  return `${job.metadata?.namespace ?? "?"}/${job.metadata?.name ?? "?"}`;
}

function failedCondition(job: V1Job) {
  const conditions = job.status?.conditions ?? [];
  return conditions.find((c) => c.type === "Failed" && c.status === "True") ??
    conditions.find((c) => c.type === "FailureTarget" && c.status === "True");
}

function newestFirst(pods: readonly V1Pod[]): V1Pod[] {
  const stamp = (pod: V1Pod): string => {
    const failed = failedContainer(pod);
    return failed?.terminated.finishedAt ?? pod.metadata?.creationTimestamp ?? "";
  };
  return [...pods].sort((a, b) => stamp(b).localeCompare(stamp(a)));
}

/**
 * The pods whose logs are worth reading: the failed ones, newest first.
 *
 * @param pods The Job's pods.
 * @param limit At most this many.
 * @returns The pods with their failed container.
 */
export function podsToRead(
  pods: readonly V1Pod[],
  limit: number,
): { readonly pod: V1Pod; readonly failed: FailedContainer }[] {
  const out: { pod: V1Pod; failed: FailedContainer }[] = [];
  for (const pod of newestFirst(pods)) {
    const failed = failedContainer(pod);
    if (failed !== undefined && out.length < limit) out.push({ pod, failed });
  }
  return out;
}

/**
 * The label selector of a Job's pods: its `spec.selector` (the controller
 * sets `batch.kubernetes.io/controller-uid`, older ones `controller-uid`), or
 * the uid label when the Job has no selector.
 *
 * @param job The Job.
 * @returns The selector string.
 */
export function jobPodSelector(job: V1Job): string {
  const selector = selectorString(job.spec?.selector);
  if (selector !== "") return selector;
  return `batch.kubernetes.io/controller-uid=${job.metadata?.uid ?? ""}`;
}

function termination(failed: FailedContainer): string {
  const { terminated } = failed;
  if (failed.cause === "OOMKilled") {
    return `container ${failed.container} was OOM-killed (exit code ${terminated.exitCode})`;
  }
  const meaning = decodeExit(terminated.exitCode, terminated.signal).meaning;
  const code = `exited with code ${terminated.exitCode}`;
  return `container ${failed.container} ${
    meaning.startsWith(code) ? meaning : `${code}: ${meaning}`
  }`;
}

const POD_FIXES: Readonly<Partial<Record<Cause, string>>> = {
  ApplicationError:
    "The Job's own code failed: read the log above and fix the code, its input or its configuration (the exit code is the program's own).",
  OOMKilled:
    "Raise the container's memory limit (`resources.limits.memory`) or make the job use less memory: it was OOM-killed.",
  CommandNotFound:
    "Fix the container's `command`/`args`: the executable is not in the image (or not executable).",
  Segfault:
    "The process crashed with a segmentation fault: a native library bug, or an image built for another CPU.",
  Terminated:
    "Its pods were stopped from outside (SIGTERM/SIGKILL): a node drain, an eviction or a preemption; check the pods' events.",
  ExitedZero:
    "A container exited 0 yet the pod failed: check the other containers and the pod's events.",
};

function rerun(job: V1Job, cronJob: V1CronJob | undefined): string {
  const namespace = job.metadata?.namespace ?? "default";
  if (cronJob !== undefined) {
    const name = cronJob.metadata?.name ?? "?";
    return `Once fixed, run it again now: \`kubectl create job --from=cronjob/${name} ${name}-manual -n ${namespace}\` (or wait for the next schedule).`;
  }
  return `Once fixed, delete and re-create the Job (\`kubectl get job ${
    job.metadata?.name ?? "?"
  } -n ${namespace} -o yaml\` to keep its spec): a failed Job does not run again.`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * Explains why a Job failed.
 *
 * @param input The Job, its pods, their logs, its CronJob.
 * @returns The explanation: cause `BackoffLimitExceeded`, `DeadlineExceeded`, or `Unknown`.
 */
export function explainJobFailure(input: JobFailureInput): Explanation {
  const { job, cronJob } = input;
  const condition = failedCondition(job);
  const reason = condition?.reason ?? input.reason ?? "";
  const message = condition?.message ?? input.message ?? "";
  const cause = jobFailureCause(reason);
  const of = cronJob === undefined ? "" : ` (created by CronJob ${cronJob.metadata?.name ?? "?"})`;
  const what = `Job ${jobName(job)}${of} failed`;
  const failedPods = newestFirst(input.pods).flatMap((pod) => {
    const failed = failedContainer(pod);
    return failed === undefined ? [] : [{ pod, failed }];
  });
  const latest = failedPods[0];
  const spec = job.spec ?? { template: {} };
  const status = job.status ?? {};

  const evidence: Evidence[] = [{
    kind: "text",
    title: "Failed condition",
    text: reason === ""
      ? "the Job carries no Failed condition"
      : `${reason}${message ? `: ${message}` : ""}${
        condition?.lastTransitionTime ? ` (at ${condition.lastTransitionTime})` : ""
      }`,
  }, {
    kind: "table",
    table: {
      title: "Job",
      columns: ["field", "value"],
      rows: [
        ["backoffLimit", spec.backoffLimit ?? 6],
        ["activeDeadlineSeconds", spec.activeDeadlineSeconds ?? "none"],
        ["completions", spec.completions ?? 1],
        ["parallelism", spec.parallelism ?? 1],
        ["failed pods", status.failed ?? 0],
        ["succeeded pods", status.succeeded ?? 0],
        ["started", status.startTime ?? ""],
      ],
    },
  }];
  if (cronJob !== undefined) {
    evidence.push({
      kind: "text",
      title: "CronJob",
      text: `${cronJob.metadata?.namespace ?? "?"}/${cronJob.metadata?.name ?? "?"}, schedule \`${
        cronJob.spec?.schedule ?? "?"
      }\`${
        cronJob.status?.lastSuccessfulTime
          ? `, last succeeded at ${cronJob.status.lastSuccessfulTime}`
          : ", no successful run recorded"
      }`,
    });
  }
  if (input.pods.length > 0) {
    evidence.push({ kind: "table", table: containerStatesTable("Pods of the Job", input.pods) });
  } else {
    evidence.push({
      kind: "text",
      title: "Pods",
      text: "none left (deleted by the Job controller, a TTL, or by hand)",
    });
  }
  if (input.podsNote) evidence.push({ kind: "text", title: "Pod listing", text: input.podsNote });
  if (failedPods.length > 0) {
    evidence.push({
      kind: "text",
      title: "The pods' own causes",
      text: failedPods.slice(0, 10).map(({ pod, failed }) =>
        `${pod.metadata?.name ?? "?"}: ${failed.cause} (${termination(failed)})`
      ).join("; "),
    });
  }
  for (const log of input.logs ?? []) {
    const which = log.previous ? "previous run" : "last run";
    const lines = input.tailLines === undefined ? "" : `, last ${input.tailLines} lines`;
    const title = `Log of ${log.pod} (container ${log.container}, ${which}${lines})`;
    if (log.text !== undefined && log.text.trim() !== "") {
      evidence.push({ kind: "log", title, text: log.text });
    } else {
      evidence.push({ kind: "text", title, text: log.error ?? "empty" });
    }
  }

  if (cause === "BackoffLimitExceeded") {
    const failedCount = status.failed ?? failedPods.length;
    const limit = spec.backoffLimit ?? 6;
    const why = latest === undefined
      ? "its failed pods are gone"
      : `the last one, ${latest.pod.metadata?.name ?? "?"}: ${termination(latest.failed)}`;
    const podCause = latest?.failed.cause;
    const fix = [
      podCause === undefined
        ? "Its pods are gone: read the Job's events (`kubectl describe job`) and re-run it to see the failure."
        : POD_FIXES[podCause] ?? POD_FIXES.ApplicationError ?? "",
      `Raise \`spec.backoffLimit\` (now ${limit}) only if the failure is transient and a retry would succeed.`,
      rerun(job, cronJob),
    ];
    return {
      cause,
      summary: `${what}: its pods failed ${
        count(failedCount, "time")
      }, past its backoffLimit of ${limit}; ${why}`,
      evidence,
      fix,
    };
  }
  if (cause === "DeadlineExceeded") {
    const deadline = spec.activeDeadlineSeconds;
    const neverRan = input.pods.length > 0 &&
      input.pods.every((pod) =>
        (pod.status?.containerStatuses ?? []).every((s) =>
          s.state?.running === undefined && s.state?.terminated === undefined &&
          s.lastState?.terminated === undefined
        )
      );
    const fix = [
      neverRan
        ? "Its pods never started running within the deadline: see why in their events (scheduling, image pull) before raising it."
        : `Raise \`spec.activeDeadlineSeconds\` (now ${
          deadline ?? "?"
        }) if the work legitimately takes longer, or make it faster or split it into smaller Jobs.`,
      "The deadline counts from the Job's start, retries included: failing pods that retry use it up too.",
      rerun(job, cronJob),
    ];
    return {
      cause,
      summary: `${what}: it was still running after its activeDeadlineSeconds of ${
        deadline ?? "?"
      } s, so its pods were stopped${
        latest === undefined ? "" : `; a pod had also failed: ${termination(latest.failed)}`
      }`,
      evidence,
      fix,
    };
  }
  return {
    cause: "Unknown",
    summary: `${what}${reason ? ` (${reason})` : ""}: cause not recognised`,
    evidence,
    fix: [],
  };
}
