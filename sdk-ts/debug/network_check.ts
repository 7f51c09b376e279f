/**
 * `ctx.debug.networkCheck`: the network as the pod sees it: its sockets, DNS
 * answers with its own resolv.conf, TCP connects and HTTP(S) GETs with
 * timings, all from inside its network namespace.
 *
 * @module
 */

import type { CallOptions } from "../k8s.ts";

/**
 * Options of `ctx.debug.networkCheck`. Every check has its own timeout; the
 * agent runs up to 8 at a time.
 *
 * @example
 * ```ts
 * import type { NetworkCheckOptions } from "./network_check.ts";
 *
 * const options: NetworkCheckOptions = {
 *   names: ["db.shop.svc.cluster.local", "api.example.com"],
 *   connect: ["db:5432"],
 *   http: ["https://api.example.com/health"],
 *   timeoutSeconds: 3,
 * };
 * ```
 */
export interface NetworkCheckOptions extends CallOptions {
  /** Whose network namespace and resolv.conf; the pod's own when absent. */
  readonly pid?: number;
  /** DNS names (or addresses) to resolve, at most 20. */
  readonly names?: readonly string[];
  /** `host:port` targets to connect to, at most 20. */
  readonly connect?: readonly string[];
  /** `http://` or `https://` URLs to GET, at most 20. */
  readonly http?: readonly string[];
  /** Seconds each check may take, 0.1 to 60 (5 when absent). */
  readonly timeoutSeconds?: number;
  /** DNS servers (`ip` or `ip:port`) to ask instead of the pod's, at most 3. */
  readonly nameservers?: readonly string[];
  /** Do not verify HTTPS certificates. */
  readonly insecure?: boolean;
  /** List the namespace's sockets (`true` when absent). */
  readonly sockets?: boolean;
}

/**
 * One TCP socket of the pod's network namespace.
 *
 * @example
 * ```ts
 * import type { SocketEntry } from "./network_check.ts";
 *
 * const listener: SocketEntry = {
 *   family: "ipv4",
 *   localAddress: "0.0.0.0",
 *   localPort: 8080,
 *   remoteAddress: null,
 *   remotePort: null,
 *   state: "LISTEN",
 *   pid: 1,
 *   process: "server",
 *   sendQueue: 0,
 *   receiveQueue: 0,
 * };
 * ```
 */
export interface SocketEntry {
  /** `ipv4` or `ipv6`. */
  readonly family: "ipv4" | "ipv6";
  /** The local address. */
  readonly localAddress: string;
  /** The local port. */
  readonly localPort: number;
  /** The peer's address (`null` for a listener). */
  readonly remoteAddress: string | null;
  /** The peer's port (`null` for a listener). */
  readonly remotePort: number | null;
  /** The TCP state: `LISTEN`, `ESTABLISHED`... */
  readonly state: string;
  /** The process holding it, when the agent can see it. */
  readonly pid: number | null;
  /** That process's name. */
  readonly process: string | null;
  /** Bytes waiting to be sent. */
  readonly sendQueue: number;
  /** Bytes waiting to be read. */
  readonly receiveQueue: number;
}

/**
 * How long each phase of a check took, in milliseconds (`null`: not reached).
 *
 * @example
 * ```ts
 * import type { PhaseTimings } from "./network_check.ts";
 *
 * const timings: PhaseTimings = {
 *   dnsMs: 1.2,
 *   connectMs: 0.4,
 *   tlsMs: 12.5,
 *   firstByteMs: 230,
 *   totalMs: 245,
 * };
 * ```
 */
export interface PhaseTimings {
  /** Resolving the host name. */
  readonly dnsMs: number | null;
  /** The TCP handshake. */
  readonly connectMs: number | null;
  /** The TLS handshake. */
  readonly tlsMs: number | null;
  /** From the request written to the first byte of the answer. */
  readonly firstByteMs: number | null;
  /** The whole check. */
  readonly totalMs: number | null;
}

/**
 * What resolving one name gave.
 *
 * @example
 * ```ts
 * import type { DnsCheck } from "./network_check.ts";
 *
 * const missing: DnsCheck = {
 *   name: "db.invalid",
 *   outcome: "nxdomain",
 *   addresses: [],
 *   canonicalName: null,
 *   answeredName: null,
 *   server: null,
 *   tried: ["db.invalid: NXDOMAIN"],
 *   error: "db.invalid does not exist (NXDOMAIN for db.invalid)",
 *   ms: 1.4,
 * };
 * ```
 */
export interface DnsCheck {
  /** The name as given. */
  readonly name: string;
  /** `resolved`, or why not. */
  readonly outcome:
    | "resolved"
    | "nxdomain"
    | "no_records"
    | "servfail"
    | "refused"
    | "timeout"
    | "error";
  /** The A and AAAA addresses. */
  readonly addresses: readonly string[];
  /** The last CNAME target, when the answer had one. */
  readonly canonicalName: string | null;
  /** The fully qualified name that answered, after the search list. */
  readonly answeredName: string | null;
  /** The server that answered (or `/etc/hosts`). */
  readonly server: string | null;
  /** `name: rcode` for every name asked, in order. */
  readonly tried: readonly string[];
  /** Why it did not resolve. */
  readonly error: string | null;
  /** Milliseconds it took. */
  readonly ms: number;
}

