/**
 * Why a container's probe keeps failing: the analyzer behind `pod-investigator-enricher` for
 * `pod.probeFailing`.
 *
 * The kubelet records a `Warning` event `Unhealthy` on each failed probe, `<Type> probe failed:
 * <output>` or `<Type> probe errored and resulted in <state> state: <error>`
 * (`pkg/kubelet/prober/prober.go`), where the output is the prober's: `HTTP probe failed with
 * statuscode: 500`, `Get "http://10.244.0.7:8080/healthz": dial tcp 10.244.0.7:8080: connect:
 * connection refused`, an exec probe's own output, a gRPC `service unhealthy (responded with
 * "NOT_SERVING")`. A failed liveness (or startup) probe then restarts the container (`Killing`:
 * `Container app failed liveness probe, will be restarted`). {@linkcode PROBE_OUTCOMES} classifies
 * the output, each row with the real message it was taken from; the cause is the probe's type,
 * and the finding shows the probe as the pod spec defines it.
 *
 * Pure: objects in, an {@linkcode Explanation} out.
 *
 * @module
 */

import type { Cause, Evidence, Explanation } from "@wfhost/sdk/explain.ts";
import { containerStatesTable, eventsTable } from "@wfhost/sdk/explain.ts";
import type { K8sEvent, V1Container, V1ContainerStatus, V1Pod, V1Probe } from "@wfhost/sdk";

/** One row of the classifier of a probe's output. */
export interface ProbeOutcome {
  /** A short name of what went wrong. */
  readonly kind: string;
  /** Matched against the message (first matching row wins). */
  readonly pattern: RegExp;
  /** What it means (`$1`... replaced by the groups). */
  readonly means: string;
  /** The likely fix, given the probe. */
  readonly fix: string;
  /** The real message the pattern was taken from. */
  readonly example: string;
}

/** The classifier, first match wins. */
export const PROBE_OUTCOMES: readonly ProbeOutcome[] = [
  {
    kind: "connection refused",
    pattern: /connect: connection refused/,
    means: "nothing listens on the probed port",
    fix:
      "Check the probe's port against the port the application listens on, and that it listens on 0.0.0.0 (not 127.0.0.1); if it is only slow to start, add a `startupProbe` or raise `initialDelaySeconds`.",
    example:
      'Readiness probe failed: Get "http://10.244.0.7:8080/healthz": dial tcp 10.244.0.7:8080: connect: connection refused',
  },
  {
    kind: "timeout",
    pattern:
      /context deadline exceeded|Client\.Timeout exceeded|i\/o timeout|timeout: (?:failed to connect service|health rpc did not complete)|command timed out/,
    means: "the check did not answer within `timeoutSeconds`",
    fix:
      "Make the health endpoint cheap (no calls to databases or other services), or raise `timeoutSeconds`; a CPU limit that throttles the container slows it too.",
    example:
      'Liveness probe failed: Get "http://10.244.0.7:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
  },
  {
    kind: "HTTP status",
    pattern: /HTTP probe failed with statuscode: (\d+)/,
    means: "the health endpoint answered HTTP $1",
    fix:
      "Look at why the application's health handler fails (its logs); a 404 means the probe's `path` is wrong, a 5xx that the application reports itself unhealthy (often a dependency).",
    example: "Liveness probe failed: HTTP probe failed with statuscode: 500",
  },
  {
    kind: "gRPC status",
    pattern:
      /service unhealthy \(responded with "([^"]+)"\)|does not implement the grpc health protocol/,
    means: "the gRPC health service answered $1",
    fix:
      "Check the gRPC health service the application registers (`grpc.health.v1.Health`) and why it reports not serving.",
    example: 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
  },
  {
    kind: "unreachable",
    pattern: /no route to host|network is unreachable|connection reset by peer/,
    means: "the pod's address was not reachable from the kubelet",
    fix:
      "Check the pod's network (CNI) and any NetworkPolicy or firewall between the node and the pod.",
    example:
      'Liveness probe failed: Get "http://10.244.0.7:8080/healthz": dial tcp 10.244.0.7:8080: connect: no route to host',
  },
  {
    kind: "probe error",
    pattern: /probe errored and resulted in/,
    means: "the kubelet could not run the probe",
    fix:
      "Read the error: an exec probe's command may be missing from the image, or the container was not running when probed.",
    example:
      "Liveness probe errored and resulted in unknown state: rpc error: code = Unknown desc = failed to exec in container: container is in CONTAINER_EXITED state",
  },
  {
    kind: "command failed",
    pattern: /./,
    means: "the check reported failure",
    fix:
      "Run the probe's command or request by hand in the container (`kubectl exec`) and compare with what the application expects.",
    example: "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory",
  },
];

