/**
 * The pure analyzer of `pod-oom-killer-enricher`: why a container was
 * OOM-killed: at its own memory limit (`OOMKilled`), or because its node ran
 * out of memory (`NodeOOM`: the node reported `MemoryPressure`, a kubelet
 * `SystemOOM` event, or the container had no limit to be killed at). Objects
 * in, an {@linkcode Explanation} out; no host calls.
 *
 * It only ever explains a termination record whose reason is `OOMKilled`: a
 * container stopped by a rolling update (143, 0) or a scale-down is not an
 * OOM kill, whatever its exit code.
 *
 * @module
 */

import type {
  K8sEvent,
  KubeObject,
  Table,
  V1ContainerStateTerminated,
  V1Node,
  V1Pod,
} from "@wfhost/sdk";
import {
  conditionsTable,
  containerStatesTable,
  decodeExit,
  eventsTable,
  type Evidence,
  type Explanation,
  logTail,
  workloadOf,
} from "@wfhost/sdk/explain.ts";

/** How far from the kill a node event or condition change counts as "at that time". */
export const WINDOW_SECONDS = 120;

/** A kubelet event on the node that says its memory ran out, with the real message. */
export interface NodeMemoryRule {
  /** The event's reason. */
  readonly reason: string;
  /** What it means, for the finding. */
  readonly meaning: string;
  /** A real message of that event. */
  readonly example: string;
  /** Who writes it. */
  readonly source: string;
}

/** The node events that show the node, not the container, ran out of memory. */
export const NODE_MEMORY_EVENTS: readonly NodeMemoryRule[] = [
  {
    reason: "SystemOOM",
    meaning: "the kernel's OOM killer ran for the whole node",
    example: "System OOM encountered, victim process: python, pid: 4242",
    source: "kubelet pkg/kubelet/oom/oom_watcher_linux.go",
  },
  {
    reason: "NodeHasInsufficientMemory",
    meaning: "the node's MemoryPressure condition became True",
    example: "Node node-1 status is now: NodeHasInsufficientMemory",
    source: "kubelet pkg/kubelet/nodestatus/setters.go",
  },
  {
    reason: "EvictionThresholdMet",
    meaning: "the kubelet crossed a memory eviction threshold",
    example: "Attempting to reclaim memory",
    source: "kubelet pkg/kubelet/eviction/eviction_manager.go",
  },
];

/** What the analyzer looks at. */
export interface OomInput {
  /** The pod, as the event's `object` carries it. */
  readonly pod: V1Pod;
  /** The container the event names. */
  readonly container: string;
  /** The pod's node, when it could be read. */
  readonly node?: V1Node | undefined;
  /** The Kubernetes events about the node (the kubelet's `SystemOOM`, pressure events). */
  readonly nodeEvents: readonly K8sEvent[];
  /** The pod's owners, nearest first. */
  readonly owners: readonly KubeObject[];
  /** The pods of the same workload OOM-killed too, this one included. */
  readonly siblings: readonly V1Pod[];
  /** The killed run's log tail, when `attachLogs` (absent otherwise). */
  readonly log?: string | undefined;
  /** How many log lines `log` holds at most. */
  readonly logLines: number;
  /** `containerMemoryGraph`: say that no metrics source exists yet. */
  readonly memoryGraph: boolean;
  /** What could not be read. */
  readonly notes?: readonly string[];
}

/**
 * The `OOMKilled` termination record of a container: its current state's,
 * else its last state's; `undefined` when neither was an OOM kill.
 *
 * @param pod The pod.
 * @param container The container.
 * @returns The record, and whether it is the current state (the log to read
 *   is then the current one, else the previous one).
 */
export function oomRecord(
  pod: V1Pod,
  container: string,
): { readonly record: V1ContainerStateTerminated; readonly current: boolean } | undefined {
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === container);
  const now = status?.state?.terminated;
  if (now?.reason === "OOMKilled") return { record: now, current: true };
  const last = status?.lastState?.terminated;
  if (last?.reason === "OOMKilled") return { record: last, current: false };
  return undefined;
}

