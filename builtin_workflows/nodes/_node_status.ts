/**
 * Why a node is NotReady or under pressure: the pure analyzer behind
 * `node-status-enricher`.
 *
 * Objects in (the Node, the pods bound to it), an {@linkcode Explanation}
 * out: the conditions (Ready's reason and message, each pressure), the
 * pods' requests and limits against the node's allocatable, and the fix for
 * the condition at hand. Causes: `NodeNotReady`, `NodeMemoryPressure`,
 * `NodeDiskPressure`, `NodePIDPressure`.
 *
 * @module
 */

import {
  type Cause,
  conditionsTable,
  type Evidence,
  type Explanation,
  nodeConditionCause,
  parseQuantity,
} from "@wfhost/sdk/explain.ts";
import type { V1Node, V1NodeCondition, V1Pod } from "@wfhost/sdk";

/** The event that asked, when there was one. */
export interface NodeTrigger {
  /** `node.notReady` or `node.pressure`. */
  readonly kind: "node.notReady" | "node.pressure";
  /** The event's reason: the Ready condition's reason, or the pressure type. */
  readonly reason: string;
  /** The condition's message. */
  readonly message?: string;
}

/** What the analyzer reads. */
export interface NodeStatusInput {
  /** The node, as the event or `ctx.k8s.node` gave it. */
  readonly node: V1Node;
  /** The pods bound to it (`spec.nodeName`). */
  readonly pods: readonly V1Pod[];
  /** The event, when the analysis answers one; else the worst condition is explained. */
  readonly trigger?: NodeTrigger;
  /** A remark about the pod listing (truncated, refused). */
  readonly podsNote?: string;
}

/** Requests and limits of one pod, in cores and bytes. */
export interface PodResources {
  /** `namespace/name`. */
  readonly pod: string;
  /** The pod's phase. */
  readonly phase: string;
  /** Its QoS class (`Guaranteed`, `Burstable`, `BestEffort`). */
  readonly qos: string;
  /** Requests by resource (`cpu` in cores, `memory` and `ephemeral-storage` in bytes). */
  readonly requests: Readonly<Record<string, number>>;
  /** Limits by resource, when every container sets one (else absent: unbounded). */
  readonly limits: Readonly<Record<string, number>>;
}

const RESOURCES = ["cpu", "memory", "ephemeral-storage"] as const;

/**
 * A pod's effective requests and limits as the scheduler counts them: the
 * larger of the containers' sum and the largest init container, plus the
 * pod overhead.
 *
 * @param pod The pod.
 * @returns Its requests and limits.
 */
export function podResources(pod: V1Pod): PodResources {
  const requests: Record<string, number> = {};
  const limits: Record<string, number> = {};
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  for (const resource of RESOURCES) {
    const sum = (which: "requests" | "limits") =>
      containers.reduce((n, c) => n + (parseQuantity(c.resources?.[which]?.[resource]) ?? 0), 0);
    const initMax = (which: "requests" | "limits") =>
      Math.max(0, ...inits.map((c) => parseQuantity(c.resources?.[which]?.[resource]) ?? 0));
    const overhead = parseQuantity(pod.spec?.overhead?.[resource]) ?? 0;
    const requested = Math.max(sum("requests"), initMax("requests")) + overhead;
    if (requested > 0) requests[resource] = requested;
    const bounded = containers.length > 0 &&
      containers.every((c) => c.resources?.limits?.[resource] !== undefined);
    if (bounded) limits[resource] = Math.max(sum("limits"), initMax("limits")) + overhead;
  }
  return {
    pod: `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`,
    phase: pod.status?.phase ?? "Unknown",
    qos: pod.status?.qosClass ?? qosOf(pod),
    requests,
    limits,
  };
}