/** The probe types and the cause each stands for. */
const PROBE_CAUSES: Readonly<Record<string, Cause>> = {
  liveness: "LivenessProbeFailed",
  readiness: "ReadinessProbeFailed",
  startup: "StartupProbeFailed",
};

/**
 * The probe type a kubelet message names, or `undefined`.
 *
 * @param message E.g. `Liveness probe failed: ...`, `(combined from similar events): Readiness probe failed: ...`.
 * @returns `liveness`, `readiness` or `startup`.
 */
export function probeTypeOf(message: string): string | undefined {
  return /^(?:\(combined from similar events\):\s*)?(liveness|readiness|startup) probe\b/i.exec(
    message.trim(),
  )?.[1]?.toLowerCase();
}

/**
 * Classifies a probe failure message.
 *
 * @param message The `Unhealthy` event's message.
 * @returns The row that matched and its meaning with the groups filled in.
 */
export function classifyProbeMessage(message: string): {
  readonly outcome: ProbeOutcome;
  readonly means: string;
} {
  for (const outcome of PROBE_OUTCOMES) {
    const match = outcome.pattern.exec(message);
    if (match === null) continue;
    return {
      outcome,
      means: outcome.means.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? "?"),
    };
  }
  const last = PROBE_OUTCOMES[PROBE_OUTCOMES.length - 1] as ProbeOutcome;
  return { outcome: last, means: last.means };
}

/**
 * A probe as one line: what it checks (`GET http://:8080/healthz`, `tcp :6379`, `exec cat
 * /tmp/healthy`, `grpc :9090`).
 *
 * @param probe The probe.
 * @returns The line.
 */
export function probeTarget(probe: V1Probe): string {
  if (probe.httpGet !== undefined) {
    const h = probe.httpGet;
    return `GET ${(h.scheme ?? "HTTP").toLowerCase()}://${h.host ?? ""}:${h.port}${h.path ?? "/"}`;
  }
  if (probe.tcpSocket !== undefined) {
    return `tcp ${probe.tcpSocket.host ?? ""}:${probe.tcpSocket.port}`;
  }
  if (probe.grpc !== undefined) {
    return `grpc :${probe.grpc.port}${probe.grpc.service ? ` service ${probe.grpc.service}` : ""}`;
  }
  if (probe.exec !== undefined) return `exec ${(probe.exec.command ?? []).join(" ")}`;
  return "(no handler)";
}

function probePort(probe: V1Probe): number | string | undefined {
  return probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
}

