/**
 * Why a pod stays Pending: the analyzer behind `pod-investigator-enricher` for `pod.pending`.
 *
 * The scheduler writes `PodScheduled=False` (`Unschedulable`) with a message of the form
 * `0/N nodes are available: <reasons>. preemption: <why evicting others would not help>`
 * (kube-scheduler's `FitError.Error()`): either one PreFilter reason that applies to every node
 * (`pod has unbound immediate PersistentVolumeClaims`, `persistentvolumeclaim "data" not found`)
 * or a histogram of each node's first failing filter, sorted, as `<count> <reason>` joined by
 * `, ` (`1 Insufficient cpu, 2 node(s) had untolerated taint(s)`). {@linkcode parseSchedulerMessage}
 * splits it; {@linkcode SCHEDULING_PATTERNS} classifies each reason, with the real message it was
 * taken from.
 *
 * When nodes fail for different reasons the cause is the reason of the nodes that got furthest
 * through the scheduler's filters (NodeUnschedulable, TaintToleration, NodeAffinity,
 * NodeResourcesFit, volumes, in that order): a node that lacks CPU passed the taint and
 * selector checks, so it is the one the pod was meant for.
 *
 * Pure: objects in, an {@linkcode Explanation} out.
 *
 * @module
 */

import type { Cause, Evidence, Explanation } from "@wfhost/sdk/explain.ts";
import { containerStatesTable, eventsTable, parseQuantity } from "@wfhost/sdk/explain.ts";
import type {
  K8sEvent,
  Table,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Taint,
  V1Toleration,
} from "@wfhost/sdk";

/** One row of the classifier of a scheduler reason. */
export interface SchedulingPattern {
  /** The cause (`Unknown` for reasons understood but outside the vocabulary). */
  readonly cause: Cause;
  /** Matched against one reason, its count removed (first matching row wins). */
  readonly pattern: RegExp;
  /** What it means for the nodes it counts. */
  readonly means: string;
  /** The real scheduler message the reason was taken from. */
  readonly example: string;
  /**
   * How far through the scheduler's filters a node failing this way got: the highest rank
   * among the reasons is the cause. PreFilter reasons (every node) rank highest.
   */
  readonly rank: number;
}

/** The classifier, first match wins. */
export const SCHEDULING_PATTERNS: readonly SchedulingPattern[] = [
  {
    cause: "UnboundPVC",
    pattern: /^persistentvolumeclaim "[^"]+" not found/,
    means: "a PersistentVolumeClaim the pod mounts does not exist",
    // As kube-scheduler 1.37 writes it (its PostFilter adds the second "not found").
    example: '0/1 nodes are available: persistentvolumeclaim "data" not found. not found',
    rank: 100,
  },
  {
    cause: "UnboundPVC",
    pattern: /^pod has unbound immediate PersistentVolumeClaims$/,
    means: "a PersistentVolumeClaim the pod mounts is not bound to a volume",
    example:
      "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    rank: 100,
  },
  {
    cause: "UnboundPVC",
    pattern:
      /^persistentvolumeclaim "[^"]+" (?:bound to non-existent persistentvolume|is being deleted)|^waiting for ephemeral volume controller/,
    means: "a PersistentVolumeClaim the pod mounts is lost, being deleted or not created yet",
    example:
      '0/1 nodes are available: persistentvolumeclaim "data" bound to non-existent persistentvolume "pv-7". preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    rank: 100,
  },
  {
    cause: "UnboundPVC",
    pattern:
      /didn't find available persistent volumes to bind|bound to non-existent pv|did not have enough free storage/,
    means: "no volume can be provisioned or bound for a claim of the pod on these nodes",
    example:
      "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    rank: 60,
  },
  {
    cause: "InsufficientCPU",
    pattern: /^Insufficient cpu$/,
    means: "not enough unrequested CPU for the pod's request",
    example:
      "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    rank: 50,
  },
  {
    cause: "InsufficientMemory",
    pattern: /^Insufficient memory$/,
    means: "not enough unrequested memory for the pod's request",
    example:
      "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
    rank: 50,
  },
  {
    cause: "TooManyPods",
    pattern: /^Too many pods$/,
    means: "already run as many pods as they allow (`allocatable.pods`)",
    example:
      "0/2 nodes are available: 2 Too many pods. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    rank: 50,
  },
  {
    cause: "Unknown",
    pattern: /^Insufficient \S+$/,
    means: "not enough of an extended or other resource the pod requests",
    example:
      "0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.",
    rank: 50,
  },
  {
    cause: "Unknown",
    pattern:
      /didn't match pod (?:anti-)?affinity rules|didn't satisfy existing pods anti-affinity rules|didn't match pod topology spread constraints|didn't have free ports|volume node affinity conflict|exceed max volume count|no available volume zone|no available disk|ReadWriteOncePod/,
    means: "rejected by a rule this explainer does not name (pod affinity, spread, ports, volumes)",
    example:
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    rank: 40,
  },
  {
    cause: "NodeSelectorMismatch",
    pattern: /didn't match (?:Pod's )?node affinity\/selector|didn't match node selector/,
    means: "do not match the pod's nodeSelector or required node affinity",
    example:
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    rank: 30,
  },
  {
    cause: "UntoleratedTaint",
    pattern: /had untolerated taint|had taints? .*(?:that )?the pod didn't tolerate/,
    means: "carry a taint the pod does not tolerate",
    example:
      "0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    rank: 20,
  },
  {
    cause: "UntoleratedTaint",
    pattern: /were unschedulable/,
    means: "are cordoned (`spec.unschedulable`, taint `node.kubernetes.io/unschedulable`)",
    example:
      "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    rank: 10,
  },
];

