/**
 * An Alertmanager alert, explained: the pure analyzer behind
 * `default-enricher`.
 *
 * {@linkcode alertTargets} turns the alert's labels (`namespace` + `pod`,
 * `job_name`, `deployment`, `statefulset`, `daemonset`, `replicaset`,
 * `node`, as kube-state-metrics and node-exporter alerts carry them) into
 * the objects to read, most specific first. {@linkcode explainAlert} explains
 * the one that was found the way the other explainers do: a pod's container
 * states with exit codes decoded (and its log tail), a workload's
 * conditions and pods, a Job's `Failed` condition and pods, a node's
 * conditions. The alert's own words (summary, description, runbook) are
 * quoted when asked.
 *
 * @module
 */

import {
  type Cause,
  type ConditionLike,
  conditionsTable,
  containerStatesTable,
  decodeExit,
  type Evidence,
  type Explanation,
  type ExplanationScope,
  jobFailureCause,
  nodeConditionCause,
  terminationCause,
  workloadOf,
} from "@wfhost/sdk/explain.ts";
import type {
  Alert,
  KubeObject,
  Severity,
  V1ContainerStateTerminated,
  V1Job,
  V1Node,
  V1Pod,
} from "@wfhost/sdk";

/** An object an alert names. */
export interface AlertTarget {
  /** `Pod`, `Job`, `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet` or `Node`. */
  readonly kind: string;
  /** Its apiVersion. */
  readonly apiVersion: string;
  /** Its namespace (absent for nodes). */
  readonly namespace?: string;
  /** Its name. */
  readonly name: string;
  /** The label it came from. */
  readonly label: string;
}

/** Alert labels naming namespaced objects, most specific first. */
const NAMESPACED_LABELS: readonly (readonly [string, string, string])[] = [
  ["pod", "v1", "Pod"],
  ["job_name", "batch/v1", "Job"],
  ["deployment", "apps/v1", "Deployment"],
  ["statefulset", "apps/v1", "StatefulSet"],
  ["daemonset", "apps/v1", "DaemonSet"],
  ["replicaset", "apps/v1", "ReplicaSet"],
];

/**
 * The objects an alert's labels name, most specific first: the pod, the
 * Job (`job_name`: `job` is Prometheus' scrape job), the workload, then the
 * node. Namespaced ones need the `namespace` label.
 *
 * @param labels The alert's labels.
 * @returns The targets, in the order to try them.
 */
export function alertTargets(labels: Readonly<Record<string, string>>): AlertTarget[] {
  const targets: AlertTarget[] = [];
  const namespace = labels["namespace"];
  if (namespace) {
    for (const [label, apiVersion, kind] of NAMESPACED_LABELS) {
      const name = labels[label];
      if (name) targets.push({ kind, apiVersion, namespace, name, label });
    }
  }
  const node = labels["node"];
  if (node) targets.push({ kind: "Node", apiVersion: "v1", name: node, label: "node" });
  return targets;
}

/** A container's log tail, or why it could not be read. */
export interface ContainerLog {
  /** The container. */
  readonly container: string;
  /** Whether it is the previous run's. */
  readonly previous: boolean;
  /** The tail. */
  readonly text?: string;
  /** Why it could not be read. */
  readonly error?: string;
}

/** A workload (Deployment, StatefulSet, DaemonSet, ReplicaSet) as read. */
export interface WorkloadObject {
  /** Its kind. */
  readonly kind: string;
  /** Its namespace and name. */
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
  /** Its spec (replicas, selector). */
  readonly spec?: unknown;
  /** Its status (ready replicas, conditions). */
  readonly status?: unknown;
}

/** What the alert turned out to be about, as read. */
export type AlertSubject =
  | {
    readonly kind: "pod";
    readonly pod: V1Pod;
    readonly owners: readonly KubeObject[];
    readonly log?: ContainerLog;
  }
  | {
    readonly kind: "workload";
    readonly object: WorkloadObject;
    readonly owners: readonly KubeObject[];
    readonly pods: readonly V1Pod[];
  }
  | {
    readonly kind: "job";
    readonly job: V1Job;
    readonly owners: readonly KubeObject[];
    readonly pods: readonly V1Pod[];
  }
  | { readonly kind: "node"; readonly node: V1Node };

