/**
 * Helpers for explainers: workflows that say *why* something failed. An
 * explainer is a pure analyzer (objects in, an {@linkcode Explanation} out)
 * plus a thin workflow that does the reads and reports
 * {@linkcode explanationFinding}. The built-in explainers use these; custom
 * workflows may too (`@wfhost/sdk/explain`).
 *
 * Every explanation names its cause from the stable {@linkcode CAUSES}
 * vocabulary (`Unknown` when no known cause matches: say so, do not guess),
 * and its finding carries the labels users route and deduplicate by: `cause`,
 * `namespace`, `workload` (`Deployment/shop/web`).
 *
 * @example
 * ```ts
 * import { explanationFinding, type Explanation } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation: Explanation = {
 *   cause: "CommandNotFound",
 *   summary: "web-1 crash-loops: its command does not exist in the image (exit code 127)",
 *   evidence: [{ kind: "text", title: "Last termination", text: "exit code 127" }],
 *   fix: ["Check `command`/`args` against the image's entrypoint."],
 * };
 * const finding = explanationFinding(explanation, {
 *   namespace: "shop",
 *   workload: "Deployment/shop/web",
 *   subject: { kind: "Pod", namespace: "shop", name: "web-1" },
 * });
 * strictEqual(finding.labels?.["cause"], "CommandNotFound");
 * strictEqual(finding.dedupeKey, "CommandNotFound/Deployment/shop/web");
 * ```
 *
 * @module
 */

import type { FindingSubject, ReportOptions, Severity, Table } from "./finding.ts";
import type { K8sEvent } from "./event.ts";
import type { K8sClient } from "./k8s.ts";
import type {
  KubeObject,
  V1ContainerStateTerminated,
  V1ContainerStatus,
  V1LabelSelector,
  V1OwnerReference,
  V1Pod,
} from "./k8s_types.ts";

/**
 * Every cause an explainer may name, a stable vocabulary users route by.
 *
 * @example
 * ```ts
 * import { CAUSES } from "./explain.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(CAUSES.includes("OOMKilled"));
 * ```
 */
export const CAUSES: readonly [
  "ApplicationError",
  "OOMKilled",
  "NodeOOM",
  "LivenessProbeFailed",
  "CommandNotFound",
  "Segfault",
  "ExitedZero",
  "Terminated",
  "ImageNotFound",
  "ImagePullUnauthorized",
  "RegistryUnreachable",
  "InvalidImageName",
  "ImageNeverPull",
  "InsufficientCPU",
  "InsufficientMemory",
  "UntoleratedTaint",
  "NodeSelectorMismatch",
  "UnboundPVC",
  "TooManyPods",
  "MissingConfigMap",
  "MissingSecret",
  "MissingConfigKey",
  "ReadinessProbeFailed",
  "StartupProbeFailed",
  "EvictedMemoryPressure",
  "EvictedDiskPressure",
  "BackoffLimitExceeded",
  "DeadlineExceeded",
  "PodCreationForbidden",
  "QuotaExceeded",
  "MissingPackage",
  "PermissionDenied",
  "DependencyUnreachable",
  "NodeNotReady",
  "NodeMemoryPressure",
  "NodeDiskPressure",
  "NodePIDPressure",
  "Unknown",
] = Object.freeze(
  [
    "ApplicationError",
    "OOMKilled",
    "NodeOOM",
    "LivenessProbeFailed",
    "CommandNotFound",
    "Segfault",
    "ExitedZero",
    "Terminated",
    "ImageNotFound",
    "ImagePullUnauthorized",
    "RegistryUnreachable",
    "InvalidImageName",
    "ImageNeverPull",
    "InsufficientCPU",
    "InsufficientMemory",
    "UntoleratedTaint",
    "NodeSelectorMismatch",
    "UnboundPVC",
    "TooManyPods",
    "MissingConfigMap",
    "MissingSecret",
    "MissingConfigKey",
    "ReadinessProbeFailed",
    "StartupProbeFailed",
    "EvictedMemoryPressure",
    "EvictedDiskPressure",
    "BackoffLimitExceeded",
    "DeadlineExceeded",
    "PodCreationForbidden",
    "QuotaExceeded",
    "MissingPackage",
    "PermissionDenied",
    "DependencyUnreachable",
    "NodeNotReady",
    "NodeMemoryPressure",
    "NodeDiskPressure",
    "NodePIDPressure",
    "Unknown",
  ] as const,
);