/** One reason of the scheduler's message. */
export interface SchedulingReason {
  /** How many nodes failed this way; absent for a PreFilter reason (every node). */
  readonly count?: number;
  /** The reason as written, e.g. `Insufficient cpu`. */
  readonly text: string;
  /** Its cause. */
  readonly cause: Cause;
  /** What it means, from the row that matched ("reason not recognised" when none). */
  readonly means: string;
  /** The matching row's rank (0 when none matched). */
  readonly rank: number;
}

/** The scheduler's message, parsed. */
export interface SchedulerMessage {
  /** `N` of `0/N nodes are available`. */
  readonly nodes?: number;
  /** Each reason, in the message's order. */
  readonly reasons: readonly SchedulingReason[];
  /** What follows the reasons: the PostFilter's `preemption: ...` (without the prefix), or its other words. */
  readonly preemption?: string;
}

function classifyReason(text: string, count: number | undefined): SchedulingReason {
  const row = SCHEDULING_PATTERNS.find((p) => p.pattern.test(text));
  return {
    ...(count === undefined ? {} : { count }),
    text,
    cause: row?.cause ?? "Unknown",
    means: row?.means ?? "reason not recognised",
    rank: row?.rank ?? 0,
  };
}

/**
 * Splits the scheduler's message into its reasons (with counts) and its preemption tail.
 *
 * @param message E.g. `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s). preemption: ...`.
 * @returns The node count, the reasons, the preemption tail.
 *
 * @example
 * ```ts
 * import { parseSchedulerMessage } from "./_pending.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const parsed = parseSchedulerMessage("0/3 nodes are available: 1 Insufficient cpu, 2 Too many pods.");
 * strictEqual(parsed.reasons[1]?.cause, "TooManyPods");
 * strictEqual(parsed.reasons[1]?.count, 2);
 * ```
 */
export function parseSchedulerMessage(message: string): SchedulerMessage {
  const text = message.trim();
  const head = /^0\/(\d+) nodes are available:?\s*/.exec(text);
  if (head === null) {
    if (/no nodes available to schedule pods/i.test(text)) return { nodes: 0, reasons: [] };
    return { reasons: text === "" ? [] : [classifyReason(text.replace(/\.$/, ""), undefined)] };
  }
  // `<PreFilterMsg or the filters' histogram>. <PostFilterMsg>`: reasons never hold ". ".
  const body = text.slice(head[0].length).trim();
  const stop = /\.(?:\s+|$)/.exec(body);
  const first = (stop === null ? body : body.slice(0, stop.index)).trim();
  const rest = stop === null ? "" : body.slice(stop.index + stop[0].length).trim();
  const preemption = rest === "" ? undefined : rest.replace(/^preemption:\s*/, "");
  const reasons = first === "" ? [] : first.split(/, (?=\d+ )/).map((part) => {
    const counted = /^(\d+) (.+)$/.exec(part.trim());
    return counted === null
      ? classifyReason(part.trim(), undefined)
      : classifyReason((counted[2] ?? "").trim(), Number(counted[1]));
  });
  return {
    nodes: Number(head[1]),
    reasons,
    ...(preemption === undefined ? {} : { preemption }),
  };
}