/** What {@linkcode explainProbe} reads. */
export interface ProbeInput {
  /** The pod, when known. */
  readonly pod?: V1Pod;
  /** The container whose probe fails (from the event's `fieldPath`). */
  readonly container?: string;
  /** `liveness`, `readiness` or `startup`, when the host told. */
  readonly probe?: string;
  /** The `Unhealthy` event's message. */
  readonly message: string;
  /** The `Unhealthy` event (its count and times). */
  readonly event?: K8sEvent;
  /** The pod's events (the `Unhealthy` and `Killing` ones are shown). */
  readonly events?: readonly K8sEvent[];
  /** `Kind/namespace/name` of the pod's workload. */
  readonly workload?: string;
  /** The other pods of the workload failing the same probe. */
  readonly siblings?: readonly V1Pod[];
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function probeOf(
  container: V1Container | undefined,
  type: string | undefined,
): V1Probe | undefined {
  if (container === undefined) return undefined;
  if (type === "liveness") return container.livenessProbe;
  if (type === "readiness") return container.readinessProbe;
  if (type === "startup") return container.startupProbe;
  return undefined;
}

/**
 * Explains a failing probe.
 *
 * @param input The pod, the container, the probe type and the kubelet's message.
 * @returns The explanation: cause, first line, evidence, fix.
 *
 * @example
 * ```ts
 * import { explainProbe } from "./_probes.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation = explainProbe({
 *   container: "app",
 *   message: "Liveness probe failed: HTTP probe failed with statuscode: 500",
 * });
 * strictEqual(explanation.cause, "LivenessProbeFailed");
 * ```
 */
export function explainProbe(input: ProbeInput): Explanation {
  const { pod } = input;
  const type = input.probe?.toLowerCase() ?? probeTypeOf(input.message);
  const cause: Cause = (type === undefined ? undefined : PROBE_CAUSES[type]) ?? "Unknown";
  const name = input.container ?? "?";
  const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find((c) =>
    c.name === input.container
  );
  const status: V1ContainerStatus | undefined = [
    ...(pod?.status?.containerStatuses ?? []),
    ...(pod?.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === input.container);
  const probe = probeOf(spec, type);
  const { outcome, means } = classifyProbeMessage(input.message);
  const podText = pod === undefined
    ? `${input.event?.involvedObject.namespace ?? "?"}/${input.event?.involvedObject.name ?? "?"}`
    : `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`;
  const others = pod === undefined
    ? []
    : (input.siblings ?? []).filter((p) => p.metadata?.name !== pod.metadata?.name);
  const affected = pod === undefined ? [] : [pod, ...others];
  const workload = input.workload;
  const who = affected.length > 1 && workload !== undefined
    ? `${affected.length} pods of ${workload} (container ${name})`
    : `${podText} (container ${name})`;
  const target = probe === undefined ? "" : ` (${probeTarget(probe)})`;
  const consequence = type === "liveness" || type === "startup"
    ? `; the kubelet restarts the container${
      status?.restartCount ? ` (${status.restartCount} restarts so far)` : ""
    }`
    : type === "readiness"
    ? "; the pod is taken out of its Services' endpoints"
    : "";
  const summary = cause === "Unknown"
    ? `${who} fails a probe: cause not recognised`
    : `${who}: the ${type} probe${target} fails: ${means}${consequence}`;

  const evidence: Evidence[] = [
    {
      kind: "text",
      title: `The kubelet's message${
        input.event !== undefined
          ? ` (${input.event.count} time${input.event.count === 1 ? "" : "s"}, last ${
            input.event.lastTimestamp ?? "?"
          })`
          : ""
      }`,
      text: code(input.message),
    },
  ];
  if (probe !== undefined) {
    evidence.push({
      kind: "table",
      table: {
        title: `The ${type} probe of container ${name}, as the pod spec defines it`,
        columns: ["field", "value"],
        rows: [
          ["checks", probeTarget(probe)],
          ["initialDelaySeconds", probe.initialDelaySeconds ?? "0 (default)"],
          ["periodSeconds", probe.periodSeconds ?? "10 (default)"],
          ["timeoutSeconds", probe.timeoutSeconds ?? "1 (default)"],
          ["failureThreshold", probe.failureThreshold ?? "3 (default)"],
          ["successThreshold", probe.successThreshold ?? "1 (default)"],
        ],
      },
    });
  } else if (pod !== undefined && type !== undefined) {
    evidence.push({
      kind: "text",
      title: "The probe",
      text: `container ${name} defines no ${type} probe in the pod as read`,
    });
  }
  const ports = (spec?.ports ?? []).map((p) => `${p.name ? `${p.name}=` : ""}${p.containerPort}`);
  const port = probe === undefined ? undefined : probePort(probe);
  const portKnown = port === undefined || ports.length === 0 ||
    (spec?.ports ?? []).some((p) => p.containerPort === port || p.name === port);
  if (spec !== undefined) {
    evidence.push({
      kind: "table",
      table: {
        title: `Container ${name}`,
        columns: ["field", "value"],
        rows: [
          ["declared ports", ports.length === 0 ? "none" : ports.join(", ")],
          ["ready", status === undefined ? "?" : String(status.ready)],
          ["restarts", status?.restartCount ?? "?"],
          ["started at", status?.state?.running?.startedAt ?? ""],
        ],
      },
    });
  }
  const probeEvents = (input.events ?? []).filter((e) =>
    (e.reason === "Unhealthy" && (type === undefined || probeTypeOf(e.message) === type)) ||
    (e.reason === "Killing" && /failed (?:liveness|startup) probe/.test(e.message))
  );
  if (probeEvents.length > 0) {
    evidence.push({ kind: "table", table: eventsTable("Probe events", probeEvents, 10) });
  }
  if (affected.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(
        `Pods of ${workload ?? "the workload"} failing the same probe`,
        affected,
      ),
    });
  }

  const fix: string[] = [];
  if (cause !== "Unknown") {
    if (!portKnown) {
      fix.push(
        `The probe checks port ${code(String(port))}, which container ${name} does not declare (${
          ports.join(", ")
        }): point the probe at the port the application listens on.`,
      );
    }
    fix.push(outcome.fix);
    if (type === "liveness") {
      fix.push(
        "A liveness probe should only fail when restarting helps: do not make it depend on databases or other services (that is what readiness is for).",
      );
    }
    if (type === "startup") {
      fix.push(
        "If the application just needs longer to start, raise `failureThreshold` × `periodSeconds` of the startup probe.",
      );
    }
  }
  return { cause, summary, evidence, fix, severity: type === "readiness" ? "medium" : "high" };
}