/**
 * The workload kinds an owner chain passes through: what an explainer that
 * names a pod's workload declares in `reads` (with `ctx.k8s.owners`).
 *
 * @example
 * ```ts
 * import { WORKLOAD_KINDS } from "./explain.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(WORKLOAD_KINDS.includes("apps/v1/Deployment"));
 * ```
 */
export const WORKLOAD_KINDS: readonly [
  "apps/v1/ReplicaSet",
  "apps/v1/Deployment",
  "apps/v1/StatefulSet",
  "apps/v1/DaemonSet",
  "batch/v1/Job",
  "batch/v1/CronJob",
] = Object.freeze(
  [
    "apps/v1/ReplicaSet",
    "apps/v1/Deployment",
    "apps/v1/StatefulSet",
    "apps/v1/DaemonSet",
    "batch/v1/Job",
    "batch/v1/CronJob",
  ] as const,
);

/**
 * One of the {@linkcode CAUSES}.
 *
 * @example
 * ```ts
 * import type { Cause } from "./explain.ts";
 *
 * const cause: Cause = "ImageNotFound";
 * ```
 */
export type Cause = typeof CAUSES[number];

/**
 * One piece of evidence: a table, a text (a message, a condition), or a log
 * excerpt.
 *
 * @example
 * ```ts
 * import type { Evidence } from "./explain.ts";
 *
 * const evidence: Evidence[] = [
 *   { kind: "log", title: "Previous run (last 3 lines)", text: "Traceback ...\nKeyError: 'id'" },
 *   { kind: "table", table: { title: "Restarts", columns: ["pod", "restarts"], rows: [["web-1", 5]] } },
 * ];
 * ```
 */
export type Evidence =
  | { readonly kind: "table"; readonly table: Table }
  | { readonly kind: "text"; readonly title: string; readonly text: string }
  | { readonly kind: "log"; readonly title: string; readonly text: string };

/**
 * What an analyzer concludes.
 *
 * @example
 * ```ts
 * import type { Explanation } from "./explain.ts";
 *
 * const explanation: Explanation = {
 *   cause: "Unknown",
 *   summary: "web-1 crash-loops: cause not recognised",
 *   evidence: [],
 *   fix: [],
 * };
 * ```
 */
export interface Explanation {
  /** The cause, from {@linkcode CAUSES}; `Unknown` when nothing known matches. */
  readonly cause: Cause;
  /** The finding's first line: what happened, in one sentence. */
  readonly summary: string;
  /** What the conclusion rests on, in the order to show it. */
  readonly evidence: readonly Evidence[];
  /** The likely fix, one step per entry (empty for `Unknown`). */
  readonly fix: readonly string[];
  /** How bad it is; `"high"` when absent. */
  readonly severity?: Severity;
}

/**
 * Where an explanation is about, for its finding's labels and subject.
 *
 * @example
 * ```ts
 * import type { ExplanationScope } from "./explain.ts";
 *
 * const scope: ExplanationScope = { namespace: "shop", workload: "Deployment/shop/web" };
 * ```
 */
export interface ExplanationScope {
  /** The namespace (absent for nodes). */
  readonly namespace?: string;
  /** `Kind/namespace/name` of the top controller, or of the object itself. */
  readonly workload: string;
  /** The finding's subject; the event's when absent. */
  readonly subject?: FindingSubject;
  /** More labels (e.g. `container`, `node`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Part of the dedupe key besides cause and workload (e.g. the container). */
  readonly episode?: string;
}

/**
 * `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects) of the
 * top of an owner chain, or of the object itself when nothing owns it.
 *
 * @param object The object (e.g. a pod).
 * @param owners Its owners, nearest first, as `ctx.k8s.owners` returns them.
 * @returns The workload label.
 *
 * @example
 * ```ts
 * import { workloadOf } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const pod = { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "web-1" } };
 * const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: "shop", name: "web" } };
 * strictEqual(workloadOf(pod, [deployment]), "Deployment/shop/web");
 * strictEqual(workloadOf(pod, []), "Pod/shop/web-1");
 * ```
 */
