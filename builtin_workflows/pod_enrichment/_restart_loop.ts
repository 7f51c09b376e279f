/**
 * The pure analyzer of `restart-loop-reporter`: why a container crash-loops,
 * from the pod, the logs of its last runs, its events, its owners and the
 * other pods of its workload that crash the same way (objects in, an
 * {@linkcode Explanation} out; no host calls).
 *
 * The exit code, signal and termination reason give the first answer
 * (`terminationCause`); the kubelet's events and the log refine it. Every
 * message the analyzer recognises is in a data table below, with the real
 * message it was taken from (the unit tests replay each one).
 *
 * @module
 */

import type { K8sEvent, KubeObject, Table, V1Container, V1Pod } from "@wfhost/sdk";
import {
  type Cause,
  containerStatesTable,
  decodeExit,
  eventsTable,
  type Evidence,
  type Explanation,
  lastTermination,
  logTail,
  terminationCause,
  workloadOf,
} from "@wfhost/sdk/explain.ts";

/** What the analyzer looks at. */
export interface RestartLoopInput {
  /** The pod, as the API server sends it. */
  readonly pod: V1Pod;
  /** The crash-looping container. */
  readonly container: string;
  /** The log of the previous (crashed) run: `kubectl logs --previous`. */
  readonly previousLog: string;
  /** The log of the current run (the same run while the container waits to restart). */
  readonly currentLog: string;
  /** The pod's recent Kubernetes events. */
  readonly events: readonly K8sEvent[];
  /** The pod's owners, nearest first (`ctx.k8s.owners`). */
  readonly owners: readonly KubeObject[];
  /** The pods of the same workload that crash the same way, this one included. */
  readonly siblings: readonly V1Pod[];
  /** How many log lines of each run to show. */
  readonly tailLines: number;
  /** What could not be read, said in the finding (e.g. a log the API refused). */
  readonly notes?: readonly string[];
}

/** The causes a log line can name. */
export type LogCause =
  | "MissingPackage"
  | "PermissionDenied"
  | "DependencyUnreachable"
  | "CommandNotFound";

/**
 * One log pattern: the cause it names, and the real message it was taken
 * from. A named group `what` captures what the message names (the module,
 * the path, the host, the command).
 */
export interface LogRule {
  /** The cause a matching line names. */
  readonly cause: LogCause;
  /** Tested on each log line (and on the runtime's termination message). */
  readonly pattern: RegExp;
  /** A real message the pattern was taken from. */
  readonly example: string;
  /** Who writes that message. */
  readonly source: string;
}

/**
 * Log lines that say why, by cause. Order matters only within one line: the
 * first rule that matches names it. Across lines the last matching line of
 * the run wins (a chained Python traceback ends with the outermost error).
 */