/**
 * The reason that names the cause: the known one with the highest rank, then count.
 *
 * @param parsed The parsed message.
 * @returns The reason, or `undefined` when none has a known cause.
 */
export function primaryReason(parsed: SchedulerMessage): SchedulingReason | undefined {
  return [...parsed.reasons]
    .filter((r) => r.cause !== "Unknown")
    .sort((a, b) => b.rank - a.rank || (b.count ?? Infinity) - (a.count ?? Infinity))[0];
}

/** A claim the pod mounts, as the workflow found it. */
export interface ClaimState {
  /** The claim's name (`persistentVolumeClaim.claimName`). */
  readonly name: string;
  /** The claim; absent when it does not exist (or could not be read). */
  readonly claim?: V1PersistentVolumeClaim;
  /** Whether the claim was read (false: reading claims was refused). */
  readonly read: boolean;
  /** The claim's events (provisioning failures). */
  readonly events?: readonly K8sEvent[];
}

/** What {@linkcode explainPending} reads. */
export interface PendingInput {
  /** The pending pod. */
  readonly pod: V1Pod;
  /** The scheduler's message (else the pod's `PodScheduled` condition's is used). */
  readonly message?: string;
  /** The cluster's nodes. */
  readonly nodes?: readonly V1Node[];
  /** The pods running on each node, by node name (to subtract what they request). */
  readonly nodePods?: Readonly<Record<string, readonly V1Pod[]>>;
  /** The claims the pod mounts. */
  readonly claims?: readonly ClaimState[];
  /** `Kind/namespace/name` of the pod's workload. */
  readonly workload?: string;
  /** The other pods of the workload that are pending too. */
  readonly siblings?: readonly V1Pod[];
}

/** What a pod asks the scheduler for: CPU in cores, memory in bytes. */
export interface PodRequests {
  readonly cpu: number;
  readonly memory: number;
}

/**
 * The requests the scheduler fits: the sum over the containers, or the largest init
 * container's when more, plus the pod's overhead.
 *
 * @param pod The pod.
 * @returns CPU (cores) and memory (bytes).
 */
export function podRequests(pod: V1Pod): PodRequests {
  const of = (resource: string) => {
    const containers = pod.spec?.containers ?? [];
    const sum = containers.reduce(
      (n, c) => n + (parseQuantity(c.resources?.requests?.[resource]) ?? 0),
      0,
    );
    const init = Math.max(
      0,
      ...(pod.spec?.initContainers ?? []).map((c) =>
        parseQuantity(c.resources?.requests?.[resource]) ?? 0
      ),
    );
    return Math.max(sum, init) + (parseQuantity(pod.spec?.overhead?.[resource]) ?? 0);
  };
  return { cpu: of("cpu"), memory: of("memory") };
}

/**
 * CPU cores as Kubernetes writes them: `250m`, `2`, `1.5`.
 *
 * @param cores The number of cores.
 * @returns The quantity.
 */
export function formatCpu(cores: number): string {
  if (cores !== 0 && Math.abs(cores) < 1) return `${Math.round(cores * 1000)}m`;
  return `${Math.round(cores * 1000) / 1000}`;
}

/**
 * Bytes in binary units: `512Mi`, `1.5Gi`.
 *
 * @param bytes The number of bytes.
 * @returns The quantity.
 */