export function workloadOf(
  object: { readonly kind?: string; readonly metadata?: { namespace?: string; name?: string } },
  owners: readonly KubeObject[],
): string {
  const top: { kind?: string; metadata?: { namespace?: string; name?: string } } = owners.at(-1) ??
    object;
  const namespace = top.metadata?.namespace;
  const name = top.metadata?.name ?? "?";
  return namespace ? `${top.kind ?? "?"}/${namespace}/${name}` : `${top.kind ?? "?"}/${name}`;
}

function markdownTable(table: Table): string {
  const escape = (cell: unknown): string =>
    String(cell ?? "").replaceAll("|", "\\|").replaceAll("\n", " ");
  const head = `| ${table.columns.map(escape).join(" | ")} |`;
  const rule = `|${table.columns.map(() => "---").join("|")}|`;
  const rows = table.rows.map((row) => `| ${row.map(escape).join(" | ")} |`);
  return [table.title ? `**${table.title}**\n` : "", head, rule, ...rows].join("\n");
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}\n${text}\n${ticks}`;
}

/**
 * The finding of an explanation: the summary as its title and first line,
 * then the evidence (tables also attached as tables), then the fix; labels
 * `cause`, `namespace`, `workload`; a dedupe key so a workload's episode gives
 * one finding, however many replicas fail.
 *
 * @param explanation What the analyzer concluded.
 * @param scope The namespace and workload it is about.
 * @returns What `ctx.report` takes.
 *
 * @example
 * ```ts
 * import { explanationFinding } from "./explain.ts";
 * import { ok } from "node:assert/strict";
 *
 * const finding = explanationFinding(
 *   { cause: "Unknown", summary: "job migrate failed: cause not recognised", evidence: [], fix: [] },
 *   { namespace: "shop", workload: "Job/shop/migrate" },
 * );
 * ok(finding.body?.startsWith("job migrate failed: cause not recognised"));
 * ```
 */
export function explanationFinding(
  explanation: Explanation,
  scope: ExplanationScope,
): ReportOptions {
  const parts: string[] = [explanation.summary];
  const tables: Table[] = [];
  for (const item of explanation.evidence) {
    if (item.kind === "table") {
      tables.push(item.table);
      parts.push(markdownTable(item.table));
    } else if (item.kind === "log") {
      parts.push(`**${item.title}**\n\n${fence(item.text)}`);
    } else {
      parts.push(`**${item.title}:** ${item.text}`);
    }
  }
  if (explanation.fix.length > 0) {
    parts.push(`**Likely fix**\n\n${explanation.fix.map((step) => `- ${step}`).join("\n")}`);
  } else if (explanation.cause === "Unknown") {
    parts.push(
      "**Cause not recognised**: the evidence above is all there is; nothing was guessed.",
    );
  }
  const labels: Record<string, string> = {
    ...scope.labels,
    cause: explanation.cause,
    workload: scope.workload,
  };
  if (scope.namespace !== undefined) labels["namespace"] = scope.namespace;
  const key = [explanation.cause, scope.workload, scope.episode].filter((p) => p).join("/");
  const finding: ReportOptions = {
    title: explanation.summary.length > 500
      ? `${explanation.summary.slice(0, 497)}...`
      : explanation.summary,
    severity: explanation.severity ?? "high",
    body: parts.join("\n\n"),
    tables: tables.slice(0, 50),
    labels,
    dedupeKey: key.slice(0, 512),
  };
  return scope.subject === undefined ? finding : { ...finding, subject: scope.subject };
}

/**
 * What an exit code means, as the kubelet and the shell report it.
 *
 * @param exitCode The container's exit code.
 * @param signal The signal, when the runtime reported one.
 * @returns `{ signal?, meaning }`.
 *
 * @example
 * ```ts
 * import { decodeExit } from "./explain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(decodeExit(137), { signal: "SIGKILL", meaning: "killed by SIGKILL (OOM killer, or a forced stop)" });
 * deepStrictEqual(decodeExit(127), { meaning: "command not found" });
 * ```
 */
export function decodeExit(
  exitCode: number,
  signal?: number,
): { readonly signal?: string; readonly meaning: string } {
  const number = signal ?? (exitCode > 128 && exitCode < 160 ? exitCode - 128 : undefined);
  const names: Record<number, [string, string]> = {
    1: ["SIGHUP", "hung up"],
    2: ["SIGINT", "interrupted (SIGINT)"],
    3: ["SIGQUIT", "quit (SIGQUIT)"],
    4: ["SIGILL", "illegal instruction (SIGILL)"],
    6: ["SIGABRT", "aborted (SIGABRT: an assertion or abort())"],
    7: ["SIGBUS", "bus error (SIGBUS)"],
    8: ["SIGFPE", "arithmetic error (SIGFPE)"],
    9: ["SIGKILL", "killed by SIGKILL (OOM killer, or a forced stop)"],
    11: ["SIGSEGV", "segmentation fault (SIGSEGV)"],
    13: ["SIGPIPE", "broken pipe (SIGPIPE)"],
    15: ["SIGTERM", "terminated by SIGTERM (asked to stop)"],
  };
  if (number !== undefined) {
    const [name, meaning] = names[number] ?? [`signal ${number}`, `killed by signal ${number}`];
    return { signal: name, meaning };
  }
  if (exitCode === 0) return { meaning: "exited successfully" };
  if (exitCode === 126) return { meaning: "command found but not executable" };
  if (exitCode === 127) return { meaning: "command not found" };
  return { meaning: `exited with code ${exitCode} (the application's own error code)` };
}