function near(time: string | null | undefined, at: number): boolean {
  if (!time) return false;
  const t = Date.parse(time);
  return Number.isFinite(t) && Math.abs(t - at) <= WINDOW_SECONDS * 1000;
}

/** The node events within the window of the kill that show the node ran out of memory. */
function nodeMemoryEvents(events: readonly K8sEvent[], at: number | undefined): K8sEvent[] {
  return events.filter((event) =>
    NODE_MEMORY_EVENTS.some((rule) => rule.reason === event.reason) &&
    (at === undefined || near(event.lastTimestamp, at) || near(event.firstTimestamp, at) ||
      // An aggregated event whose span covers the kill.
      (Date.parse(event.firstTimestamp ?? "") <= at && Date.parse(event.lastTimestamp ?? "") >= at))
  );
}

function memoryTable(pod: V1Pod, container: string): Table {
  return {
    title: `Memory of pod ${pod.metadata?.name ?? "?"} (QoS ${pod.status?.qosClass ?? "?"})`,
    columns: ["container", "request", "limit", "termination"],
    rows: [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [
      c.name,
      c.resources?.requests?.["memory"] ?? "none",
      c.resources?.limits?.["memory"] ?? "none",
      c.name === container ? "OOMKilled" : "",
    ]),
  };
}

/**
 * Why the container was OOM-killed.
 *
 * @param input The pod, its node and the node's events, owners, siblings, log.
 * @returns The explanation, or `undefined` when the container's termination
 *   was not an OOM kill (nothing to report).
 */
