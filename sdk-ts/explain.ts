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
import type { KubeObject } from "./k8s_types.ts";

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