/**
 * The last `lines` lines of a log.
 *
 * @param text The log.
 * @param lines How many lines to keep.
 * @returns The tail, without a trailing newline.
 *
 * @example
 * ```ts
 * import { logTail } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(logTail("a\nb\nc\n", 2), "b\nc");
 * ```
 */
export function logTail(text: string, lines: number): string {
  const all = text.replace(/\n+$/, "").split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n");
}

/**
 * The cause a container's termination points to, from its exit code, signal
 * and reason alone (no logs, no events): `OOMKilled` (reason `OOMKilled`),
 * `CommandNotFound` (127, 126, or a runtime that could not find the
 * executable), `Segfault` (139 / SIGSEGV), `ExitedZero` (0), `Terminated`
 * (SIGTERM or SIGKILL without OOM: stopped from outside), else
 * `ApplicationError`. Explainers that read logs and events refine it.
 *
 * @param terminated The `terminated` state (current or last) of a container.
 * @returns The cause.
 *
 * @example
 * ```ts
 * import { terminationCause } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(terminationCause({ exitCode: 137, reason: "OOMKilled" }), "OOMKilled");
 * strictEqual(terminationCause({ exitCode: 2, reason: "Error" }), "ApplicationError");
 * strictEqual(terminationCause({ exitCode: 127, reason: "Error" }), "CommandNotFound");
 * ```
 */
export function terminationCause(terminated: {
  readonly exitCode: number;
  readonly reason?: string | null | undefined;
  readonly message?: string | null | undefined;
  readonly signal?: number | undefined;
}): Cause {
  const { exitCode, reason, message, signal } = terminated;
  if (reason === "OOMKilled") return "OOMKilled";
  if (exitCode === 127 || exitCode === 126) return "CommandNotFound";
  if (
    (reason === "StartError" || reason === "ContainerCannotRun") &&
    /executable file not found|no such file or directory|permission denied/i.test(message ?? "")
  ) {
    return "CommandNotFound";
  }
  if (signal === 11 || exitCode === 139) return "Segfault";
  if (exitCode === 0) return "ExitedZero";
  if (signal === 15 || signal === 9 || exitCode === 143 || exitCode === 137) return "Terminated";
  return "ApplicationError";
}

/**
 * The cause named by a Job's `Failed` condition reason: `BackoffLimitExceeded`
 * or `DeadlineExceeded`; `Unknown` for the others (`PodFailurePolicy`,
 * `MaxFailedIndexesExceeded`, ...).
 *
 * @param reason The `Failed` (or `FailureTarget`) condition's reason.
 * @returns The cause.
 *
 * @example
 * ```ts
 * import { jobFailureCause } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(jobFailureCause("DeadlineExceeded"), "DeadlineExceeded");
 * strictEqual(jobFailureCause("PodFailurePolicy"), "Unknown");
 * ```
 */
export function jobFailureCause(reason: string | undefined): Cause {
  return reason === "BackoffLimitExceeded" || reason === "DeadlineExceeded" ? reason : "Unknown";
}

