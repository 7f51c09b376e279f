/**
 * Why a pod was evicted: the analyzer behind `pod-evicted-enrichments`.
 *
 * The kubelet's eviction manager fails the pod with `status.reason: Evicted` and a message
 * built from the fragments of `pkg/kubelet/eviction/helpers.go` (each ends with `. `):
 * `The node was low on resource: memory. ` + `Threshold quantity: 100Mi, available: 96412Ki. `
 * + one `Container app was using 1234Mi, request is 100Mi, has larger consumption of memory. `
 * per container using more than it requested. Local-storage limits evict with `Container app
 * exceeded its local ephemeral storage limit "1Gi". `, `Pod ephemeral local storage usage
 * exceeds the total limit of containers 2Gi. ` or `Usage of EmptyDir volume "cache" exceeds
 * the limit "1Gi". `, and a pod the node refuses to admit under pressure gets `The node had
 * condition: [DiskPressure]. `. {@linkcode parseEvictionMessage} reads all of them;
 * {@linkcode EVICTION_PATTERNS} lists each with the real message it was taken from.
 *
 * Pure: objects in, an {@linkcode Explanation} out.
 *
 * @module
 */

import type { Cause, Evidence, Explanation } from "@wfhost/sdk/explain.ts";
import { conditionsTable, containerStatesTable, parseQuantity } from "@wfhost/sdk/explain.ts";
import type { V1Node, V1Pod } from "@wfhost/sdk";

/** One form of eviction message. */
export interface EvictionPattern {
  /** The form. */
  readonly kind: "pressure" | "condition" | "containerLimit" | "podLimit" | "emptyDir";
  /** Matched against the message. */
  readonly pattern: RegExp;
  /** The real message the pattern was taken from. */
  readonly example: string;
}

/** The message forms, as the kubelet's eviction manager writes them. */
export const EVICTION_PATTERNS: readonly EvictionPattern[] = [
  {
    kind: "pressure",
    pattern: /The node was low on resource: ([\w.-]+)\./,
    example:
      "The node was low on resource: memory. Threshold quantity: 100Mi, available: 96412Ki. Container app was using 1234Mi, request is 100Mi, has larger consumption of memory. ",
  },
  {
    kind: "pressure",
    pattern: /The node was low on resource: ([\w.-]+)\./,
    example:
      "The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 1468Mi. Container logger was using 6Gi, request is 0, has larger consumption of ephemeral-storage. ",
  },
  {
    kind: "condition",
    pattern: /The node had condition: \[([^\]]*)\]\./,
    example: "The node had condition: [DiskPressure]. ",
  },
  {
    kind: "containerLimit",
    pattern: /Container (\S+) exceeded its local ephemeral storage limit "([^"]+)"\./,
    example: 'Container app exceeded its local ephemeral storage limit "1Gi". ',
  },
  {
    kind: "podLimit",
    pattern:
      /Pod ephemeral local storage usage exceeds the total limit of containers (\S+?)\.(?:\s|$)/,
    example: "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ",
  },
  {
    kind: "emptyDir",
    pattern: /Usage of EmptyDir volume "([^"]+)" exceeds the limit "([^"]+)"\./,
    example: 'Usage of EmptyDir volume "cache" exceeds the limit "1Gi". ',
  },
];

/** A container (or the pod) named in the message, with its usage and request. */
export interface OffendingContainer {
  /** The container's name (`(pod)` for the pod-level fragment). */
  readonly name: string;
  /** What it used, as written. */
  readonly usage: string;
  /** What it requested, as written (`0`: no request). */
  readonly request: string;
  /** The resource. */
  readonly resource: string;
}

/** The eviction message, parsed. */
export interface EvictionMessage {
  /** Which form it is (absent when none matched). */
  readonly kind?: EvictionPattern["kind"];
  /** The starved resource: `memory`, `ephemeral-storage`, `pids`... */
  readonly resource?: string;
  /** The eviction threshold, as written (`100Mi`, `10%`). */
  readonly threshold?: string;
  /** What was available when it fired. */
  readonly available?: string;
  /** The node conditions of an admission refusal (`[DiskPressure]`). */
  readonly conditions?: readonly string[];
  /** The containers using more than they requested. */
  readonly containers: readonly OffendingContainer[];
  /** A local-storage limit that was exceeded: what, and the limit. */
  readonly limit?: { readonly what: string; readonly limit: string };
}

/**
 * Parses an eviction message.
 *
 * @param message The pod's `status.message` (or the `Evicted` event's).
 * @returns Its parts.
 *
 * @example
 * ```ts
 * import { parseEvictionMessage } from "./_eviction.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const parsed = parseEvictionMessage(
 *   "The node was low on resource: memory. Threshold quantity: 100Mi, available: 96412Ki. " +
 *     "Container app was using 1234Mi, request is 100Mi, has larger consumption of memory. ",
 * );
 * strictEqual(parsed.resource, "memory");
 * strictEqual(parsed.containers[0]?.usage, "1234Mi");
 * ```
 */
