/**
 * `network-check`: the network as a pod sees it, checked from inside its
 * network namespace by the debug agent: the listening sockets and
 * established connections, DNS answers for `names` with the pod's own
 * resolv.conf (cluster DNS, search list, `ndots`), and for each of `targets`
 * a TCP connect (`host:port`) or an HTTP(S) GET (a URL) with the time of each
 * phase. A refused port, a name that does not resolve, a timeout and a slow
 * answer are each named for what they are. Nothing touches the pod's
 * processes.
 *
 * Tuned by `workflows.podTroubleshooting.networkCheck` (`names`, `targets`,
 * `timeoutSeconds`, `slowSeconds`); a manual run may override them (lists
 * comma-separated), and `pid` picks whose network namespace (the pod's own
 * when absent, the same for every container).
 *
 * @module
 */

import {
  type ConnectCheck,
  defineWorkflow,
  type DnsCheck,
  type HttpCheck,
  type NetworkCheckResult,
  type ReportOptions,
  type Severity,
  type SocketEntry,
  type Table,
} from "@wfhost/sdk";
import { type PodTarget, resolveTarget } from "./_common.ts";
import { code, markdownTable, sections, title } from "./_markdown.ts";

/** At most this many entries of each list are checked (the agent's cap). */
export const MAX_ENTRIES = 20;

/** How many remote endpoints the established-connections table lists. */
const REMOTES = 15;

/**
 * Splits a comma- or space-separated list, dropping empty entries.
 *
 * @param text The param's value.
 * @returns The entries.
 */
export function entries(text: string | undefined): string[] {
  return (text ?? "").split(/[,\s]+/).map((entry) => entry.trim()).filter((entry) => entry !== "");
}

/** `targets` sorted into what the agent checks, and what it cannot. */
export interface Targets {
  readonly connect: readonly string[];
  readonly http: readonly string[];
  readonly bad: readonly string[];
}

/**
 * Sorts `targets`: URLs are GETs, `host:port` connects, anything else bad.
 *
 * @param list The entries.
 * @returns The three groups.
 */
