/**
 * Findings: what a workflow reports through `ctx.report`.
 *
 * @module
 */

/**
 * Every severity, from least to most severe.
 *
 * @example
 * ```ts
 * import { SEVERITIES } from "./finding.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(SEVERITIES.indexOf("high") > SEVERITIES.indexOf("low"), true);
 * ```
 */
export const SEVERITIES: readonly ["info", "low", "medium", "high", "critical"] = Object.freeze(
  ["info", "low", "medium", "high", "critical"] as const,
);

/**
 * How bad a finding is; the host defaults to `"info"`.
 *
 * @example
 * ```ts
 * import type { Severity } from "./finding.ts";
 *
 * const severity: Severity = "high";
 * ```
 */
export type Severity = typeof SEVERITIES[number];

/**
 * A handle on a (possibly large) output the host holds, such as a flamegraph
 * returned by `ctx.debug.pythonProfile`. Attach it to a finding as is.
 *
 * @example
 * ```ts
 * import type { ArtifactRef } from "./finding.ts";
 *
 * const flamegraph: ArtifactRef = {
 *   artifactId: "art-1",
 *   name: "profile.svg",
 *   mediaType: "image/svg+xml",
 *   size: 48213,
 * };
 * ```
 */
export interface ArtifactRef {
  /** The host's id for the artifact. */
  readonly artifactId: string;
  /** A file name for the artifact. */
  readonly name: string;
  /** Its media type, e.g. `image/svg+xml`. */
  readonly mediaType: string;
  /** Its size in bytes. */
  readonly size: number;
}

/**
 * Tells whether a value is an {@linkcode ArtifactRef}.
 *
 * @param value Any value, e.g. a field of a debug result.
 * @returns `true` when `value` has the shape of an artifact handle.
 *
 * @example
 * ```ts
 * import { isArtifactRef } from "./finding.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(
 *   isArtifactRef({ artifactId: "art-1", name: "a.svg", mediaType: "image/svg+xml", size: 3 }),
 *   true,
 * );
 * strictEqual(isArtifactRef({ name: "a.svg" }), false);
 * ```
 */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record["artifactId"] === "string" && typeof record["name"] === "string" &&
    typeof record["mediaType"] === "string" && typeof record["size"] === "number";
}

/**
 * A small text attachment carried inline in the finding.
 *
 * @example
 * ```ts
 * import type { InlineAttachment } from "./finding.ts";
 *
 * const notes: InlineAttachment = { name: "logs.txt", text: "panic: boom" };
 * ```
 */
export interface InlineAttachment {
  /** A file name for the attachment. */
  readonly name: string;
  /** Its media type; `text/plain` when absent. */
  readonly mediaType?: string;
  /** The content. */
  readonly text: string;
}

/**
 * An attachment: a reference to an artifact the host holds (only
 * `artifactId` is sent), or inline text.
 *
 * @example
 * ```ts
 * import type { Attachment } from "./finding.ts";
 *
 * const attachments: Attachment[] = [
 *   { artifactId: "art-1" },
 *   { name: "notes.md", mediaType: "text/markdown", text: "# Notes" },
 * ];
 * ```
 */
export type Attachment = { readonly artifactId: string } | InlineAttachment;

/**
 * A table rendered with the finding. Cells are sent as strings (`null`
 * becomes an empty cell).
 *
 * @example
 * ```ts
 * import type { Table } from "./finding.ts";
 *
 * const table: Table = {
 *   title: "Top functions",
 *   columns: ["function", "share"],
 *   rows: [["handle_request", "41%"], ["parse", 0.12]],
 * };
 * ```
 */
export interface Table {
  /** A caption. */
  readonly title?: string;
  /** The column headers. */
  readonly columns: readonly string[];
  /** The rows, each with one cell per column. */
  readonly rows: readonly (readonly (string | number | boolean | null)[])[];
}

/**
 * The object a finding is about; defaults to the event's subject.
 *
 * @example
 * ```ts
 * import type { FindingSubject } from "./finding.ts";
 *
 * const subject: FindingSubject = { namespace: "shop", name: "web-1", kind: "Pod" };
 * ```
 */
export interface FindingSubject {
  /** The object's namespace. */
  readonly namespace: string;
  /** The object's name. */
  readonly name: string;
  /** The object's kind; the host assumes `Pod` when absent. */
  readonly kind?: string;
}

/**
 * What `ctx.report` takes.
 *
 * @example
 * ```ts
 * import type { ReportOptions } from "./finding.ts";
 *
 * const finding: ReportOptions = {
 *   title: "web-1 is crash-looping",
 *   severity: "high",
 *   body: "The last run ended with `panic: boom`.",
 *   subject: { namespace: "shop", name: "web-1" },
 *   labels: { cause: "ApplicationError", workload: "Deployment/shop/web" },
 * };
 * ```
 */
export interface ReportOptions {
  /** A one-line summary. */
  readonly title: string;
  /** Details, as Markdown. */
  readonly body?: string;
  /** How bad it is; `"info"` when absent. */
  readonly severity?: Severity;
  /** What it is about; the event's subject when absent. */
  readonly subject?: FindingSubject;
  /** Tables rendered with the finding. */
  readonly tables?: readonly Table[];
  /** Files attached to the finding. */
  readonly attachments?: readonly Attachment[];
  /**
   * Machine-readable labels to route and deduplicate by, e.g.
   * `{ cause: "OOMKilled", namespace: "shop", workload: "Deployment/shop/web" }`:
   * at most 32, keys of 1-63 letters, digits, `.`, `_`, `/` or `-`, values of
   * at most 256 characters.
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Report this finding once per episode: a later finding of the same
   * workflow with the same key, within the host's
   * `limits.findingDedupeSeconds` (15 minutes by default), is not published
   * again and resolves with the first one's id and `duplicate: true`. Use it
   * to give ten failing replicas one finding, e.g.
   * `` `${cause}/${workload}` ``.
   */
  readonly dedupeKey?: string;
}

/**
 * A synonym of {@linkcode ReportOptions}: a finding as a workflow reports it.
 *
 * @example
 * ```ts
 * import type { Finding } from "./finding.ts";
 *
 * const finding: Finding = { title: "All good" };
 * ```
 */
export type Finding = ReportOptions;

/**
 * What `ctx.report` resolves to: the id the host gave the finding.
 *
 * @example
 * ```ts
 * import type { ReportResult } from "./finding.ts";
 *
 * const result: ReportResult = { id: "f-42" };
 * ```
 */
export interface ReportResult {
  /** True when an earlier finding with the same `dedupeKey` stands for this one (nothing was published). */
  readonly duplicate?: boolean;
  /** The finding's id. */
  readonly id: string;
}