function qosOf(pod: V1Pod): string {
  const containers = pod.spec?.containers ?? [];
  const any = containers.some((c) =>
    Object.keys(c.resources?.requests ?? {}).length +
        Object.keys(c.resources?.limits ?? {}).length >
      0
  );
  if (!any) return "BestEffort";
  const guaranteed = containers.every((c) =>
    ["cpu", "memory"].every((r) => {
      const limit = c.resources?.limits?.[r];
      const request = c.resources?.requests?.[r] ?? limit;
      return limit !== undefined && parseQuantity(request) === parseQuantity(limit);
    })
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}

/**
 * A quantity for people: CPU in cores when whole, else millicores; bytes in Ki/Mi/Gi.
 *
 * @param resource `cpu`, `memory`, `ephemeral-storage` or `pods`.
 * @param value The value (cores, bytes, a count).
 * @returns The text, e.g. `"250m"`, `"2"`, `"1.5Gi"`.
 */
export function formatResource(resource: string, value: number | undefined): string {
  if (value === undefined) return "";
  if (resource === "cpu") {
    const millis = Math.round(value * 1000);
    return millis % 1000 === 0 ? `${millis / 1000}` : `${millis}m`;
  }
  if (resource === "pods") return String(value);
  const units: [string, number][] = [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]];
  for (const [unit, size] of units) {
    if (value >= size) return `${Math.round((value / size) * 10) / 10}${unit}`;
  }
  return `${value}`;
}

function percent(part: number, whole: number | undefined): string {
  if (whole === undefined || whole <= 0) return "";
  return `${Math.round((part / whole) * 100)}%`;
}

const ACTIVE = (p: PodResources): boolean => p.phase !== "Succeeded" && p.phase !== "Failed";

function conditionOf(node: V1Node, type: string): V1NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

const PRESSURES = ["MemoryPressure", "DiskPressure", "PIDPressure"] as const;

/** The condition to explain: the trigger's, else Ready when not True, else a pressure. */
function pick(input: NodeStatusInput): { readonly type: string; readonly cause: Cause } {
  const { trigger, node } = input;
  if (trigger?.kind === "node.notReady") return { type: "Ready", cause: "NodeNotReady" };
  if (trigger?.kind === "node.pressure") {
    return { type: trigger.reason, cause: nodeConditionCause(trigger.reason) };
  }
  const ready = conditionOf(node, "Ready");
  if (ready !== undefined && ready.status !== "True") {
    return { type: "Ready", cause: "NodeNotReady" };
  }
  for (const type of PRESSURES) {
    if (conditionOf(node, type)?.status === "True") {
      return { type, cause: nodeConditionCause(type) };
    }
  }
  return { type: "", cause: "Unknown" };
}

const RESOURCE_OF: Readonly<Record<string, string>> = {
  MemoryPressure: "memory",
  DiskPressure: "ephemeral-storage",
};

const PRESSURE_WORDS: Readonly<Record<string, string>> = {
  MemoryPressure: "memory pressure",
  DiskPressure: "disk pressure",
  PIDPressure: "PID pressure",
};

/** At most this many pods in the pods table. */
const POD_ROWS = 30;

/**
 * Explains a NotReady or pressured node.
 *
 * @param input The node, its pods, the event.
 * @returns The explanation.
 */