/**
 * A TCP connect.
 *
 * @example
 * ```ts
 * import type { ConnectCheck } from "./network_check.ts";
 *
 * function refused(check: ConnectCheck): boolean {
 *   return check.outcome === "refused";
 * }
 * ```
 */
export interface ConnectCheck {
  /** `host:port` as given. */
  readonly target: string;
  /** Whether it connected. */
  readonly ok: boolean;
  /** `connected`, or why not. */
  readonly outcome: "connected" | "refused" | "timeout" | "reset" | "unreachable" | "dns" | "error";
  /** The address connected to. */
  readonly address: string | null;
  /** Why it failed. */
  readonly error: string | null;
  /** How long each phase took. */
  readonly timings: PhaseTimings;
}

/**
 * The TLS side of an HTTPS check.
 *
 * @example
 * ```ts
 * import type { TlsSummary } from "./network_check.ts";
 *
 * const tls: TlsSummary = {
 *   version: "TLSv1.3",
 *   cipher: "TLS_AES_256_GCM_SHA384",
 *   verified: true,
 *   subject: "commonName=api.example.com",
 *   issuer: "commonName=Example CA",
 *   notAfter: "Jun  1 12:00:00 2027 GMT",
 * };
 * ```
 */
export interface TlsSummary {
  /** The protocol version. */
  readonly version: string | null;
  /** The cipher suite. */
  readonly cipher: string | null;
  /** Whether the certificate was verified (not with `insecure`). */
  readonly verified: boolean;
  /** The certificate's subject, when verified. */
  readonly subject: string | null;
  /** Its issuer. */
  readonly issuer: string | null;
  /** When it expires. */
  readonly notAfter: string | null;
}

/**
 * An HTTP(S) GET.
 *
 * @example
 * ```ts
 * import type { HttpCheck } from "./network_check.ts";
 *
 * function slow(check: HttpCheck, ms: number): boolean {
 *   return (check.timings.firstByteMs ?? 0) > ms || check.outcome === "timeout";
 * }
 * ```
 */
export interface HttpCheck {
  /** The URL as given. */
  readonly url: string;
  /** An HTTP answer came back (any status) before the timeout. */
  readonly ok: boolean;
  /** `answered`, or why not. */
  readonly outcome:
    | "answered"
    | "refused"
    | "timeout"
    | "reset"
    | "unreachable"
    | "dns"
    | "tls"
    | "tls_verify"
    | "protocol"
    | "error";
  /** Where it failed: `dns`, `connect`, `tls`, `request`, `firstByte` or `body`. */
  readonly phase: string | null;
  /** The HTTP status. */
  readonly status: number | null;
  /** The status's reason phrase. */
  readonly reason: string | null;
  /** `address:port` connected to. */
  readonly address: string | null;
  /** `content-type`, `content-length`, `server` and `location`, when sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of body read (at most 1 MiB). */
  readonly bodyBytes: number | null;
  /** The first 200 characters of a text answer. */
  readonly bodyPreview: string | null;
  /** The TLS side, for HTTPS. */
  readonly tls: TlsSummary | null;
  /** Why it failed. */
  readonly error: string | null;
  /** How long each phase took. */
  readonly timings: PhaseTimings;
}

/**
 * The result of `ctx.debug.networkCheck`.
 *
 * @example
 * ```ts
 * import type { NetworkCheckResult } from "./network_check.ts";
 *
 * function failures(result: NetworkCheckResult): number {
 *   return result.dns.filter((c) => c.outcome !== "resolved").length +
 *     result.connects.filter((c) => !c.ok).length + result.http.filter((c) => !c.ok).length;
 * }
 * ```
 */
export type NetworkCheckResult = {
  /** Whose network namespace: the process asked for; `null` for the pod's own. */
  readonly pid: number | null;
  /** The agent's sockets were already in that namespace (as in a pod). */
  readonly netnsShared: boolean;
  /** Where the nameservers and search list came from. */
  readonly resolvConf: string | null;
  /** The DNS servers asked. */
  readonly nameservers: readonly string[];
  /** The search list. */
  readonly search: readonly string[];
  /** The `ndots` option. */
  readonly ndots: number;
  /** Listening TCP sockets. */
  readonly listening: readonly SocketEntry[];
  /** Established connections (at most 200). */
  readonly established: readonly SocketEntry[];
  /** All established connections, listed or not. */
  readonly establishedTotal: number;
  /** Counts of the other TCP states (`TIME_WAIT`, `CLOSE_WAIT`...). */
  readonly otherSockets: Readonly<Record<string, number>>;
  /** One per name. */
  readonly dns: readonly DnsCheck[];
  /** One per `connect` target. */
  readonly connects: readonly ConnectCheck[];
  /** One per URL. */
  readonly http: readonly HttpCheck[];
  /** Seconds the checks took together. */
  readonly seconds: number;
};