export function formatBytes(bytes: number): string {
  const units: [string, number][] = [["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], [
    "Ki",
    2 ** 10,
  ]];
  for (const [unit, size] of units) {
    if (Math.abs(bytes) >= size) return `${Math.round((bytes / size) * 10) / 10}${unit}`;
  }
  return `${bytes}`;
}

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`;
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function workloadText(workload: string): string {
  const [kind, ...rest] = workload.split("/");
  return `${kind ?? "?"} ${rest.join("/")}`;
}

function taintText(taint: V1Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
}

/**
 * Whether a toleration tolerates a taint, as the scheduler decides it.
 *
 * @param toleration One of the pod's tolerations.
 * @param taint One of the node's taints.
 * @returns `true` when tolerated.
 */
export function tolerates(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === "Exists") return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? "") === (taint.value ?? "");
}

function schedulingTaints(node: V1Node): V1Taint[] {
  return (node.spec?.taints ?? []).filter((t) =>
    t.effect === "NoSchedule" || t.effect === "NoExecute"
  );
}

function untolerated(pod: V1Pod, node: V1Node): V1Taint[] {
  const tolerations = pod.spec?.tolerations ?? [];
  return schedulingTaints(node).filter((t) => !tolerations.some((tol) => tolerates(tol, t)));
}

/** The label requirements of the pod's nodeSelector and required node affinity, as text. */
function selectorTerms(pod: V1Pod): { readonly keys: string[]; readonly text: string[] } {
  const keys: string[] = [];
  const text: string[] = [];
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    keys.push(key);
    text.push(`nodeSelector ${key}=${value}`);
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms ?? [];
  terms.forEach((term, index) => {
    const parts = (term.matchExpressions ?? []).map((e) => {
      keys.push(e.key);
      return `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(",")})` : ""}`;
    });
    for (const f of term.matchFields ?? []) {
      parts.push(
        `field ${f.key} ${f.operator}${f.values?.length ? ` (${f.values.join(",")})` : ""}`,
      );
    }
    const prefix = terms.length > 1
      ? `required affinity term ${index + 1} (or)`
      : "required affinity";
    text.push(`${prefix}: ${parts.join(" and ")}`);
  });
  return { keys: [...new Set(keys)], text };
}

function requestedOn(pods: readonly V1Pod[] | undefined): PodRequests & { readonly pods: number } {
  const active = (pods ?? []).filter((p) =>
    p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
  );
  return active.reduce(
    (sum, p) => {
      const r = podRequests(p);
      return { cpu: sum.cpu + r.cpu, memory: sum.memory + r.memory, pods: sum.pods + 1 };
    },
    { cpu: 0, memory: 0, pods: 0 },
  );
}

function resourcesTable(input: PendingInput, wants: PodRequests): Table {
  const rows = (input.nodes ?? []).slice(0, 20).map((node) => {
    const name = node.metadata?.name ?? "?";
    const alloc = node.status?.allocatable ?? {};
    const cpu = parseQuantity(alloc["cpu"]);
    const memory = parseQuantity(alloc["memory"]);
    const pods = parseQuantity(alloc["pods"]);
    const known = input.nodePods?.[name];
    const used = known === undefined ? undefined : requestedOn(known);
    const free = (total: number | undefined, taken: number | undefined) =>
      total === undefined || taken === undefined ? undefined : total - taken;
    const cell = (n: number | undefined, format: (x: number) => string) =>
      n === undefined ? "?" : format(n);
    return [
      name,
      cell(cpu, formatCpu),
      cell(used?.cpu, formatCpu),
      cell(free(cpu, used?.cpu), formatCpu),
      cell(memory, formatBytes),
      cell(used?.memory, formatBytes),
      cell(free(memory, used?.memory), formatBytes),
      `${used === undefined ? "?" : used.pods}/${cell(pods, String)}`,
    ];
  });
  return {
    title: `This pod requests cpu ${formatCpu(wants.cpu)}, memory ${
      formatBytes(wants.memory)
    }; the nodes (allocatable, requested by their pods, free)`,
    columns: [
      "node",
      "cpu allocatable",
      "cpu requested",
      "cpu free",
      "memory allocatable",
      "memory requested",
      "memory free",
      "pods",
    ],
    rows,
  };
}

function preemptionText(tail: string): string {
  if (/Preemption is not helpful/i.test(tail) && !/No preemption victims/i.test(tail)) {
    return `${
      code(tail)
    }: evicting lower-priority pods would not make room (the nodes fail for reasons other than resources).`;
  }
  if (/No preemption victims/i.test(tail)) {
    return `${code(tail)}: there are no lower-priority pods whose eviction would make room.`;
  }
  return code(tail);
}

function where(input: PendingInput): string {
  const workload = input.workload;
  return workload === undefined || workload.startsWith("Pod/")
    ? "the pod"
    : `${workloadText(workload)}'s pod template`;
}