/**
 * The cause a node condition stands for when it is bad (`Ready` not `True`,
 * a pressure `True`): `NodeNotReady`, `NodeMemoryPressure`,
 * `NodeDiskPressure`, `NodePIDPressure`; `Unknown` for other types.
 *
 * @param type The condition's type.
 * @returns The cause.
 *
 * @example
 * ```ts
 * import { nodeConditionCause } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(nodeConditionCause("MemoryPressure"), "NodeMemoryPressure");
 * strictEqual(nodeConditionCause("Ready"), "NodeNotReady");
 * ```
 */
export function nodeConditionCause(type: string): Cause {
  switch (type) {
    case "Ready":
      return "NodeNotReady";
    case "MemoryPressure":
      return "NodeMemoryPressure";
    case "DiskPressure":
      return "NodeDiskPressure";
    case "PIDPressure":
      return "NodePIDPressure";
    default:
      return "Unknown";
  }
}

const QUANTITY_SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * The value of a Kubernetes quantity: cores for CPU (`"250m"` is 0.25),
 * bytes for memory and storage (`"1Gi"` is 1073741824), a count otherwise.
 *
 * @param quantity A quantity such as `"500m"`, `"128Mi"`, `"1e3"`, `"2"`.
 * @returns Its value, or `undefined` when absent or malformed.
 *
 * @example
 * ```ts
 * import { parseQuantity } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(parseQuantity("250m"), 0.25);
 * strictEqual(parseQuantity("128Mi"), 134217728);
 * strictEqual(parseQuantity("lots"), undefined);
 * ```
 */
export function parseQuantity(quantity: string | number | null | undefined): number | undefined {
  if (quantity === undefined || quantity === null) return undefined;
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/
    .exec(quantity.trim());
  if (match === null) return undefined;
  const [, number = "", exponent, suffix] = match;
  const value = Number(number);
  if (exponent !== undefined) return value * 10 ** Number(exponent);
  return suffix === undefined ? value : value * (QUANTITY_SUFFIXES[suffix] ?? 1);
}

/**
 * A label selector as the string `ctx.k8s.list` takes (`labelSelector`):
 * `matchLabels` as `key=value`, `matchExpressions` as `key in (a,b)`,
 * `key notin (a)`, `key`, `!key`.
 *
 * @param selector A workload's or a Job's `spec.selector`.
 * @returns The selector string (`""` when empty).
 *
 * @example
 * ```ts
 * import { selectorString } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(
 *   selectorString({
 *     matchLabels: { app: "web" },
 *     matchExpressions: [{ key: "tier", operator: "In", values: ["front", "edge"] }],
 *   }),
 *   "app=web,tier in (front,edge)",
 * );
 * ```
 */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) =>
    `${key}=${value}`
  );
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === "In") parts.push(`${key} in (${values.join(",")})`);
    else if (operator === "NotIn") parts.push(`${key} notin (${values.join(",")})`);
    else if (operator === "Exists") parts.push(key);
    else if (operator === "DoesNotExist") parts.push(`!${key}`);
  }
  return parts.join(",");
}

/**
 * A condition of any kind (pod, node, Job, workload), as the API server
 * reports it.
 *
 * @example
 * ```ts
 * import type { ConditionLike } from "./explain.ts";
 *
 * const ready: ConditionLike = { type: "Ready", status: "False", reason: "KubeletNotReady" };
 * ```
 */
export interface ConditionLike {
  /** The condition's type, e.g. `Ready`, `Failed`, `ReplicaFailure`. */
  readonly type: string;
  /** `True`, `False` or `Unknown`. */
  readonly status: string;
  /** Its reason, e.g. `BackoffLimitExceeded`. */
  readonly reason?: string;
  /** Its message. */
  readonly message?: string;
  /** When it last changed. */
  readonly lastTransitionTime?: string;
}

/**
 * The conditions of an object as an evidence table: condition, status,
 * reason, message, since.
 *
 * @param title The table's caption.
 * @param conditions The object's `status.conditions`.
 * @returns The table.
 *
 * @example
 * ```ts
 * import { conditionsTable } from "./explain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const table = conditionsTable("Node conditions", [
 *   { type: "Ready", status: "False", reason: "KubeletNotReady", message: "PLEG is not healthy" },
 * ]);
 * deepStrictEqual(table.rows, [["Ready", "False", "KubeletNotReady", "PLEG is not healthy", ""]]);
 * ```
 */