export function explainNodeStatus(input: NodeStatusInput): Explanation {
  const { node } = input;
  const name = node.metadata?.name ?? "?";
  const allocatable = node.status?.allocatable ?? {};
  const pods = input.pods.map(podResources);
  const active = pods.filter(ACTIVE);
  const { type, cause } = pick(input);
  const condition = type === "" ? undefined : conditionOf(node, type);
  const message = condition?.message ?? input.trigger?.message ?? "";
  const reason = condition?.reason ??
    (input.trigger?.kind === "node.notReady" ? input.trigger.reason : "");

  const totals = (which: "requests" | "limits", resource: string): number =>
    active.reduce((n, p) => n + (p[which][resource] ?? 0), 0);
  const unbounded = (resource: string): number =>
    active.filter((p) => p.limits[resource] === undefined).length;
  // A resource the node does not report and no pod asks for says nothing.
  const shown = [...RESOURCES, "pods" as const].filter((resource) =>
    allocatable[resource] !== undefined || totals("requests", resource) > 0 ||
    totals("limits", resource) > 0
  );
  const usageRows = shown.map((resource) => {
    const whole = parseQuantity(allocatable[resource]);
    if (resource === "pods") {
      return [
        resource,
        allocatable[resource] ?? "",
        active.length,
        percent(active.length, whole),
        "",
        "",
      ];
    }
    const requested = totals("requests", resource);
    const limited = totals("limits", resource);
    const open = unbounded(resource);
    const without = `${open} pod${open === 1 ? "" : "s"} without a limit`;
    return [
      resource,
      formatResource(resource, whole),
      formatResource(resource, requested),
      percent(requested, whole),
      limited > 0
        ? `${formatResource(resource, limited)}${open > 0 ? ` (+${without})` : ""}`
        : open > 0
        ? `none (${without})`
        : "0",
      limited > 0 ? percent(limited, whole) : "",
    ];
  });

  const focus = RESOURCE_OF[type] ?? "memory";
  const sorted = [...active].sort((a, b) =>
    (b.requests[focus] ?? 0) - (a.requests[focus] ?? 0) || a.pod.localeCompare(b.pod)
  );
  const podRows = sorted.slice(0, POD_ROWS).map((p) => [
    p.pod,
    p.phase,
    p.qos,
    formatResource("cpu", p.requests["cpu"]),
    formatResource("cpu", p.limits["cpu"]),
    formatResource("memory", p.requests["memory"]),
    formatResource("memory", p.limits["memory"]),
    formatResource("ephemeral-storage", p.requests["ephemeral-storage"]),
  ]);

  const evidence: Evidence[] = [
    {
      kind: "table",
      table: conditionsTable(`Conditions of node ${name}`, node.status?.conditions),
    },
    {
      kind: "table",
      table: {
        title: `Requests of its ${active.length} pods vs the node's allocatable`,
        columns: ["resource", "allocatable", "requested", "% requested", "limits", "% limits"],
        rows: usageRows,
      },
    },
  ];
  if (podRows.length > 0) {
    evidence.push({
      kind: "table",
      table: {
        title: `Pods on ${name}${
          sorted.length > POD_ROWS ? ` (${POD_ROWS} of ${sorted.length})` : ""
        }, most ${focus} requested first`,
        columns: [
          "pod",
          "phase",
          "QoS",
          "cpu request",
          "cpu limit",
          "memory request",
          "memory limit",
          "ephemeral-storage request",
        ],
        rows: podRows,
      },
    });
  }
  if (input.podsNote) evidence.push({ kind: "text", title: "Pod listing", text: input.podsNote });
  const taints = node.spec?.taints ?? [];
  if (taints.length > 0) {
    evidence.push({
      kind: "text",
      title: "Taints",
      text: taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(", "),
    });
  }
  if (node.spec?.unschedulable) {
    evidence.push({ kind: "text", title: "Scheduling", text: "cordoned (unschedulable)" });
  }
  const info = node.status?.nodeInfo;
  if (info !== undefined) {
    evidence.push({
      kind: "text",
      title: "Node",
      text:
        `kubelet ${info.kubeletVersion}, ${info.containerRuntimeVersion}, ${info.osImage}, kernel ${info.kernelVersion}`,
    });
  }

  const podsPhrase = `${active.length} pod${active.length === 1 ? "" : "s"} run${
    active.length === 1 ? "s" : ""
  } on it`;
  if (cause === "NodeNotReady") {
    const silent = condition?.status === "Unknown" || reason === "NodeStatusUnknown" ||
      reason === "NodeStatusNeverUpdated";
    const summary = silent
      ? `Node ${name} stopped reporting its status (${reason || "Unknown"}${
        message ? `: ${message}` : ""
      }); ${podsPhrase}`
      : `Node ${name} is NotReady (${reason || "False"}${
        message ? `: ${message}` : ""
      }); ${podsPhrase}`;
    const fix: string[] = [];
    if (silent) {
      fix.push(
        "The control plane no longer hears from the node's kubelet: check that the machine is up and reachable (cloud console, `ping`), then the kubelet on it: `systemctl status kubelet`, `journalctl -u kubelet`.",
      );
    } else {
      fix.push(
        "The kubelet runs but reports the node not ready: read `journalctl -u kubelet` on the node; the message above names the failing part.",
      );
      if (/network|cni/i.test(message)) {
        fix.push(
          "The network plugin (CNI) is not ready: check its pod on this node (e.g. `kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=" +
            name + "`).",
        );
      }
      if (/runtime|PLEG|containerd|cri-o|docker/i.test(message)) {
        fix.push(
          "The container runtime is unhealthy: `systemctl status containerd` (or crio) and `crictl ps` on the node; restart it if it hangs.",
        );
      }
    }
    fix.push(
      `Its pods are evicted once their \`node.kubernetes.io/not-ready\`/\`unreachable\` toleration runs out (300 s by default); if the node will not come back, drain it: \`kubectl drain ${name} --ignore-daemonsets --delete-emptydir-data\`.`,
    );
    return { cause, summary, evidence, fix, severity: "critical" };
  }
  if (
    cause === "NodeMemoryPressure" || cause === "NodeDiskPressure" || cause === "NodePIDPressure"
  ) {
    const words = PRESSURE_WORDS[type] ?? type;
    const resource = RESOURCE_OF[type];
    const whole = resource === undefined ? undefined : parseQuantity(allocatable[resource]);
    const requested = resource === undefined ? 0 : totals("requests", resource);
    const share = resource === undefined ? "" : percent(requested, whole);
    const load = resource === undefined
      ? podsPhrase
      : requested > 0
      ? `its ${active.length} pods request ${formatResource(resource, requested)} of ${
        formatResource(resource, whole)
      } allocatable ${resource === "memory" ? "memory" : "ephemeral storage"}${
        share ? ` (${share})` : ""
      }`
      : `none of its ${active.length} pods requests ${resource}`;
    const summary = `Node ${name} is under ${words}${message ? ` (${message})` : ""}; ${load}`;
    const fix: string[] = [];
    if (cause === "NodeMemoryPressure") {
      const bestEffort = active.filter((p) => p.requests["memory"] === undefined).map((p) => p.pod);
      fix.push(
        "The kubelet evicts pods to reclaim memory: BestEffort pods first, then Burstable pods using more than they request.",
      );
      if (bestEffort.length > 0) {
        fix.push(
          `Set memory requests and limits on the pods that have none (${
            bestEffort.slice(0, 5).join(", ")
          }${bestEffort.length > 5 ? ", ..." : ""}): the scheduler packs them onto the node blind.`,
        );
      }
      const ratio = whole === undefined || whole === 0 ? 0 : requested / whole;
      fix.push(
        ratio >= 0.9
          ? "The pods request nearly all of the node's memory: add nodes (or larger ones), or move workloads away."
          : "The pods request less than the node has: some use far more than they request. Compare `kubectl top pods` with their requests and raise the requests to match; check for processes outside Kubernetes on the node.",
      );
    } else if (cause === "NodeDiskPressure") {
      fix.push(
        "The kubelet deletes unused images and evicts the pods writing most to local disk (writable layer, logs, emptyDir): find them with `crictl stats` or `du` under /var/lib/kubelet and /var/log/pods on the node.",
        "Set `ephemeral-storage` requests and limits on pods that write locally, rotate or ship logs, and grow the node's disk if images alone fill it.",
      );
    } else {
      fix.push(
        "A pod forks too many processes or leaks threads: find it with `ps -eLf | wc -l` per container (`crictl stats`) on the node.",
        "Cap processes per pod (kubelet `podPidsLimit`) so one pod cannot starve the node.",
      );
    }
    return { cause, summary, evidence, fix };
  }
  return {
    cause: "Unknown",
    summary: `Node ${name} is Ready with no pressure: cause not recognised`,
    evidence,
    fix: [],
    severity: "info",
  };
}