function nodesCount(reason: SchedulingReason, parsed: SchedulerMessage): string {
  if (reason.count === undefined) return "every node";
  const of = parsed.nodes === undefined ? "" : ` of ${parsed.nodes}`;
  return `${reason.count}${of} node${reason.count === 1 && of === "" ? "" : "s"}`;
}

function resourceFix(
  input: PendingInput,
  resource: "cpu" | "memory",
  wants: PodRequests,
): string[] {
  const format = resource === "cpu" ? formatCpu : formatBytes;
  const largest = Math.max(
    0,
    ...(input.nodes ?? []).map((n) => parseQuantity(n.status?.allocatable?.[resource]) ?? 0),
  );
  const asked = wants[resource];
  if ((input.nodes ?? []).length > 0 && asked > largest) {
    return [
      `No node can ever fit it: it requests ${resource} ${format(asked)} and the largest node has ${
        format(largest)
      } allocatable. Lower \`resources.requests.${resource}\` in ${
        where(input)
      }, or add bigger nodes.`,
    ];
  }
  return [
    `Lower \`resources.requests.${resource}\` in ${where(input)} (it asks for ${
      format(asked)
    }), or free room: other pods' requests fill the nodes.`,
    "Or add nodes; if the cluster autoscaler runs, check why it did not scale up (its events on the pod, its max size).",
  ];
}

function taintFixes(input: PendingInput): string[] {
  const steps: string[] = [];
  for (const node of (input.nodes ?? []).slice(0, 5)) {
    const name = node.metadata?.name ?? "?";
    if (node.spec?.unschedulable) {
      steps.push(`Node ${code(name)} is cordoned: \`kubectl uncordon ${name}\` if that is over.`);
    }
    for (const taint of untolerated(input.pod, node)) {
      if (taint.key === "node.kubernetes.io/unschedulable") continue;
      steps.push(
        `Node ${code(name)} has taint ${code(taintText(taint))}: if the pod belongs there, add to ${
          where(input)
        } \`tolerations: [{key: ${JSON.stringify(taint.key)}, operator: ${
          taint.value ? `Equal, value: ${JSON.stringify(taint.value)}` : "Exists"
        }, effect: ${taint.effect}}]\`; if the taint is left over, \`kubectl taint nodes ${name} ${taint.key}-\`.`,
      );
    }
  }
  if (steps.length === 0) {
    steps.push(
      `Compare the nodes' taints with the pod's tolerations (\`kubectl describe nodes | grep Taints\`), then add a toleration to ${
        where(input)
      } or remove the taint.`,
    );
  }
  return steps;
}

function selectorFixes(input: PendingInput): string[] {
  const { text } = selectorTerms(input.pod);
  const wanted = text.length === 0 ? "its node selection" : text.join("; ");
  const node = input.nodes?.[0]?.metadata?.name ?? "<node>";
  const pairs = Object.entries(input.pod.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
  return [
    `No node satisfies ${code(wanted)}: fix \`nodeSelector\` / \`affinity\` in ${where(input)}${
      pairs.length > 0
        ? `, or label the node meant for it: \`kubectl label node ${node} ${pairs.join(" ")}\``
        : ""
    }.`,
  ];
}

function claimFixes(input: PendingInput, namespace: string): string[] {
  const steps: string[] = [];
  for (const state of input.claims ?? []) {
    if (!state.read) continue;
    if (state.claim === undefined) {
      steps.push(
        `Create PersistentVolumeClaim ${code(state.name)} in namespace ${
          code(namespace)
        }, or correct \`claimName\` in ${where(input)}.`,
      );
      continue;
    }
    const phase = state.claim.status?.phase ?? "Pending";
    if (phase === "Bound") continue;
    const cls = state.claim.spec?.storageClassName;
    steps.push(
      phase === "Lost"
        ? `Claim ${code(state.name)} lost its volume: restore PersistentVolume ${
          code(state.claim.spec?.volumeName ?? "?")
        } or recreate the claim.`
        : cls === undefined || cls === ""
        ? `Claim ${
          code(state.name)
        } is ${phase} with no storage class: create a PersistentVolume that matches it, or set \`storageClassName\` to a class with a provisioner.`
        : `Claim ${code(state.name)} is ${phase}: check that StorageClass ${
          code(cls)
        } exists and its provisioner works (\`kubectl describe pvc ${state.name} -n ${namespace}\`).`,
    );
  }
  if (steps.length === 0) {
    steps.push(
      `Check the pod's PersistentVolumeClaims (\`kubectl get pvc -n ${namespace}\`): each must exist and be Bound, or use a StorageClass that provisions on demand.`,
    );
  }
  return steps;
}