export function conditionsTable(
  title: string,
  conditions: readonly ConditionLike[] | undefined,
): Table {
  return {
    title,
    columns: ["condition", "status", "reason", "message", "since"],
    rows: (conditions ?? []).map((c) => [
      c.type,
      c.status,
      c.reason ?? "",
      c.message ?? "",
      c.lastTransitionTime ?? "",
    ]),
  };
}

/**
 * The containers of some pods as an evidence table: pod, container, state,
 * reason, exit code and its meaning ({@linkcode decodeExit}), restarts. The
 * exit code is the current termination's, else the last run's (marked
 * "last run"); init containers are marked "(init)".
 *
 * @param title The table's caption.
 * @param pods The pods, as `ctx.k8s.get` or `list` return them.
 * @returns The table.
 *
 * @example
 * ```ts
 * import { containerStatesTable } from "./explain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const table = containerStatesTable("Containers", [{
 *   apiVersion: "v1",
 *   kind: "Pod",
 *   metadata: { name: "web-1" },
 *   status: {
 *     containerStatuses: [{
 *       name: "app", image: "web:1", imageID: "", ready: false, restartCount: 4,
 *       state: { waiting: { reason: "CrashLoopBackOff" } },
 *       lastState: { terminated: { exitCode: 1, reason: "Error" } },
 *     }],
 *   },
 * }]);
 * deepStrictEqual(table.rows[0], [
 *   "web-1", "app", "waiting", "CrashLoopBackOff; last run: Error", "1 (last run)",
 *   "exited with code 1 (the application's own error code)", 4,
 * ]);
 * ```
 */
export function containerStatesTable(title: string, pods: readonly V1Pod[]): Table {
  const rows: (string | number)[][] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? "?";
    const statuses = [
      ...(pod.status?.initContainerStatuses ?? []).map((s) => ({ s, init: true })),
      ...(pod.status?.containerStatuses ?? []).map((s) => ({ s, init: false })),
    ];
    if (statuses.length === 0) {
      const phase = pod.status?.phase ?? "Unknown";
      rows.push([name, "", phase, pod.status?.reason ?? pod.status?.message ?? "", "", "", ""]);
      continue;
    }
    for (const { s, init } of statuses) {
      const current = s.state ?? {};
      const last = s.lastState?.terminated;
      const container = init ? `${s.name} (init)` : s.name;
      if (current.terminated !== undefined) {
        const t = current.terminated;
        rows.push([
          name,
          container,
          "terminated",
          t.reason ?? "",
          t.exitCode,
          decodeExit(t.exitCode, t.signal).meaning,
          s.restartCount,
        ]);
        continue;
      }
      const state = current.waiting !== undefined
        ? "waiting"
        : current.running !== undefined
        ? "running"
        : "unknown";
      const reasons = [
        current.waiting?.reason,
        last?.reason ? `last run: ${last.reason}` : undefined,
      ]
        .filter((r) => r);
      rows.push([
        name,
        container,
        state,
        reasons.join("; "),
        last === undefined ? "" : `${last.exitCode} (last run)`,
        last === undefined ? "" : decodeExit(last.exitCode, last.signal).meaning,
        s.restartCount,
      ]);
    }
  }
  return {
    title,
    columns: ["pod", "container", "state", "reason", "exit code", "meaning", "restarts"],
    rows,
  };
}

/**
 * The most recent termination of a container of a pod (init containers
 * included): its `state.terminated` while it is stopped (`current: true`),
 * else its `lastState.terminated`, the run before the current one.
 *
 * @param pod The pod, as an event's `object` or `ctx.k8s.get` returns it.
 * @param container The container's name.
 * @returns The record, whether it is the current state, and the container's
 *   status; `undefined` when the container never terminated.
 *
 * @example
 * ```ts
 * import { lastTermination } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const found = lastTermination({
 *   apiVersion: "v1",
 *   kind: "Pod",
 *   status: {
 *     containerStatuses: [{
 *       name: "app", image: "web:1", imageID: "", ready: false, restartCount: 3,
 *       state: { waiting: { reason: "CrashLoopBackOff" } },
 *       lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
 *     }],
 *   },
 * }, "app");
 * strictEqual(found?.record.reason, "OOMKilled");
 * strictEqual(found?.current, false);
 * ```
 */