export function sortTargets(list: readonly string[]): Targets {
  const connect: string[] = [];
  const http: string[] = [];
  const bad: string[] = [];
  for (const entry of list) {
    if (/^https?:\/\/[^\s/?#]+/.test(entry)) http.push(entry);
    else if (/^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(entry)) connect.push(entry);
    else bad.push(entry);
  }
  return { connect, http, bad };
}

function ms(value: number | null): string {
  return value === null ? "" : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

function dnsTable(checks: readonly DnsCheck[]): Table {
  return {
    title: "DNS",
    columns: ["name", "outcome", "addresses", "answered as", "server", "time"],
    rows: checks.map((c) => [
      c.name,
      c.outcome,
      c.addresses.join(", "),
      c.canonicalName === null
        ? (c.answeredName ?? "")
        : `${c.answeredName ?? ""} → ${c.canonicalName}`,
      c.server ?? "",
      ms(c.ms),
    ]),
  };
}

function connectTable(checks: readonly ConnectCheck[]): Table {
  return {
    title: "TCP connects",
    columns: ["target", "outcome", "address", "dns", "connect", "error"],
    rows: checks.map((c) => [
      c.target,
      c.outcome,
      c.address ?? "",
      ms(c.timings.dnsMs),
      ms(c.timings.connectMs),
      c.error ?? "",
    ]),
  };
}

function isSlow(check: HttpCheck, slowMs: number): boolean {
  return check.ok && (check.timings.firstByteMs ?? 0) > slowMs;
}

function httpTable(checks: readonly HttpCheck[], slowMs: number): Table {
  return {
    title: "HTTP(S) GETs",
    columns: ["url", "outcome", "dns", "connect", "tls", "first byte", "total", "note"],
    rows: checks.map((c) => [
      c.url,
      c.ok ? `${c.status} ${c.reason ?? ""}`.trim() : `${c.outcome} (${c.phase ?? "?"})`,
      ms(c.timings.dnsMs),
      ms(c.timings.connectMs),
      ms(c.timings.tlsMs),
      ms(c.timings.firstByteMs),
      ms(c.timings.totalMs),
      isSlow(c, slowMs)
        ? `slow (over ${slowMs / 1000} s to the first byte)`
        : c.error ?? (c.tls === null
          ? ""
          : `${c.tls.version ?? ""} ${c.tls.verified ? "verified" : "not verified"}`),
    ]),
  };
}

function endpoint(socket: SocketEntry, remote: boolean): string {
  const address = remote ? socket.remoteAddress ?? "?" : socket.localAddress;
  const port = remote ? socket.remotePort ?? "?" : socket.localPort;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function listeningTable(result: NetworkCheckResult): Table {
  return {
    title: "Listening sockets",
    columns: ["address", "process", "pid"],
    rows: result.listening.map((s) => [endpoint(s, false), s.process ?? "", s.pid]),
  };
}

function remotesTable(result: NetworkCheckResult): Table {
  const counts = new Map<string, number>();
  for (const socket of result.established) {
    const key = endpoint(socket, true);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const listed = result.established.length;
  const more = result.establishedTotal > listed ? ` of the first ${listed}` : "";
  return {
    title: `Established connections by peer (${result.establishedTotal} in all${more})`,
    columns: ["peer", "connections"],
    rows: [...counts].sort((a, b) => b[1] - a[1]).slice(0, REMOTES),
  };
}

/** One failed or slow check, for the title. */
function problems(result: NetworkCheckResult, slowMs: number): string[] {
  return [
    ...result.dns.filter((c) => c.outcome !== "resolved").map((c) => `${c.name} ${c.outcome}`),
    ...result.connects.filter((c) => !c.ok).map((c) => `${c.target} ${c.outcome}`),
    ...result.http.filter((c) => !c.ok).map((c) => `${c.url} ${c.outcome}`),
    ...result.http.filter((c) => isSlow(c, slowMs)).map((c) =>
      `${c.url} slow (${ms(c.timings.firstByteMs)})`
    ),
  ];
}

/**
 * The finding for one network check.
 *
 * @param target The pod.
 * @param result The agent's answer.
 * @param slowMs Milliseconds to the first byte above which an answer is slow.
 * @param bad Targets that were not checked (neither a URL nor `host:port`).
 * @returns The finding.
 */
export function networkFinding(
  target: PodTarget,
  result: NetworkCheckResult,
  slowMs: number,
  bad: readonly string[],
): ReportOptions {
  const failed = [
    ...result.dns.filter((c) => c.outcome !== "resolved"),
    ...result.connects.filter((c) => !c.ok),
    ...result.http.filter((c) => !c.ok),
  ].length;
  const slow = result.http.filter((c) => isSlow(c, slowMs)).length;
  const total = result.dns.length + result.connects.length + result.http.length;
  const listed = problems(result, slowMs);
  const severity: Severity = failed > 0 ? "medium" : slow > 0 || bad.length > 0 ? "low" : "info";
  const verdict = total === 0
    ? `${result.listening.length} listening sockets, ${result.establishedTotal} connections`
    : failed + slow === 0
    ? `all ${total} checks passed`
    : `${failed} of ${total} checks failed${slow > 0 ? `, ${slow} slow` : ""}: ${
      listed.join(", ")
    }`;
  const tables = [
    ...(result.dns.length > 0 ? [dnsTable(result.dns)] : []),
    ...(result.connects.length > 0 ? [connectTable(result.connects)] : []),
    ...(result.http.length > 0 ? [httpTable(result.http, slowMs)] : []),
    listeningTable(result),
    remotesTable(result),
  ];
  const resolver = `nameservers ${result.nameservers.map(code).join(", ") || "none"}, search ` +
    `${result.search.map(code).join(" ") || "none"}, ndots ${result.ndots} (from ${
      result.resolvConf ?? "nowhere: no readable resolv.conf"
    })`;
  return {
    title: title(`Network from ${target.pod}: ${verdict}`),
    severity,
    subject: target.subject,
    body: sections(
      `**Pod:** ${code(target.pod)}, checked from its network namespace${
        result.pid === null ? "" : ` (that of pid ${result.pid})`
      } in ${result.seconds} s.  `,
      `**DNS:** ${resolver}.`,
      bad.length === 0
        ? ""
        : `Not checked, neither a URL nor \`host:port\`: ${bad.map(code).join(", ")}.`,
      ...tables.map(markdownTable),
      Object.keys(result.otherSockets).length === 0
        ? ""
        : `Other TCP sockets: ${
          Object.entries(result.otherSockets).map(([state, count]) => `${count} ${state}`).join(
            ", ",
          )
        }.`,
    ),
    tables,
  };
}

export default defineWorkflow({
  name: "network-check",
  description: "The network from a pod's point of view: its sockets, DNS answers with its " +
    "resolv.conf, TCP connects and HTTP(S) GETs with timings.",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.networkCheck"],
  params: {
    names: {
      type: "string",
      default: "kubernetes.default",
      description: "DNS names to resolve from the pod, comma-separated.",
    },
    targets: {
      type: "string",
      default: "",
      description: "Comma-separated: host:port for a TCP connect, an http(s):// URL for a GET.",
    },
    timeoutSeconds: {
      type: "number",
      default: 5,
      minimum: 0.1,
      maximum: 60,
      description: "Seconds each check may take.",
    },
    slowSeconds: {
      type: "number",
      default: 1,
      minimum: 0,
      maximum: 60,
      description: "An HTTP answer whose first byte took longer is reported as slow.",
    },
    insecure: {
      type: "boolean",
      default: false,
      description: "Do not verify HTTPS certificates.",
    },
    pid: {
      type: "integer",
      minimum: 1,
      description: "Check from this process's network namespace; the pod's own when absent.",
    },
  },
  async run(ctx, event) {
    const target = await resolveTarget(ctx, event);
    const names = entries(ctx.params.names).slice(0, MAX_ENTRIES);
    const { connect, http, bad } = sortTargets(entries(ctx.params.targets));
    const { pid } = ctx.params;
    const result = await ctx.debug.networkCheck(target.ref, {
      names,
      connect: connect.slice(0, MAX_ENTRIES),
      http: http.slice(0, MAX_ENTRIES),
      timeoutSeconds: ctx.params.timeoutSeconds,
      insecure: ctx.params.insecure,
      ...(pid === undefined ? {} : { pid }),
    });
    await ctx.report(networkFinding(target, result, ctx.params.slowSeconds * 1000, bad));
  },
});