function meansOf(
  reason: SchedulingReason,
  parsed: SchedulerMessage,
  input: PendingInput,
  wants: PodRequests,
): string {
  const nodes = nodesCount(reason, parsed);
  switch (reason.cause) {
    case "InsufficientCPU":
      return `${nodes} lack unrequested CPU for its request of ${formatCpu(wants.cpu)}`;
    case "InsufficientMemory":
      return `${nodes} lack unrequested memory for its request of ${formatBytes(wants.memory)}`;
    case "TooManyPods":
      return `${nodes} already run as many pods as they allow`;
    case "NodeSelectorMismatch": {
      const { text } = selectorTerms(input.pod);
      return `${nodes} do not match its ${text.length === 0 ? "node selection" : text.join("; ")}`;
    }
    case "UntoleratedTaint":
      return `${nodes} ${reason.means}`;
    case "UnboundPVC": {
      const missing = (input.claims ?? []).filter((c) => c.read && c.claim === undefined).map((c) =>
        c.name
      );
      const named = /persistentvolumeclaim "([^"]+)"/.exec(reason.text)?.[1];
      if (named !== undefined && /not found/.test(reason.text)) {
        return `its PersistentVolumeClaim ${JSON.stringify(named)} does not exist`;
      }
      if (missing.length > 0) {
        return `its PersistentVolumeClaim ${JSON.stringify(missing[0])} does not exist`;
      }
      const unbound = (input.claims ?? []).find((c) =>
        c.claim !== undefined && c.claim.status?.phase !== "Bound"
      );
      if (unbound !== undefined) {
        return `its PersistentVolumeClaim ${JSON.stringify(unbound.name)} is ${
          unbound.claim?.status?.phase ?? "Pending"
        }, not bound to a volume`;
      }
      return reason.means;
    }
    default:
      return `${nodes}: ${reason.means}`;
  }
}

/**
 * Explains why a pod cannot be scheduled.
 *
 * @param input The pod, the scheduler's message, the nodes, the pod's claims.
 * @returns The explanation: cause, first line, evidence, fix.
 *
 * @example
 * ```ts
 * import { explainPending } from "./_pending.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation = explainPending({
 *   pod: { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "greedy" } },
 *   message: "0/1 nodes are available: 1 Insufficient cpu.",
 * });
 * strictEqual(explanation.cause, "InsufficientCPU");
 * ```
 */