export function parseEvictionMessage(message: string): EvictionMessage {
  const containers: OffendingContainer[] = [];
  for (
    const m of message.matchAll(
      /(Container|Pod) (\S+) was using (\S+), request is (\S+), has larger consumption of ([\w.-]+)\./g,
    )
  ) {
    containers.push({
      name: m[1] === "Pod" ? `(pod ${m[2] ?? ""})` : m[2] ?? "",
      usage: m[3] ?? "",
      request: m[4] ?? "",
      resource: m[5] ?? "",
    });
  }
  const pressure = /The node was low on resource: ([\w.-]+)\./.exec(message);
  if (pressure !== null) {
    const threshold = /Threshold quantity: ([^,]+), available: (\S+?)\.(?:\s|$)/.exec(message);
    return {
      kind: "pressure",
      resource: pressure[1] ?? "",
      ...(threshold === null
        ? {}
        : { threshold: threshold[1] ?? "", available: threshold[2] ?? "" }),
      containers,
    };
  }
  const condition = /The node had condition: \[([^\]]*)\]\./.exec(message);
  if (condition !== null) {
    const conditions = (condition[1] ?? "").split(/[\s,]+/).filter((c) => c !== "");
    const resource = conditions.includes("MemoryPressure")
      ? "memory"
      : conditions.includes("DiskPressure")
      ? "ephemeral-storage"
      : conditions.includes("PIDPressure")
      ? "pids"
      : undefined;
    return {
      kind: "condition",
      ...(resource === undefined ? {} : { resource }),
      conditions,
      containers,
    };
  }
  const container = /Container (\S+) exceeded its local ephemeral storage limit "([^"]+)"\./.exec(
    message,
  );
  if (container !== null) {
    return {
      kind: "containerLimit",
      resource: "ephemeral-storage",
      limit: { what: `container ${container[1] ?? ""}`, limit: container[2] ?? "" },
      containers,
    };
  }
  const pod =
    /Pod ephemeral local storage usage exceeds the total limit of containers (\S+?)\.(?:\s|$)/
      .exec(message);
  if (pod !== null) {
    return {
      kind: "podLimit",
      resource: "ephemeral-storage",
      limit: { what: "the pod (all its containers)", limit: pod[1] ?? "" },
      containers,
    };
  }
  const emptyDir = /Usage of EmptyDir volume "([^"]+)" exceeds the limit "([^"]+)"\./.exec(message);
  if (emptyDir !== null) {
    return {
      kind: "emptyDir",
      resource: "ephemeral-storage",
      limit: { what: `emptyDir volume ${emptyDir[1] ?? ""}`, limit: emptyDir[2] ?? "" },
      containers,
    };
  }
  return { containers };
}

/** What {@linkcode explainEviction} reads. */
export interface EvictionInput {
  /** The evicted pod. */
  readonly pod: V1Pod;
  /** The eviction message (else the pod's `status.message`). */
  readonly message?: string;
  /** The node the pod ran on, as read now. */
  readonly node?: V1Node;
  /** `Kind/namespace/name` of the pod's workload. */
  readonly workload?: string;
  /** The workload's other evicted pods. */
  readonly siblings?: readonly V1Pod[];
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function workloadText(workload: string): string {
  const [kind, ...rest] = workload.split("/");
  return `${kind ?? "?"} ${rest.join("/")}`;
}

function causeOf(resource: string | undefined): Cause {
  if (resource === "memory") return "EvictedMemoryPressure";
  if (
    resource === "ephemeral-storage" || resource === "nodefs" || resource === "imagefs" ||
    resource === "containerfs"
  ) return "EvictedDiskPressure";
  return "Unknown";
}

/**
 * Explains an eviction.
 *
 * @param input The pod, the message and the node.
 * @returns The explanation: cause, first line, evidence, fix.
 *
 * @example
 * ```ts
 * import { explainEviction } from "./_eviction.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation = explainEviction({
 *   pod: { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "web-1" } },
 *   message: "The node was low on resource: ephemeral-storage. ",
 * });
 * strictEqual(explanation.cause, "EvictedDiskPressure");
 * ```
 */
export function explainEviction(input: EvictionInput): Explanation {
  const { pod } = input;
  const message = input.message ?? pod.status?.message ?? "";
  const parsed = parseEvictionMessage(message);
  const cause = causeOf(parsed.resource);
  const nodeName = pod.spec?.nodeName ?? input.node?.metadata?.name;
  const others = (input.siblings ?? []).filter((p) => p.metadata?.name !== pod.metadata?.name);
  const affected = [pod, ...others];
  const workload = input.workload;
  const who = affected.length > 1 && workload !== undefined
    ? `${affected.length} pods of ${workload} were evicted`
    : `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"} was evicted`;
  const on = nodeName === undefined ? "" : ` from node ${nodeName}`;
  const offenders = parsed.containers.filter((c) => !c.name.startsWith("(pod"));
  const using = offenders.length === 0
    ? ""
    : `; ${
      offenders.map((c) => `container ${c.name} used ${c.usage} (request ${c.request})`).join(
        ", ",
      )
    }`;
  let why: string;
  switch (parsed.kind) {
    case "pressure":
      why = `the node was low on ${parsed.resource}${
        parsed.threshold !== undefined
          ? ` (available ${parsed.available}, eviction threshold ${parsed.threshold})`
          : ""
      }${using}`;
      break;
    case "condition":
      why = `the node refused it while it had ${(parsed.conditions ?? []).join(", ")}`;
      break;
    case "containerLimit":
    case "podLimit":
    case "emptyDir":
      why = `${parsed.limit?.what} exceeded its ephemeral-storage limit of ${parsed.limit?.limit}`;
      break;
    default:
      why = "cause not recognised";
  }
  const summary = cause === "Unknown" && parsed.kind !== undefined
    ? `${who}${on}: ${why} (no cause label for this resource)`
    : `${who}${on}: ${why}`;

  const evidence: Evidence[] = [
    {
      kind: "text",
      title: "The kubelet's eviction message",
      text: message === "" ? "(none)" : code(message.trim()),
    },
  ];
  if (parsed.kind === "pressure" && parsed.threshold !== undefined) {
    evidence.push({
      kind: "table",
      table: {
        title: `Node ${nodeName ?? "?"} when it evicted`,
        columns: ["starved resource", "eviction threshold", "available"],
        rows: [[parsed.resource ?? "", parsed.threshold, parsed.available ?? ""]],
      },
    });
  }
  if (parsed.containers.length > 0) {
    const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    evidence.push({
      kind: "table",
      table: {
        title: "Containers using more than they requested",
        columns: ["container", "resource", "usage", "request", "over request by", "limit"],
        rows: parsed.containers.map((c) => {
          const usage = parseQuantity(c.usage);
          const request = parseQuantity(c.request);
          const over = usage === undefined || request === undefined
            ? ""
            : request === 0
            ? "no request"
            : `${Math.round((usage / request) * 10) / 10}×`;
          const limit = specs.find((s) => s.name === c.name)?.resources?.limits?.[c.resource];
          return [c.name, c.resource, c.usage, c.request, over, limit ?? "none"];
        }),
      },
    });
  }
  if (input.node !== undefined) {
    evidence.push({
      kind: "table",
      table: conditionsTable(
        `Node ${input.node.metadata?.name ?? "?"} conditions (read after the eviction)`,
        (input.node.status?.conditions ?? []).map((c) => ({
          type: c.type,
          status: c.status,
          ...(c.reason === undefined ? {} : { reason: c.reason }),
          ...(c.message === undefined ? {} : { message: c.message }),
          ...(c.lastTransitionTime === undefined
            ? {}
            : { lastTransitionTime: c.lastTransitionTime }),
        })),
      ),
    });
  }
  if (affected.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(`Evicted pods of ${workload ?? "the workload"}`, affected),
    });
  }

  const where = workload === undefined || workload.startsWith("Pod/")
    ? "the pod"
    : `${workloadText(workload)}'s pod template`;
  const pressureNow = (input.node?.status?.conditions ?? []).find((c) =>
    c.type === (cause === "EvictedMemoryPressure" ? "MemoryPressure" : "DiskPressure")
  );
  const fix: string[] = [];
  if (cause === "EvictedMemoryPressure") {
    for (const c of offenders) {
      fix.push(
        `Set container ${
          code(c.name)
        }'s \`resources.requests.memory\` to what it really uses (${c.usage}, not ${c.request}) in ${where}: under memory pressure the kubelet evicts pods using more than they request first.`,
      );
    }
    fix.push(
      "Set memory limits equal to requests (Guaranteed QoS) for pods that must not be evicted, and keep the node's allocatable honest (`--system-reserved`, `--kube-reserved`).",
    );
    fix.push(
      `Node ${code(nodeName ?? "?")} ran out of memory${
        pressureNow?.status === "True" ? " and still reports MemoryPressure" : ""
      }: spread the workload, or add memory/nodes.`,
    );
  } else if (cause === "EvictedDiskPressure") {
    if (parsed.limit !== undefined) {
      fix.push(
        `${parsed.limit.what} wrote more than its limit ${parsed.limit.limit}: raise \`resources.limits.ephemeral-storage\` (or the emptyDir's \`sizeLimit\`) in ${where}, or write large data to a PersistentVolume.`,
      );
    } else {
      for (const c of offenders) {
        fix.push(
          `Container ${
            code(c.name)
          } used ${c.usage} of local disk (request ${c.request}): set \`resources.requests.ephemeral-storage\` and a limit in ${where}, and move large files and logs off the container's filesystem.`,
        );
      }
      fix.push(
        `Free disk on node ${code(nodeName ?? "?")} (unused images, old logs, emptyDirs)${
          pressureNow?.status === "True" ? "; it still reports DiskPressure" : ""
        }, or give it a bigger disk.`,
      );
    }
  }
  return { cause, summary, evidence, fix, severity: "high" };
}