export function analyzeOom(input: OomInput): Explanation | undefined {
  const { pod, container } = input;
  const found = oomRecord(pod, container);
  if (found === undefined) return undefined;
  const { record } = found;
  const namespace = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "?";
  const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) =>
    c.name === container
  );
  const limit = spec?.resources?.limits?.["memory"];
  const request = spec?.resources?.requests?.["memory"];
  const workload = workloadOf(pod, input.owners);
  const nodeName = pod.spec?.nodeName ?? input.node?.metadata?.name;
  const at = record.finishedAt ? Date.parse(record.finishedAt) : undefined;

  const pressure = input.node?.status?.conditions?.find((c) => c.type === "MemoryPressure");
  const pressed = pressure?.status === "True" &&
    (at === undefined || !pressure.lastTransitionTime ||
      Date.parse(pressure.lastTransitionTime) <= at + WINDOW_SECONDS * 1000);
  const memoryEvents = nodeMemoryEvents(input.nodeEvents, at);
  const systemOom = memoryEvents.find((event) => event.reason === "SystemOOM");
  const nodeLevel = systemOom !== undefined || pressed || memoryEvents.length > 0;

  const siblings = input.siblings.length > 0 ? input.siblings : [pod];
  const who = siblings.length > 1
    ? `${siblings.length} pods of ${workload} (container ${container}) were OOM-killed`
    : `${namespace}/${name} (container ${container}) was OOM-killed`;
  const node = nodeName === undefined ? "its node" : `node ${nodeName}`;
  let summary: string;
  let fix: string[];
  let cause: "OOMKilled" | "NodeOOM";
  if (nodeLevel) {
    cause = "NodeOOM";
    const said = systemOom !== undefined
      ? `the kubelet reported SystemOOM: ${systemOom.message}`
      : pressed
      ? "the node reported MemoryPressure"
      : `the kubelet reported ${memoryEvents.map((e) => e.reason).join(", ")}`;
    summary = `${who} because ${node} ran out of memory (${said})${
      limit === undefined ? "" : `, below its own limit of ${limit}`
    }`;
    fix = [
      "Set every pod's memory requests to what it really uses, so the scheduler does not overcommit the node.",
      "Give every container a memory limit, so a leak is stopped at its own limit rather than by the node.",
      "Reserve memory for the system (kubelet `--system-reserved`, `--kube-reserved`) and set eviction thresholds, so the kubelet evicts pods before the kernel kills them.",
    ];
  } else if (limit === undefined) {
    cause = "NodeOOM";
    summary =
      `${who}: it has no memory limit, so nothing bounded it but the memory of ${node}, which ran out`;
    fix = [
      `Set \`resources.limits.memory\` (and \`requests.memory\`) for container ${container}, so it is stopped at its own limit instead of exhausting the node.`,
      "Then size the limit above the container's peak use.",
    ];
  } else {
    cause = "OOMKilled";
    summary = `${who}: it reached its memory limit of ${limit}${
      request === undefined ? "" : ` (request ${request})`
    }`;
    fix = [
      `Raise \`resources.limits.memory\` of container ${container} above its peak use (now ${limit}), or make it use less (for Python, the python-memory-analysis built-in shows what grows).`,
      "Keep `requests.memory` close to the limit, so the scheduler reserves what the container really uses.",
    ];
  }

  const exit = decodeExit(record.exitCode, record.signal);
  const termination = [
    `reason OOMKilled, exit code ${record.exitCode}${exit.signal ? ` (${exit.signal})` : ""}`,
  ];
  if (record.exitCode !== 137) {
    termination.push(
      `a process of the container was killed by the OOM killer; the main process then exited with code ${record.exitCode}`,
    );
  }
  if (record.startedAt) termination.push(`started ${record.startedAt}`);
  if (record.finishedAt) termination.push(`finished ${record.finishedAt}`);
  termination.push(
    limit === undefined
      ? "no memory limit"
      : `memory limit ${limit}${request === undefined ? "" : `, request ${request}`}`,
  );
  const evidence: Evidence[] = [
    { kind: "text", title: "Termination", text: termination.join("; ") },
    { kind: "table", table: memoryTable(pod, container) },
  ];
  if (input.node !== undefined) {
    const allocatable = input.node.status?.allocatable?.["memory"];
    const capacity = input.node.status?.capacity?.["memory"];
    evidence.push({
      kind: "table",
      table: conditionsTable(
        `Node ${nodeName ?? "?"} (memory capacity ${capacity ?? "?"}, allocatable ${
          allocatable ?? "?"
        })`,
        (input.node.status?.conditions ?? []).filter((c) =>
          c.type === "MemoryPressure" || c.type === "Ready"
        ),
      ),
    });
  }
  evidence.push(
    memoryEvents.length > 0
      ? {
        kind: "table",
        table: eventsTable(
          `Memory events of ${node} within ${WINDOW_SECONDS}s of the kill`,
          memoryEvents,
        ),
      }
      : {
        kind: "text",
        title: "Node memory",
        text:
          `no SystemOOM or memory-pressure event on ${node} within ${WINDOW_SECONDS}s of the kill${
            pressure === undefined ? "" : `; MemoryPressure is ${pressure.status}`
          }`,
      },
  );
  if (input.log !== undefined) {
    evidence.push(
      input.log.trim() === ""
        ? { kind: "text", title: "Log of the killed run", text: "it wrote no log" }
        : {
          kind: "log",
          title: `Log of the killed run, last ${input.logLines} lines`,
          text: logTail(input.log, input.logLines),
        },
    );
  }
  if (input.memoryGraph) {
    evidence.push({
      kind: "text",
      title: "Memory graph",
      text:
        "not available: wfhost has no metrics source yet, so it cannot graph the container's memory (containerMemoryGraph)",
    });
  }
  const chain = input.owners.map((owner) => `${owner.kind} ${owner.metadata.name ?? "?"}`);
  evidence.push({
    kind: "text",
    title: "Owner",
    text: input.owners.length === 0
      ? `none: ${namespace}/${name} is a bare pod`
      : `${workload} (Pod ${name} → ${chain.join(" → ")})`,
  });
  if (siblings.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(`OOM-killed pods of ${workload} (${siblings.length})`, siblings),
    });
  }
  for (const note of input.notes ?? []) {
    evidence.push({ kind: "text", title: "Not read", text: note });
  }
  return { cause, summary, evidence, fix, severity: "high" };
}