export function explainPending(input: PendingInput): Explanation {
  const { pod } = input;
  const message = input.message ??
    pod.status?.conditions?.find((c) => c.type === "PodScheduled")?.message ?? "";
  const parsed = parseSchedulerMessage(message);
  const primary = primaryReason(parsed);
  const cause: Cause = primary?.cause ?? "Unknown";
  const wants = podRequests(pod);
  const others = (input.siblings ?? []).filter((p) => p.metadata?.name !== pod.metadata?.name);
  const affected = [pod, ...others];
  const workload = input.workload;
  const who = affected.length > 1 && workload !== undefined
    ? `${affected.length} pods of ${workload} stay Pending`
    : `${podName(pod)} stays Pending`;
  const why = primary === undefined
    ? parsed.nodes === 0
      ? "the cluster has no nodes to schedule on"
      : "the scheduler's reason was not recognised"
    : meansOf(primary, parsed, input, wants);
  const summary = `${who}: ${why}`;

  const evidence: Evidence[] = [
    {
      kind: "text",
      title: "The scheduler's message",
      text: message === "" ? "(none)" : code(message),
    },
  ];
  if (parsed.reasons.length > 0) {
    evidence.push({
      kind: "table",
      table: {
        title: "Why the scheduler rejected the nodes",
        columns: ["nodes", "reason", "cause", "meaning"],
        rows: parsed.reasons.map((r) => [
          r.count === undefined ? "all" : r.count,
          r.text,
          r.cause,
          r.means,
        ]),
      },
    });
  }
  const causes = new Set(parsed.reasons.map((r) => r.cause));
  if (
    causes.has("InsufficientCPU") || causes.has("InsufficientMemory") || causes.has("TooManyPods")
  ) {
    evidence.push({ kind: "table", table: resourcesTable(input, wants) });
  }
  if (causes.has("UntoleratedTaint")) {
    const rows: (string | boolean)[][] = [];
    for (const node of (input.nodes ?? []).slice(0, 20)) {
      const name = node.metadata?.name ?? "?";
      const bad = new Set(untolerated(pod, node).map(taintText));
      const taints = node.spec?.taints ?? [];
      if (taints.length === 0 && !node.spec?.unschedulable) rows.push([name, "(none)", ""]);
      if (node.spec?.unschedulable) rows.push([name, "cordoned (spec.unschedulable)", "no"]);
      for (const taint of taints) {
        const text = taintText(taint);
        rows.push([name, text, bad.has(text) ? "no" : "yes"]);
      }
    }
    evidence.push({
      kind: "table",
      table: {
        title: "Node taints (tolerated by the pod?)",
        columns: ["node", "taint", "tolerated"],
        rows,
      },
    });
    const tolerations = (pod.spec?.tolerations ?? []).map((t) =>
      `${t.key ?? "*"}${t.operator === "Exists" ? " exists" : `=${t.value ?? ""}`}${
        t.effect ? `:${t.effect}` : ""
      }`
    );
    evidence.push({
      kind: "text",
      title: "The pod's tolerations",
      text: tolerations.length === 0 ? "none" : tolerations.map(code).join(", "),
    });
  }
  if (causes.has("NodeSelectorMismatch")) {
    const { keys, text } = selectorTerms(pod);
    evidence.push({
      kind: "text",
      title: "The pod's node selection",
      text: text.length === 0 ? "none found in the spec" : text.map(code).join("; "),
    });
    if (keys.length > 0 && (input.nodes ?? []).length > 0) {
      evidence.push({
        kind: "table",
        table: {
          title: "The nodes' values of those labels",
          columns: ["node", ...keys],
          rows: (input.nodes ?? []).slice(0, 20).map((node) => [
            node.metadata?.name ?? "?",
            ...keys.map((k) => node.metadata?.labels?.[k] ?? "(absent)"),
          ]),
        },
      });
    }
  }
  if (causes.has("UnboundPVC") && (input.claims ?? []).length > 0) {
    evidence.push({
      kind: "table",
      table: {
        title: "The pod's PersistentVolumeClaims",
        columns: ["claim", "status", "storage class", "requested", "access modes", "volume"],
        rows: (input.claims ?? []).map((c) =>
          c.claim === undefined
            ? [c.name, c.read ? "does not exist" : "not readable", "", "", "", ""]
            : [
              c.name,
              c.claim.status?.phase ?? "Pending",
              c.claim.spec?.storageClassName ?? "(none)",
              c.claim.spec?.resources?.requests?.["storage"] ?? "",
              (c.claim.spec?.accessModes ?? []).join(", "),
              c.claim.spec?.volumeName ?? "",
            ]
        ),
      },
    });
    const claimEvents = (input.claims ?? []).flatMap((c) => c.events ?? []);
    if (claimEvents.length > 0) {
      evidence.push({ kind: "table", table: eventsTable("The claims' events", claimEvents, 10) });
    }
  }
  if (parsed.preemption !== undefined) {
    evidence.push({ kind: "text", title: "Preemption", text: preemptionText(parsed.preemption) });
  }
  if (affected.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(
        `Pods of ${workload ?? "the workload"} that are Pending`,
        affected,
      ),
    });
  }

  const namespace = pod.metadata?.namespace ?? "default";
  const fix = cause === "InsufficientCPU"
    ? resourceFix(input, "cpu", wants)
    : cause === "InsufficientMemory"
    ? resourceFix(input, "memory", wants)
    : cause === "TooManyPods"
    ? [
      "Add nodes, or raise the kubelet's `maxPods` on these nodes; check for finished pods that were never cleaned up.",
    ]
    : cause === "UntoleratedTaint"
    ? taintFixes(input)
    : cause === "NodeSelectorMismatch"
    ? selectorFixes(input)
    : cause === "UnboundPVC"
    ? claimFixes(input, namespace)
    : [];
  return { cause, summary, evidence, fix, severity: "high" };
}