export function lastTermination(
  pod: V1Pod,
  container: string,
):
  | {
    readonly record: V1ContainerStateTerminated;
    readonly current: boolean;
    readonly status: V1ContainerStatus;
  }
  | undefined {
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === container);
  if (status === undefined) return undefined;
  if (status.state?.terminated !== undefined) {
    return { record: status.state.terminated, current: true, status };
  }
  const last = status.lastState?.terminated;
  return last === undefined ? undefined : { record: last, current: false, status };
}

/**
 * The owner reference with `controller: true` of an object (a pod's
 * ReplicaSet, StatefulSet, DaemonSet or Job), if any.
 *
 * @param object Any object.
 * @returns The controller's reference, or `undefined`.
 *
 * @example
 * ```ts
 * import { controllerRef } from "./explain.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const ref = controllerRef({
 *   metadata: {
 *     ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f", uid: "u1", controller: true }],
 *   },
 * });
 * strictEqual(ref?.name, "web-5d8f");
 * ```
 */
export function controllerRef(
  object: { readonly metadata?: { readonly ownerReferences?: readonly V1OwnerReference[] } },
): V1OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/**
 * The pods among `pods` controlled by the same controller as `pod` (the same
 * ReplicaSet, StatefulSet, DaemonSet or Job, by uid), sorted by name, `pod`
 * itself always included: the replicas one finding about a workload names.
 * A pod nothing controls has no siblings.
 *
 * @param pod The pod an event is about.
 * @param pods Pods of its namespace, e.g. listed by its controller's selector.
 * @returns `pod` and its siblings.
 *
 * @example
 * ```ts
 * import { siblingPods } from "./explain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const owned = (name: string, uid: string) => ({
 *   apiVersion: "v1" as const,
 *   kind: "Pod" as const,
 *   metadata: {
 *     name,
 *     ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid, controller: true }],
 *   },
 * });
 * const pods = [owned("web-b", "rs-1"), owned("other", "rs-2"), owned("web-a", "rs-1")];
 * deepStrictEqual(siblingPods(owned("web-b", "rs-1"), pods).map((p) => p.metadata?.name), ["web-a", "web-b"]);
 * ```
 */
export function siblingPods(pod: V1Pod, pods: readonly V1Pod[]): V1Pod[] {
  const controller = controllerRef(pod);
  const name = pod.metadata?.name;
  const found = controller === undefined
    ? []
    : pods.filter((other) => controllerRef(other)?.uid === controller.uid);
  if (!found.some((other) => other.metadata?.name === name)) found.push(pod);
  return found.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

/**
 * The pods of `pod`'s controller (listed by its selector, at most 500), `pod`
 * itself among them, and, when the list could not be read in full, a note
 * saying why: what an explainer needs to name every replica failing alike.
 *
 * @param k8s `ctx.k8s`.
 * @param pod The pod the event is about.
 * @param owners Its owners, nearest first, as `ctx.k8s.owners` returns them.
 * @param options The call's options (e.g. a timeout signal).
 * @returns The pods, sorted by name, and the notes for the finding.
 *
 * @example
 * ```ts
 * import { controllerPods } from "./explain.ts";
 * import type { K8sClient } from "./k8s.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const pod = { apiVersion: "v1" as const, kind: "Pod" as const, metadata: { namespace: "shop", name: "web-1" } };
 * const { pods } = await controllerPods({} as K8sClient, pod, []);
 * strictEqual(pods.length, 1); // owned by nothing: just itself, no call made
 * ```
 */
export async function controllerPods(
  k8s: K8sClient,
  pod: V1Pod,
  owners: readonly KubeObject[],
  options: { readonly signal?: AbortSignal } = {},
): Promise<{ readonly pods: V1Pod[]; readonly notes: string[] }> {
  const controller = controllerRef(pod);
  const namespace = pod.metadata?.namespace;
  if (controller === undefined || namespace === undefined) return { pods: [pod], notes: [] };
  const direct = owners.find((owner) => owner.metadata.uid === controller.uid);
  const spec = direct?.["spec"] as { readonly selector?: V1LabelSelector } | undefined;
  const selector = selectorString(spec?.selector);
  try {
    const listed = await k8s.list({
      apiVersion: "v1",
      kind: "Pod",
      namespace,
      limit: 500,
      ...(selector === "" ? {} : { labelSelector: selector }),
      ...options,
    });
    const notes = listed.truncated
      ? ["the workload has more than 500 pods: only the first 500 were compared"]
      : [];
    return { pods: siblingPods(pod, listed.items), notes };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      pods: [pod],
      notes: [`the other pods of ${controller.kind} ${controller.name}: ${why}`],
    };
  }
}