/** What the analyzer reads. */
export interface AlertInput {
  /** The alert. */
  readonly alert: Alert;
  /** Quote the alert's annotations (`alertAnnotationsEnrichment`). */
  readonly annotations: boolean;
  /** The object found, if any. */
  readonly subject?: AlertSubject;
  /** Remarks: targets not found, reads refused. */
  readonly notes?: readonly string[];
}

/** The container of a pod that explains it: the one that terminated badly, most restarted first. */
export interface PodProblem {
  /** The container. */
  readonly container: string;
  /** What its termination points to. */
  readonly cause: Cause;
  /** The termination (current, else last). */
  readonly terminated?: V1ContainerStateTerminated;
  /** Whether `terminated` is the last run's. */
  readonly previous: boolean;
  /** The current waiting reason and message, e.g. `CrashLoopBackOff`. */
  readonly waiting?: { readonly reason: string; readonly message: string };
  /** Its restarts. */
  readonly restarts: number;
}

/**
 * The container to explain a pod by: the most restarted one that
 * terminated badly (current or last run), else one waiting to start.
 *
 * @param pod The pod.
 * @param preferred The container the alert names, tried first.
 * @returns The problem, or `undefined` when every container is fine.
 */
export function podProblem(pod: V1Pod, preferred?: string): PodProblem | undefined {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ].sort((a, b) =>
    Number(b.name === preferred) - Number(a.name === preferred) || b.restartCount - a.restartCount
  );
  let waiting: PodProblem | undefined;
  for (const status of statuses) {
    const wait = status.state?.waiting;
    const current = status.state?.terminated;
    const last = status.lastState?.terminated;
    // A clean exit counts when the container is restarted for it (restartPolicy Always).
    const restartsOnSuccess = (pod.spec?.restartPolicy ?? "Always") === "Always" &&
      status.restartCount > 0;
    const bad = (t: V1ContainerStateTerminated | undefined): boolean =>
      t !== undefined &&
      (restartsOnSuccess || !(t.exitCode === 0 && (t.reason ?? "Completed") === "Completed"));
    const terminated = bad(current) ? current : bad(last) ? last : undefined;
    const waitingState = wait?.reason
      ? { waiting: { reason: wait.reason, message: wait.message ?? "" } }
      : {};
    if (terminated !== undefined) {
      return {
        container: status.name,
        cause: terminationCause(terminated),
        terminated,
        previous: terminated === last,
        restarts: status.restartCount,
        ...waitingState,
      };
    }
    if (waiting === undefined && wait?.reason && wait.reason !== "ContainerCreating") {
      waiting = {
        container: status.name,
        cause: "Unknown",
        previous: false,
        restarts: status.restartCount,
        ...waitingState,
      };
    }
  }
  return waiting;
}

const TERMINATION_FIXES: Readonly<Partial<Record<Cause, string>>> = {
  ApplicationError:
    "The application exits with its own error: read the log above and fix the code or its configuration (environment, mounted files, the services it needs).",
  OOMKilled:
    "Raise the container's memory limit (`resources.limits.memory`) or make it use less memory: it was OOM-killed.",
  CommandNotFound:
    "Fix the container's `command`/`args` (or the image's entrypoint): the executable does not exist in the image.",
  Segfault:
    "The process crashed with a segmentation fault: a native library bug, or an image built for another CPU.",
  ExitedZero:
    "The main process exits successfully: a long-running service must not return (run it in the foreground); one-off work belongs in a Job.",
  Terminated:
    "It was stopped from outside (SIGTERM/SIGKILL): a failing liveness probe, a node drain or an eviction; read the pod's events.",
};

function memoryLimit(pod: V1Pod, container: string): string | undefined {
  return pod.spec?.containers.find((c) => c.name === container)?.resources?.limits?.["memory"];
}

function ended(problem: PodProblem, pod: V1Pod): string {
  const t = problem.terminated;
  if (t === undefined) return "";
  if (problem.cause === "OOMKilled") {
    const limit = memoryLimit(pod, problem.container);
    return `was OOM-killed (exit code ${t.exitCode}${limit ? `, memory limit ${limit}` : ""})`;
  }
  const meaning = decodeExit(t.exitCode, t.signal).meaning;
  const code = `exited with code ${t.exitCode}`;
  return meaning.startsWith(code) ? meaning : `${code}: ${meaning}`;
}