export const LOG_RULES: readonly LogRule[] = [
  // A package missing from the image.
  {
    cause: "MissingPackage",
    pattern: /ModuleNotFoundError: No module named '(?<what>[^']+)'/,
    example: "ModuleNotFoundError: No module named 'nosuchmodule_xyz'",
    source: "CPython 3.11, `python -c 'import nosuchmodule_xyz'`",
  },
  {
    cause: "MissingPackage",
    pattern: /ImportError: No module named (?<what>[\w.]+)/,
    example: "ImportError: No module named yaml",
    source: "CPython 2.7, `import yaml` without PyYAML",
  },
  {
    cause: "MissingPackage",
    pattern: /ImportError: cannot import name '[^']+' from '(?<what>[^']+)'/,
    example:
      "ImportError: cannot import name 'soft_unicode' from 'markupsafe' (/usr/local/lib/python3.9/site-packages/markupsafe/__init__.py)",
    source: "CPython 3.9, Jinja2 2.x with MarkupSafe 2.1 (a package of the wrong version)",
  },
  {
    cause: "MissingPackage",
    pattern: /(?<what>lib[\w+.-]*\.so(?:\.[\d.]+)?): cannot open shared object file/,
    example: "ImportError: libGL.so.1: cannot open shared object file: No such file or directory",
    source: "opencv-python on python:3.11-slim (a system library missing from the image)",
  },
  {
    cause: "MissingPackage",
    pattern: /Error(?: \[ERR_MODULE_NOT_FOUND\])?: Cannot find (?:module|package) '(?<what>[^']+)'/,
    example: "Error: Cannot find module 'express'",
    source: "Node.js 20, `require('express')` without node_modules",
  },
  {
    cause: "MissingPackage",
    pattern: /(?:NoClassDefFoundError|ClassNotFoundException):? (?<what>[\w.$/]+)/,
    example: 'Exception in thread "main" java.lang.NoClassDefFoundError: org/slf4j/LoggerFactory',
    source: "OpenJDK 17, a jar missing from the classpath",
  },
  {
    cause: "MissingPackage",
    pattern: /cannot load such file -- (?<what>\S+) \(LoadError\)/,
    example:
      "<internal:/usr/local/lib/ruby/3.2.0/rubygems/core_ext/kernel_require.rb>:85:in `require': cannot load such file -- sinatra (LoadError)",
    source: "Ruby 3.2, `require 'sinatra'` without the gem",
  },
  // A path the container may not write: a volume or securityContext problem.
  {
    cause: "PermissionDenied",
    pattern: /PermissionError: \[Errno 13\] Permission denied: '(?<what>[^']+)'/,
    example: "PermissionError: [Errno 13] Permission denied: '/proc/1/mem'",
    source: "CPython 3.11, `open('/proc/1/mem', 'w')`",
  },
  {
    cause: "PermissionDenied",
    pattern: /\[Errno 30\] Read-only file system: '(?<what>[^']+)'/,
    example: "OSError: [Errno 30] Read-only file system: '/app/cache'",
    source: "CPython 3.11 with `readOnlyRootFilesystem: true`",
  },
  {
    cause: "PermissionDenied",
    pattern: /\b(?:EACCES|EPERM|EROFS): [\w -]+, \w+ '(?<what>[^']+)'/,
    example: "Error: EACCES: permission denied, open '/var/log/app/app.log'",
    source: "Node.js 20, `fs.openSync` on a root-owned volume as a non-root user",
  },
  {
    cause: "PermissionDenied",
    pattern: /"(?<what>\/[^"]+)" failed \((?:13: Permission denied|30: Read-only file system)\)/,
    example: 'nginx: [emerg] mkdir() "/var/cache/nginx/client_temp" failed (13: Permission denied)',
    source: "nginx 1.25 run as a non-root user",
  },
  {
    cause: "PermissionDenied",
    pattern:
      /cannot (?:create|touch|create directory|open|remove) '?(?<what>\/[^':]+)'?: (?:Permission denied|Read-only file system)/,
    example: "touch: cannot touch '/app/ready': Read-only file system",
    source: "GNU coreutils `touch` with `readOnlyRootFilesystem: true`",
  },
  {
    cause: "PermissionDenied",
    pattern:
      /\b(?:open|mkdir|create|remove) (?<what>\/\S+): (?:permission denied|read-only file system)/,
    example: "open /data/app.db: permission denied",
    source: "a Go program's `os.OpenFile` error",
  },
  {
    cause: "PermissionDenied",
    pattern: /(?<what>\/[\w./-]+)'?: (?:Permission denied|Read-only file system)$/,
    example: "sh: 1: cannot create /var/run/app.pid: Permission denied",
    source: "dash redirecting into a root-owned directory",
  },
  // A dependency down: connection refused, a timeout, or DNS failure to a named host.
  {
    cause: "DependencyUnreachable",
    pattern: /HTTPS?ConnectionPool\(host='(?<what>[^']+', port=\d+)\)/,
    example:
      "requests.exceptions.ConnectionError: HTTPConnectionPool(host='payments', port=8080): Max retries exceeded with url: /charge (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3c2a1b4d90>: Failed to establish a new connection: [Errno 111] Connection refused'))",
    source: "Python requests 2.31",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /could not translate host name "(?<what>[^"]+)" to address/,
    example:
      'psycopg2.OperationalError: could not translate host name "db" to address: Name or service not known',
    source: "psycopg2 (libpq 15) when the Service name does not resolve",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /connection to server at "(?<what>[^"]+)"[^,]*, port \d+ failed/,
    example: 'connection to server at "db" (10.96.12.7), port 5432 failed: Connection refused',
    source: "libpq 15 when PostgreSQL is down",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /connect (?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH) (?<what>\S+)/,
    example: "Error: connect ECONNREFUSED 127.0.0.1:5432",
    source: "Node.js 20 `net.connect`",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (?<what>\S+)/,
    example: "Error: getaddrinfo ENOTFOUND redis",
    source: "Node.js 20 DNS lookup of a missing Service",
  },
  {
    cause: "DependencyUnreachable",
    pattern:
      /dial tcp (?<what>\S+): (?:connect: )?(?:connection refused|i\/o timeout|no route to host)/,
    example: "dial tcp 10.96.0.12:6379: connect: connection refused",
    source: "a Go client's `net.Dial`",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /dial tcp: lookup (?<what>[^\s:]+)(?: on \S+)?: no such host/,
    example: "dial tcp: lookup db on 10.96.0.10:53: no such host",
    source: "a Go client's DNS lookup of a missing Service",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /Error \d+ connecting to (?<what>[\w.-]+:\d+)\./,
    example:
      "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
    source: "redis-py 5",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /Can't connect to MySQL server on '(?<what>[^']+)'/,
    example: "ERROR 2003 (HY000): Can't connect to MySQL server on 'mysql:3306' (111)",
    source: "the MySQL 8 client",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /java\.net\.UnknownHostException: (?<what>\S+)/,
    example: "java.net.UnknownHostException: db",
    source: "OpenJDK 17 DNS lookup of a missing Service",
  },
  {
    cause: "DependencyUnreachable",
    pattern: /curl: \(\d+\) (?:Failed to connect to (?<what>\S+ port \d+)|Could not resolve host)/,
    example: "curl: (7) Failed to connect to api port 80 after 3 ms: Couldn't connect to server",
    source: "curl 8",
  },
  {
    cause: "DependencyUnreachable",
    pattern:
      /\b(?:ConnectionRefusedError: \[Errno 111\] Connection refused|java\.net\.ConnectException: Connection refused|TimeoutError: \[Errno 110\] Connection timed out)/,
    example: "ConnectionRefusedError: [Errno 111] Connection refused",
    source: "CPython 3.11, `socket.create_connection(('127.0.0.1', 1))`",
  },
  {
    cause: "DependencyUnreachable",
    pattern:
      /socket\.gaierror: \[Errno -[23]\] (?:Name or service not known|Temporary failure in name resolution)/,
    example: "socket.gaierror: [Errno -2] Name or service not known",
    source: "CPython 3.11, `socket.create_connection(('no-such-service', 80))`",
  },
  // The command does not exist, or cannot be executed.
  {
    cause: "CommandNotFound",
    pattern:
      /exec: "(?<what>[^"]+)": (?:executable file not found in \$PATH|stat [^:]+: no such file or directory)/,
    example:
      'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuch-binary-xyz": executable file not found in $PATH: unknown',
    source: "containerd 1.7 / runc: the StartError termination message",
  },
  {
    cause: "CommandNotFound",
    pattern:
      /^(?:\/bin\/|\/usr\/bin\/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?(?<what>[^:]+): (?:command )?not found$/,
    example: "sh: 1: nosuchcommand-xyz: not found",
    source: "dash (Debian's /bin/sh), `sh -c 'nosuchcommand-xyz'`",
  },
  {
    cause: "CommandNotFound",
    pattern: /^(?:\/bin\/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?(?<what>[^:]+): Permission denied$/,
    example: "sh: 1: ./run.sh: Permission denied",
    source: "dash running a script without the executable bit (exit code 126)",
  },
  {
    cause: "CommandNotFound",
    pattern: /exec (?<what>\S+): exec format error/,
    example: "exec /usr/local/bin/server: exec format error",
    source: "runc starting an image built for another CPU architecture",
  },
];

/** A kubelet event that says a probe made it restart the container. */
export interface ProbeRule {
  /** The cause. */
  readonly cause: "LivenessProbeFailed" | "StartupProbeFailed";
  /** The event reason. */
  readonly reason: "Killing" | "Unhealthy";
  /** Tested on the event message; a `container` group, when present, must name the container. */
  readonly pattern: RegExp;
  /** The real message it was taken from. */
  readonly example: string;
}

/** The kubelet's probe events (pkg/kubelet/prober and kuberuntime_manager.go). */
export const PROBE_RULES: readonly ProbeRule[] = [
  {
    cause: "LivenessProbeFailed",
    reason: "Killing",
    pattern: /^Container (?<container>\S+) failed liveness probe, will be restarted/,
    example: "Container app failed liveness probe, will be restarted",
  },
  {
    cause: "StartupProbeFailed",
    reason: "Killing",
    pattern: /^Container (?<container>\S+) failed startup probe, will be restarted/,
    example: "Container app failed startup probe, will be restarted",
  },
  {
    cause: "LivenessProbeFailed",
    reason: "Unhealthy",
    pattern: /^Liveness probe (?:failed|errored)/,
    example: "Liveness probe failed: HTTP probe failed with statuscode: 500",
  },
  {
    cause: "StartupProbeFailed",
    reason: "Unhealthy",
    pattern: /^Startup probe (?:failed|errored)/,
    example:
      'Startup probe failed: Get "http://10.244.0.7:8080/healthz": dial tcp 10.244.0.7:8080: connect: connection refused',
  },
];

/** What a log line names: its cause, the line and what it names. */
export interface LogMatch {
  readonly cause: LogCause;
  readonly line: string;
  readonly what?: string;
}

/**
 * The last line of `text` a rule of {@linkcode LOG_RULES} matches.
 *
 * @param text A log, or a termination message.
 * @param causes Only rules of these causes; all when absent.
 * @returns The match, or `undefined`.
 */
export function classifyLog(text: string, causes?: readonly LogCause[]): LogMatch | undefined {
  const lines = text.split("\n").map((line) => line.trimEnd());
  for (let index = lines.length - 1; index >= 0; index--) {
    const line = lines[index] ?? "";
    if (line.trim() === "") continue;
    for (const rule of LOG_RULES) {
      if (causes !== undefined && !causes.includes(rule.cause)) continue;
      const match = rule.pattern.exec(line.trim());
      if (match === null) continue;
      const what = match.groups?.["what"]?.replace(/', port=/, ":");
      return what === undefined
        ? { cause: rule.cause, line: line.trim() }
        : { cause: rule.cause, line: line.trim(), what };
    }
  }
  return undefined;
}

// Lines of a stack trace: never the line that says why.
const FRAME =
  /^\s*(?:at |File "|\.\.\. \d+ more|goroutine \d+|Traceback \(most recent call last\)|\^+$|~+$)/;
// How strongly a line says why the process stopped, strongest first.
const WHY_RULES: readonly {
  readonly rank: number;
  readonly pattern: RegExp;
  readonly example: string;
}[] = [
  {
    rank: 3,
    pattern: /^(?:panic: |fatal error: |thread '.*' panicked at )/,
    example: "panic: runtime error: invalid memory address or nil pointer dereference",
  },
  {
    rank: 3,
    pattern: /^(?:Exception in thread |Caused by: |Uncaught )/,
    example: 'Exception in thread "main" java.lang.IllegalStateException: no config',
  },
  {
    rank: 3,
    pattern: /^(?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Failure|Fault)(?::|$)/,
    example: "KeyError: 'DATABASE_URL'",
  },
  {
    rank: 3,
    pattern:
      /\b(?:FATAL|Fatal|fatal|CRITICAL|PANIC)\b|\[emerg\]|"level"\s*:\s*"(?:fatal|critical|panic)"|level=(?:fatal|panic)/,
    example: "FATAL: config /etc/shop/app.yaml not found",
  },
  {
    rank: 2,
    pattern: /\b(?:ERROR|Error|error)\b|"level"\s*:\s*"error"|level=error|\[error\]/,
    example: 'time="2024-05-01T10:00:03Z" level=error msg="cannot load config"',
  },
];

/**
 * The line of a log that most likely says why the run ended: the last
 * exception or fatal line, else the last error line, else the last line.
 *
 * @param text The log.
 * @returns The line and whether a rule chose it (`false`: just the last line).
 */
export function whyLine(
  text: string,
): { readonly line: string; readonly ranked: boolean } | undefined {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  let best: { line: string; rank: number } | undefined;
  for (const line of lines) {
    if (FRAME.test(line)) continue;
    const rank = WHY_RULES.find((rule) => rule.pattern.test(line))?.rank ?? 0;
    if (rank > 0 && rank >= (best?.rank ?? 0)) best = { line, rank };
  }
  if (best !== undefined) return { line: best.line, ranked: true };
  const last = lines.at(-1);
  return last === undefined ? undefined : { line: last, ranked: false };
}

/** The rules `whyLine` ranks lines by, with the real lines they were taken from. */
export const WHY_LINE_RULES = WHY_RULES;

// A `host:port` or a Python `('host', port)` address, for naming the host a refusal is about.
const ENDPOINT = [
  /\(\s*['"](?<host>[\w.-]+)['"]\s*,\s*(?<port>\d{1,5})\s*\)/,
  /(?<![\/\w.-])(?<host>\d{1,3}(?:\.\d{1,3}){3}|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*):(?<port>\d{1,5})(?![:\d])/i,
];

function namedEndpoint(text: string): string | undefined {
  const lines = text.split("\n").reverse();
  for (const pattern of ENDPOINT) {
    for (const line of lines) {
      const match = pattern.exec(line);
      if (match?.groups?.["host"] !== undefined) {
        return `${match.groups["host"]}:${match.groups["port"] ?? ""}`;
      }
    }
  }
  return undefined;
}

function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${longest > 0 ? " " : ""}${text}${longest > 0 ? " " : ""}${ticks}`;
}

function seconds(from: string | undefined, to: string | undefined): string {
  if (from === undefined || to === undefined) return "";
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return "";
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function probeDefinition(spec: V1Container | undefined, which: "liveness" | "startup"): string {
  const probe = which === "liveness" ? spec?.livenessProbe : spec?.startupProbe;
  if (probe === undefined) return `the container declares no ${which} probe`;
  const how = probe.httpGet !== undefined
    ? `HTTP GET ${probe.httpGet.path ?? "/"} on port ${probe.httpGet.port}`
    : probe.tcpSocket !== undefined
    ? `TCP connect to port ${probe.tcpSocket.port}`
    : probe.exec !== undefined
    ? `exec ${(probe.exec.command ?? []).join(" ")}`
    : probe.grpc !== undefined
    ? `gRPC health check on port ${probe.grpc.port}`
    : "a probe";
  return `${how}, initialDelaySeconds ${probe.initialDelaySeconds ?? 0}, periodSeconds ${
    probe.periodSeconds ?? 10
  }, timeoutSeconds ${probe.timeoutSeconds ?? 1}, failureThreshold ${probe.failureThreshold ?? 3}`;
}

/** The probe event that explains the restarts, if any. */
function probeCause(
  events: readonly K8sEvent[],
  container: string,
  spec: V1Container | undefined,
  single: boolean,
):
  | {
    cause: "LivenessProbeFailed" | "StartupProbeFailed";
    unhealthy?: K8sEvent;
    killing?: K8sEvent;
  }
  | undefined {
  let killing: { cause: "LivenessProbeFailed" | "StartupProbeFailed"; event: K8sEvent } | undefined;
  const unhealthy = new Map<string, K8sEvent>();
  for (const event of events) {
    for (const rule of PROBE_RULES) {
      if (event.reason !== rule.reason) continue;
      const match = rule.pattern.exec(event.message);
      if (match === null) continue;
      if (rule.reason === "Killing") {
        if (match.groups?.["container"] === container) killing = { cause: rule.cause, event };
      } else unhealthy.set(rule.cause, event);
    }
  }
  if (killing !== undefined) {
    const paired = unhealthy.get(killing.cause);
    return paired === undefined
      ? { cause: killing.cause, killing: killing.event }
      : { cause: killing.cause, killing: killing.event, unhealthy: paired };
  }
  // An Unhealthy event does not name its container: it is this one's when the pod has one
  // container, or this one declares that probe.
  for (const cause of ["LivenessProbeFailed", "StartupProbeFailed"] as const) {
    const event = unhealthy.get(cause);
    const declared = cause === "LivenessProbeFailed" ? spec?.livenessProbe : spec?.startupProbe;
    if (event !== undefined && (single || declared !== undefined)) {
      return { cause, unhealthy: event };
    }
  }
  return undefined;
}

const FIXES: Readonly<Partial<Record<Cause, readonly string[]>>> = {
  OOMKilled: [
    "Raise the container's `resources.limits.memory` above its peak use, or make it use less (the OOM explainer's finding compares the limit with the node).",
  ],
  LivenessProbeFailed: [
    "Check the liveness probe's path and port against what the application serves.",
    "Give it time: raise `initialDelaySeconds`, `timeoutSeconds` or `failureThreshold`, or add a `startupProbe` for a slow start.",
    "A liveness probe should not depend on other services: a dependency down restarts every replica.",
  ],
  StartupProbeFailed: [
    "The application does not start within `failureThreshold × periodSeconds` of the startup probe: raise them, or find what makes the start slow.",
  ],
  CommandNotFound: [
    "Check the pod's `command` and `args` against the image: the executable must exist on its `PATH` (or at the absolute path given) and be executable.",
    "For a script: check its shebang line and its executable bit (`chmod +x`); for `exec format error`, build the image for the node's CPU architecture.",
  ],
  Segfault: [
    "A native crash: check the native libraries and extensions in the image (versions, CPU architecture, a mismatched libc).",
    "Get a stack: set `PYTHONFAULTHANDLER=1` for Python, or enable core dumps.",
  ],
  ExitedZero: [
    "The main process finishes instead of serving: run it in the foreground (no daemonizing, no trailing `&`), and make sure it does not exit when its work is done.",
    "If it is meant to run once, make it a Job (or use `restartPolicy: OnFailure`) rather than a Deployment.",
  ],
  Terminated: [
    "Something stops the process: check `preStop` hooks, a supervisor or script inside the container, and whether the process handles SIGTERM by exiting.",
  ],
  MissingPackage: [
    "Add the package to the image (requirements.txt, package.json, the Dockerfile's install step) and rebuild.",
    "Check that the image tag deployed is the one built with it, and that the code runs with the interpreter and working directory the packages were installed for.",
  ],
  PermissionDenied: [
    "Write only to a mounted volume (an `emptyDir` for scratch files) when `readOnlyRootFilesystem` is true.",
    "Make the path writable by the container's user: `securityContext.fsGroup` for volumes, or `runAsUser` matching the files' owner; do not run as root to fix it.",
  ],
  DependencyUnreachable: [
    "Check that the dependency is up and its Service has endpoints (`kubectl get endpoints <service>`), and that the host and port in the configuration are right.",
    "Make the application retry with a back-off instead of exiting, so it survives the dependency restarting.",
  ],
  ApplicationError: [
    "Read the line above and the previous run's log (`kubectl logs <pod> -c <container> --previous`): fix the configuration, environment or code it names.",
  ],
};

function timeline(input: RestartLoopInput): Table {
  const status = [
    ...(input.pod.status?.containerStatuses ?? []),
    ...(input.pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === input.container);
  const restarts = status?.restartCount ?? 0;
  const rows: (string | number)[][] = [];
  const state = status?.state;
  if (state?.running !== undefined) {
    rows.push([
      `#${restarts + 1} (current)`,
      "running",
      state.running.startedAt ?? "",
      "",
      "",
      "",
      "",
    ]);
  } else if (state?.waiting !== undefined) {
    rows.push([
      `#${restarts + 1} (next)`,
      `waiting: ${state.waiting.reason ?? ""}`,
      "",
      "",
      "",
      "",
      state.waiting.message ?? "",
    ]);
  } else if (state?.terminated !== undefined) {
    const t = state.terminated;
    rows.push([
      `#${restarts + 1} (current)`,
      "terminated",
      t.startedAt ?? "",
      t.finishedAt ?? "",
      seconds(t.startedAt, t.finishedAt),
      t.exitCode,
      t.reason ?? "",
    ]);
  }
  const last = status?.lastState?.terminated;
  if (last !== undefined) {
    rows.push([
      `#${restarts} (previous)`,
      "terminated",
      last.startedAt ?? "",
      last.finishedAt ?? "",
      seconds(last.startedAt, last.finishedAt),
      last.exitCode,
      last.reason ?? "",
    ]);
  }
  const backOff = input.events.find((event) => event.reason === "BackOff");
  if (backOff !== undefined) {
    rows.push([
      "back-offs",
      `${backOff.count} times`,
      backOff.firstTimestamp ?? "",
      backOff.lastTimestamp ?? "",
      seconds(backOff.firstTimestamp ?? undefined, backOff.lastTimestamp ?? undefined),
      "",
      "BackOff",
    ]);
  }
  rows.push([
    "pod",
    "started",
    input.pod.status?.startTime ?? "",
    "",
    "",
    "",
    `${restarts} restarts`,
  ]);
  return {
    title: `Restart timeline of container ${input.container}`,
    columns: ["run", "state", "started", "finished", "ran for", "exit code", "reason / message"],
    rows,
  };
}

/**
 * Why the container crash-loops.
 *
 * @param input The pod, its logs, events, owners and siblings.
 * @returns The explanation: its cause, a first line saying what happened,
 *   the evidence and the fix.
 */
export function analyzeRestartLoop(input: RestartLoopInput): Explanation {
  const { pod, container } = input;
  const namespace = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "?";
  const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) =>
    c.name === container
  );
  const workload = workloadOf(pod, input.owners);
  const found = lastTermination(pod, container);
  const record = found?.record;
  const previous = input.previousLog.replace(/\n+$/, "");
  const current = input.currentLog.replace(/\n+$/, "");
  const logs = previous !== "" ? previous : current;
  const evidence: Evidence[] = [];
  let cause: Cause;
  let headline: string;
  let quote: { title: string; line: string } | undefined;

  const base: Cause = record === undefined ? "Unknown" : terminationCause(record);
  const exit = record === undefined ? undefined : decodeExit(record.exitCode, record.signal);
  const probe = base === "OOMKilled"
    ? undefined
    : probeCause(input.events, container, spec, (pod.spec?.containers ?? []).length === 1);
  const limit = spec?.resources?.limits?.["memory"];

  if (record === undefined) {
    // No termination recorded (a status lost, or replayed): the log may still say why.
    const named = classifyLog(logs);
    cause = named?.cause ?? "Unknown";
    if (named !== undefined) quote = { title: "The log line that says why", line: named.line };
    headline = named === undefined
      ? "cause not recognised: the kubelet reported no termination of the container"
      : `no termination is recorded, but its log says: ${named.line}`;
  } else if (base === "OOMKilled") {
    cause = "OOMKilled";
    headline = limit === undefined
      ? `it was OOM-killed (exit code ${record.exitCode}); it has no memory limit, so the node's memory ran out`
      : `it was OOM-killed (exit code ${record.exitCode}) at its memory limit of ${limit}`;
  } else if (probe !== undefined) {
    cause = probe.cause;
    const which = probe.cause === "LivenessProbeFailed" ? "liveness" : "startup";
    const said = probe.unhealthy?.message ?? probe.killing?.message ?? "";
    headline = `its ${which} probe fails and the kubelet restarts it: ${said}`;
    evidence.push({
      kind: "text",
      title: `The ${which} probe`,
      text: probeDefinition(spec, which),
    });
  } else if (base === "CommandNotFound") {
    cause = "CommandNotFound";
    const named = classifyLog(`${record.message ?? ""}\n${logs}`, ["CommandNotFound"]);
    const command = named?.what ?? spec?.command?.[0];
    const what = command === undefined ? "its command" : `its command ${code(command)}`;
    headline =
      record.exitCode === 126 || /Permission denied|exec format error/.test(named?.line ?? "")
        ? `${what} cannot be executed (exit code ${record.exitCode})`
        : record.reason === "StartError" || record.reason === "ContainerCannotRun"
        ? `${what} does not exist in the image: the runtime cannot start it (${record.reason})`
        : `${what} does not exist in the image (exit code ${record.exitCode}: command not found)`;
    if (named !== undefined) quote = { title: "What the shell or runtime said", line: named.line };
  } else if (base === "Segfault") {
    cause = "Segfault";
    headline = `it crashes with a segmentation fault (exit code ${record.exitCode}, SIGSEGV)`;
  } else if (base === "ExitedZero") {
    const policy = pod.spec?.restartPolicy ?? "Always";
    cause = policy === "Always" ? "ExitedZero" : "Unknown";
    headline = policy === "Always"
      ? "its main process exits with code 0, but `restartPolicy: Always` expects a long-running service"
      : `cause not recognised: it exits with code 0 under restartPolicy ${policy}`;
  } else if (base === "Terminated") {
    cause = "Terminated";
    headline = record.exitCode === 137 || record.signal === 9
      ? `it is killed by SIGKILL (exit code ${record.exitCode}), not by the OOM killer: something stops it from outside`
      : `it is stopped by SIGTERM (exit code ${record.exitCode}): something asks the service to stop`;
  } else {
    const named = classifyLog(logs) ?? classifyLog(record.message ?? "");
    const ownCode = record.exitCode > 0 && record.exitCode < 126;
    if (named !== undefined && named.cause !== "CommandNotFound") {
      cause = named.cause;
      quote = { title: "The log line that says why", line: named.line };
      const what = named.what ??
        (named.cause === "DependencyUnreachable" ? namedEndpoint(logs) : undefined);
      headline = named.cause === "MissingPackage"
        ? `${
          what === undefined ? "a package" : code(what)
        } is missing from the image: ${named.line}`
        : named.cause === "PermissionDenied"
        ? `it may not write ${
          what === undefined ? "a path" : code(what)
        } (a volume or securityContext problem): ${named.line}`
        : `it cannot reach ${what === undefined ? "a dependency" : code(what)}: ${named.line}`;
    } else if (named !== undefined) {
      cause = "CommandNotFound";
      quote = { title: "What the shell or runtime said", line: named.line };
      headline = `${
        named.what === undefined ? "its command" : code(named.what)
      } cannot be run: ${named.line}`;
    } else {
      const why = whyLine(logs);
      if (why !== undefined && (why.ranked || ownCode)) {
        cause = "ApplicationError";
        quote = {
          title: why.ranked ? "The log line that says why" : "The last line the run wrote",
          line: why.line,
        };
        headline = `the application exits with code ${record.exitCode}: ${why.line}`;
      } else if (ownCode) {
        cause = "ApplicationError";
        headline =
          `the application exits with code ${record.exitCode} and its last run wrote no log`;
      } else {
        cause = "Unknown";
        headline = `cause not recognised: it ends with exit code ${record.exitCode} (${
          exit?.meaning ?? ""
        }${record.reason ? `, reason ${record.reason}` : ""})`;
      }
    }
  }

  const siblings = input.siblings.length > 0 ? input.siblings : [pod];
  const many = siblings.length > 1;
  const who = many
    ? `${siblings.length} pods of ${workload} (container ${container}) are crash-looping`
    : `${namespace}/${name} (container ${container}) is crash-looping`;
  const summary = `${who}: ${headline}`;

  if (record !== undefined && exit !== undefined) {
    const parts = [
      `exit code ${record.exitCode}${exit.signal ? ` (${exit.signal})` : ""}: ${exit.meaning}`,
      `reason ${record.reason ?? "none"}`,
    ];
    if (record.finishedAt) parts.push(`finished ${record.finishedAt}`);
    const ran = seconds(record.startedAt, record.finishedAt);
    if (ran !== "") parts.push(`after running ${ran}`);
    if (record.message) parts.push(`message: ${record.message}`);
    evidence.unshift({ kind: "text", title: "Last termination", text: parts.join("; ") });
  }
  if (quote !== undefined) {
    evidence.push({ kind: "text", title: quote.title, text: code(quote.line) });
  }
  evidence.push({ kind: "table", table: timeline(input) });
  const tail = input.tailLines;
  const waiting = lastTermination(pod, container)?.status.state?.waiting !== undefined;
  if (previous !== "") {
    evidence.push({
      kind: "log",
      title: current === previous && waiting
        ? `Previous run, last ${tail} lines (the current log too: the container waits to restart)`
        : `Previous run, last ${tail} lines`,
      text: logTail(previous, tail),
    });
  } else {
    evidence.push({
      kind: "text",
      title: "Previous run",
      text: "it wrote no log (or the log is gone)",
    });
  }
  if (current !== "" && current !== previous) {
    evidence.push({
      kind: "log",
      title: `Current run, last ${tail} lines`,
      text: logTail(current, tail),
    });
  }
  if (input.events.length > 0) {
    evidence.push({
      kind: "table",
      table: eventsTable(`Recent events of ${name}`, input.events, 15),
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
  if (input.owners.length > 0 || many) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(
        `Crash-looping pods of ${workload} (${siblings.length})`,
        siblings,
      ),
    });
  }
  for (const note of input.notes ?? []) {
    evidence.push({ kind: "text", title: "Not read", text: note });
  }

  const severity = cause === "ExitedZero" || cause === "Terminated" ? "medium" : "high";
  return { cause, summary, evidence, fix: FIXES[cause] ?? [], severity };
}