/**
 * Kubernetes events as an evidence table, the most recent last: type,
 * reason, count, last seen, message.
 *
 * @param title The table's caption.
 * @param events The events, as `ctx.k8s.events` returns them.
 * @param limit At most this many rows (the most recent ones); 20 by default.
 * @returns The table.
 *
 * @example
 * ```ts
 * import { eventsTable } from "./explain.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const table = eventsTable("Events", [{
 *   namespace: "shop", name: "web-1.1", type: "Warning", reason: "BackOff",
 *   message: "Back-off restarting failed container app in pod web-1_shop(0b9c)", count: 4,
 *   firstTimestamp: "2024-05-01T10:00:00Z", lastTimestamp: "2024-05-01T10:02:00Z",
 *   involvedObject: { kind: "Pod", namespace: "shop", name: "web-1" },
 * }]);
 * deepStrictEqual(table.rows[0]?.slice(0, 4), ["Warning", "BackOff", 4, "2024-05-01T10:02:00Z"]);
 * ```
 */
export function eventsTable(title: string, events: readonly K8sEvent[], limit = 20): Table {
  const when = (event: K8sEvent): string => event.lastTimestamp ?? event.firstTimestamp ?? "";
  const sorted = [...events].sort((a, b) => when(a).localeCompare(when(b)));
  return {
    title,
    columns: ["type", "reason", "count", "last seen", "message"],
    rows: sorted.slice(Math.max(0, sorted.length - limit)).map((event) => [
      event.type,
      event.reason,
      event.count,
      when(event),
      event.message,
    ]),
  };
}

/**
 * Where a pod belongs, read once for an explainer: its owner chain
 * (`ctx.k8s.owners`; `[]` when an owner's kind is not readable), the
 * `workload` label ({@linkcode workloadOf}), and the pods of its controller
 * ({@linkcode siblingPods}, listed by the controller's selector; just `pod`
 * when nothing controls it or the list is refused). Callers keep the pods in
 * the same state to name them in one finding.
 *
 * @param k8s `ctx.k8s` (the workflow declares {@linkcode WORKLOAD_KINDS} in `reads`).
 * @param pod The pod an event is about.
 * @returns The owners, the workload label and the controller's pods (`pod` included).
 *
 * @example
 * ```ts
 * import { podScope } from "./explain.ts";
 * import type { K8sClient } from "./k8s.ts";
 *
 * async function replicas(k8s: K8sClient): Promise<string[]> {
 *   const pod = await k8s.get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web-1" });
 *   const scope = await podScope(k8s, pod);
 *   return scope.pods.map((p) => p.metadata?.name ?? "?");
 * }
 * ```
 */
export async function podScope(
  k8s: K8sClient,
  pod: V1Pod,
): Promise<{
  readonly owners: readonly KubeObject[];
  readonly workload: string;
  readonly pods: readonly V1Pod[];
}> {
  const owners = await k8s.owners({ ...pod, apiVersion: "v1", kind: "Pod" }).catch(() => []);
  const workload = workloadOf({ ...pod, kind: "Pod" }, owners);
  const spec = owners[0]?.["spec"] as { readonly selector?: V1LabelSelector } | undefined;
  const selector = selectorString(spec?.selector);
  const namespace = pod.metadata?.namespace;
  if (selector === "" || namespace === undefined || controllerRef(pod) === undefined) {
    return { owners, workload, pods: [pod] };
  }
  const listed = await k8s.list({
    apiVersion: "v1",
    kind: "Pod",
    namespace,
    labelSelector: selector,
    limit: 200,
  }).then((list) => list.items, () => []);
  return { owners, workload, pods: siblingPods(pod, listed) };
}