function name(object: { metadata?: { namespace?: string; name?: string } }): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name ?? "?"}` : name ?? "?";
}

function explainPod(
  pod: V1Pod,
  owners: readonly KubeObject[],
  log: ContainerLog | undefined,
  preferred: string | undefined,
): Explanation {
  const problem = podProblem(pod, preferred);
  const top = owners.at(-1);
  const of = top === undefined ? "" : ` (of ${top.kind} ${name(top)})`;
  const who = `Pod ${name(pod)}${of}`;
  const evidence: Evidence[] = [{
    kind: "table",
    table: containerStatesTable(`Containers of ${pod.metadata?.name ?? "?"}`, [pod]),
  }];
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    evidence.push({
      kind: "text",
      title: "Scheduling",
      text: `${scheduled.reason ?? ""}: ${scheduled.message ?? ""}`,
    });
  }
  if (problem?.waiting?.message) {
    evidence.push({
      kind: "text",
      title: `${problem.container} waits (${problem.waiting.reason})`,
      text: problem.waiting.message,
    });
  }
  if (log !== undefined) {
    const title = `Log of ${log.container} (${log.previous ? "previous run" : "last run"})`;
    if (log.text !== undefined && log.text.trim() !== "") {
      evidence.push({ kind: "log", title, text: log.text });
    } else {
      evidence.push({ kind: "text", title, text: log.error ?? "empty" });
    }
  }
  if (problem === undefined || problem.cause === "Unknown") {
    const state = problem?.waiting
      ? `container ${problem.container} waits in ${problem.waiting.reason}`
      : `it is ${pod.status?.phase ?? "Unknown"}`;
    return {
      cause: "Unknown",
      summary: `${who}: ${state}: cause not recognised`,
      evidence,
      fix: [],
    };
  }
  const restarts = problem.restarts > 0
    ? `, restarted ${problem.restarts} time${problem.restarts === 1 ? "" : "s"}`
    : "";
  const now = problem.waiting ? `; now ${problem.waiting.reason}` : "";
  return {
    cause: problem.cause,
    summary: `${who}: container ${problem.container} ${ended(problem, pod)}${restarts}${now}`,
    evidence,
    fix: [TERMINATION_FIXES[problem.cause] ?? ""].filter((s) => s !== ""),
  };
}

function podsCause(pods: readonly V1Pod[]): { cause: Cause; pod: V1Pod; problem: PodProblem }[] {
  return pods.flatMap((pod) => {
    const problem = podProblem(pod);
    return problem === undefined ? [] : [{ cause: problem.cause, pod, problem }];
  });
}

function mostCommon<T>(items: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? value as Record<string, unknown> : {};
}

function conditionsOf(object: { readonly status?: unknown }): ConditionLike[] {
  const conditions = record(object.status)["conditions"];
  return Array.isArray(conditions) ? conditions as ConditionLike[] : [];
}

function explainWorkload(
  object: WorkloadObject,
  owners: readonly KubeObject[],
  pods: readonly V1Pod[],
): Explanation {
  const spec = record(object.spec);
  const status = record(object.status);
  const top = owners.at(-1);
  const who = `${object.kind} ${name(object)}${
    top === undefined ? "" : ` (of ${top.kind} ${name(top)})`
  }`;
  const desired = spec["replicas"] ?? status["desiredNumberScheduled"];
  const ready = status["readyReplicas"] ?? status["numberReady"] ?? 0;
  const conditions = conditionsOf({ status });
  const evidence: Evidence[] = [
    {
      kind: "table",
      table: conditionsTable(`Conditions of ${object.kind} ${name(object)}`, conditions),
    },
    { kind: "table", table: containerStatesTable(`Its ${pods.length} pods`, pods) },
  ];
  const replicas = `${String(ready)} of ${String(desired ?? "?")} ready`;
  const failing = podsCause(pods).filter((p) => p.cause !== "Unknown");
  const cause = mostCommon(failing.map((p) => p.cause));
  if (cause !== undefined) {
    const same = failing.filter((p) => p.cause === cause);
    const example = same[0];
    const names = same.map((p) => p.pod.metadata?.name ?? "?");
    evidence.push({ kind: "text", title: `Pods failing with ${cause}`, text: names.join(", ") });
    const what = example === undefined
      ? ""
      : `; ${same.length} pod${
        same.length === 1 ? "" : "s"
      }: container ${example.problem.container} ${ended(example.problem, example.pod)}`;
    return {
      cause,
      summary: `${who}: ${replicas}${what}`,
      evidence,
      fix: [TERMINATION_FIXES[cause] ?? ""].filter((s) => s !== ""),
    };
  }
  const bad = conditions.find((c) =>
    (c.type === "ReplicaFailure" && c.status === "True") ||
    ((c.type === "Available" || c.type === "Progressing") && c.status === "False")
  );
  const said = bad === undefined ? "" : ` (${bad.type}: ${bad.reason ?? ""} ${bad.message ?? ""})`
    .replace(/ \)$/, ")");
  return {
    cause: "Unknown",
    summary: `${who}: ${replicas}${said}: cause not recognised`,
    evidence,
    fix: [],
  };
}

function explainJob(
  job: V1Job,
  owners: readonly KubeObject[],
  pods: readonly V1Pod[],
): Explanation {
  const conditions = job.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
  const top = owners.at(-1);
  const who = `Job ${name(job)}${top === undefined ? "" : ` (of ${top.kind} ${name(top)})`}`;
  const evidence: Evidence[] = [
    { kind: "table", table: conditionsTable(`Conditions of Job ${name(job)}`, conditions) },
    { kind: "table", table: containerStatesTable(`Its ${pods.length} pods`, pods) },
  ];
  const failing = podsCause(pods).filter((p) => p.cause !== "Unknown");
  if (failing.length > 0) {
    evidence.push({
      kind: "text",
      title: "The pods' own causes",
      text: failing.map((p) =>
        `${p.pod.metadata?.name ?? "?"}: ${p.cause} (${ended(p.problem, p.pod)})`
      )
        .join("; "),
    });
  }
  const cause = jobFailureCause(failed?.reason);
  const example = failing[0];
  const podPhrase = example === undefined
    ? ""
    : `; pod ${example.pod.metadata?.name ?? "?"}: container ${example.problem.container} ${
      ended(example.problem, example.pod)
    }`;
  if (cause === "BackoffLimitExceeded") {
    return {
      cause,
      summary: `${who} failed: its pods failed past its backoffLimit of ${
        job.spec?.backoffLimit ?? 6
      }${podPhrase}`,
      evidence,
      fix: [
        (example === undefined ? undefined : TERMINATION_FIXES[example.cause]) ??
          "Read its pods' exit codes and logs: their own failure failed the Job.",
        "Raise `spec.backoffLimit` only if the failure is transient.",
      ],
    };
  }
  if (cause === "DeadlineExceeded") {
    return {
      cause,
      summary: `${who} failed: it was still running after its activeDeadlineSeconds of ${
        job.spec?.activeDeadlineSeconds ?? "?"
      } s`,
      evidence,
      fix: [
        "Raise `spec.activeDeadlineSeconds` if the work legitimately takes longer, or make it faster.",
      ],
    };
  }
  const state = failed === undefined ? "has not failed" : `failed (${failed.reason ?? "?"})`;
  return { cause: "Unknown", summary: `${who} ${state}: cause not recognised`, evidence, fix: [] };
}

const NODE_FIXES: Readonly<Partial<Record<Cause, string>>> = {
  NodeNotReady:
    "Check the machine is up and reachable, then its kubelet and container runtime (`systemctl status kubelet`, `journalctl -u kubelet`).",
  NodeMemoryPressure:
    "The kubelet evicts pods to reclaim memory: set memory requests on pods without them, move workloads or add capacity.",
  NodeDiskPressure:
    "Free disk on the node (unused images, logs, emptyDir); set ephemeral-storage limits on pods that write locally.",
  NodePIDPressure: "A pod forks too many processes: find it; cap PIDs per pod (`podPidsLimit`).",
};

function explainNode(node: V1Node): Explanation {
  const conditions = node.status?.conditions ?? [];
  const evidence: Evidence[] = [{
    kind: "table",
    table: conditionsTable(`Conditions of node ${name(node)}`, conditions),
  }];
  const ready = conditions.find((c) => c.type === "Ready");
  const bad = ready !== undefined && ready.status !== "True"
    ? ready
    : conditions.find((c) => c.type !== "Ready" && c.status === "True");
  const cause = bad === undefined ? "Unknown" : nodeConditionCause(bad.type);
  if (bad === undefined || cause === "Unknown") {
    return {
      cause: "Unknown",
      summary: `Node ${name(node)} is Ready with no pressure: cause not recognised`,
      evidence,
      fix: [],
    };
  }
  const what = bad.type === "Ready" ? `is not Ready (${bad.status})` : `reports ${bad.type}`;
  return {
    cause,
    summary: `Node ${name(node)} ${what}: ${bad.reason ?? ""}${
      bad.message ? `: ${bad.message}` : ""
    }`,
    evidence,
    fix: [NODE_FIXES[cause] ?? ""].filter((s) => s !== ""),
  };
}

const SEVERITIES: Readonly<Record<string, Severity>> = {
  critical: "critical",
  error: "high",
  warning: "high",
  info: "low",
  none: "info",
};

/**
 * Explains an alert: the object it names, explained, under the alert's name.
 *
 * @param input The alert, the object found, the options.
 * @returns The explanation (`Unknown` when nothing it names was found or known).
 */
export function explainAlert(input: AlertInput): Explanation {
  const { alert, subject } = input;
  const alertname = alert.labels["alertname"] ?? "unnamed alert";
  let inner: Explanation;
  switch (subject?.kind) {
    case "pod":
      inner = explainPod(subject.pod, subject.owners, subject.log, alert.labels["container"]);
      break;
    case "workload":
      inner = explainWorkload(subject.object, subject.owners, subject.pods);
      break;
    case "job":
      inner = explainJob(subject.job, subject.owners, subject.pods);
      break;
    case "node":
      inner = explainNode(subject.node);
      break;
    default: {
      const targets = alertTargets(alert.labels);
      inner = {
        cause: "Unknown",
        summary: targets.length === 0
          ? "it names no pod, workload, Job or node: cause not recognised"
          : `${
            targets.map((t) => `${t.kind} ${t.namespace ? `${t.namespace}/` : ""}${t.name}`).join(
              ", ",
            )
          } not found: cause not recognised`,
        evidence: [],
        fix: [],
      };
    }
  }
  const evidence: Evidence[] = [];
  if (input.annotations) {
    const { summary, description } = alert.annotations;
    const runbook = alert.annotations["runbook_url"] ?? alert.annotations["runbook"];
    if (summary) evidence.push({ kind: "text", title: "Alert summary", text: summary });
    if (description) evidence.push({ kind: "text", title: "Alert description", text: description });
    if (runbook) evidence.push({ kind: "text", title: "Runbook", text: runbook });
  }
  evidence.push({
    kind: "table",
    table: {
      title: `Alert ${alertname} (${alert.status}, since ${alert.startsAt})`,
      columns: ["label", "value"],
      rows: Object.entries(alert.labels).sort(([a], [b]) => a.localeCompare(b)),
    },
  });
  for (const note of input.notes ?? []) evidence.push({ kind: "text", title: "Note", text: note });
  evidence.push(...inner.evidence);
  const severity = SEVERITIES[alert.labels["severity"] ?? ""] ?? inner.severity ?? "high";
  return {
    cause: inner.cause,
    summary: `Alert ${alertname}: ${inner.summary}`,
    evidence,
    fix: inner.fix,
    severity,
  };
}

/**
 * The finding's namespace, workload, subject and labels for an alert's
 * explanation: the object found (its top workload), else the alert itself.
 *
 * @param input What {@linkcode explainAlert} was given.
 * @returns The scope for `explanationFinding`.
 */
export function alertScope(input: AlertInput): ExplanationScope {
  const { alert, subject } = input;
  const alertname = alert.labels["alertname"] ?? "unnamed";
  const labels = { alertname };
  const scoped = (object: WorkloadObject | V1Pod | V1Job, owners: readonly KubeObject[]) => {
    const namespace = object.metadata?.namespace ?? "";
    return {
      namespace,
      workload: workloadOf(object, owners),
      subject: { kind: object.kind ?? "?", namespace, name: object.metadata?.name ?? "?" },
      labels,
      episode: alertname,
    };
  };
  switch (subject?.kind) {
    case "pod":
      return scoped(subject.pod, subject.owners);
    case "workload":
      return scoped(subject.object, subject.owners);
    case "job":
      return scoped(subject.job, subject.owners);
    case "node":
      return {
        workload: `Node/${subject.node.metadata?.name ?? "?"}`,
        labels: { ...labels, node: subject.node.metadata?.name ?? "?" },
        episode: alertname,
      };
    default: {
      const namespace = alert.labels["namespace"];
      return {
        ...(namespace === undefined ? {} : { namespace }),
        workload: `Alert/${alertname}`,
        labels,
        episode: alert.fingerprint ?? "",
      };
    }
  }
}
