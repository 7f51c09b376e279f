/**
 * The wire shapes of guest → host requests: each method's params (without
 * the `invocationId` every request carries) and its result. The `ctx` methods
 * build these; `testing.ts` lets tests answer them.
 *
 * @module
 */

import type {
  GoProfileResult,
  JavaHeapHistogramResult,
  JavaProfileResult,
  JavaThreadDumpResult,
  NetworkCheckResult,
  NodeProfileResult,
  ProcessListResult,
  PythonDebuggerResult,
  PythonInspectResult,
  PythonMemoryResult,
  PythonProfileResult,
  PythonStackTraceResult,
} from "./debug/mod.ts";
import type { K8sEvent, Pod } from "./event.ts";
import type { KubeObject } from "./k8s_types.ts";
import type { ReportResult, Severity } from "./finding.ts";
import type { Capability } from "./capability.ts";
import type { ParamSpecs } from "./params.ts";
import type { KindKey, Trigger } from "./trigger.ts";

/**
 * A pod as sent on the wire: namespace and name only.
 *
 * @example
 * ```ts
 * import type { WirePodRef } from "./protocol.ts";
 *
 * const pod: WirePodRef = { namespace: "shop", name: "web-1" };
 * ```
 */
export interface WirePodRef {
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name. */
  readonly name: string;
}

/**
 * An object of any kind as sent on the wire: its kind and where it is.
 *
 * @example
 * ```ts
 * import type { WireObjectRef } from "./protocol.ts";
 *
 * const ref: WireObjectRef = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" };
 * ```
 */
export interface WireObjectRef {
  /** The object's `apiVersion`, e.g. `apps/v1`. */
  readonly apiVersion: string;
  /** The object's `kind`, e.g. `Deployment`. */
  readonly kind: string;
  /** The object's namespace; absent for cluster-scoped kinds. */
  readonly namespace?: string;
  /** The object's name. */
  readonly name: string;
}

/**
 * A debug target as sent on the wire.
 *
 * @example
 * ```ts
 * import type { WireTarget } from "./protocol.ts";
 *
 * const target: WireTarget = { namespace: "shop", name: "web-1", container: "app" };
 * ```
 */
export interface WireTarget extends WirePodRef {
  /** The container, when one was named. */
  readonly container?: string;
}

/**
 * The params of `findings.report` as sent on the wire.
 *
 * @example
 * ```ts
 * import type { ReportParams } from "./protocol.ts";
 *
 * const params: ReportParams = { title: "web-1 is crash-looping", severity: "high" };
 * ```
 */
export interface ReportParams {
  /** A one-line summary. */
  readonly title: string;
  /** Details, as Markdown. */
  readonly body?: string;
  /** How bad it is. */
  readonly severity?: Severity;
  /** What it is about. */
  readonly subject?: { readonly namespace: string; readonly name: string; readonly kind?: string };
  /** Tables, every cell a string. */
  readonly tables?: readonly {
    readonly title?: string;
    readonly columns: readonly string[];
    readonly rows: readonly (readonly string[])[];
  }[];
  /** Artifact references or inline text attachments. */
  readonly attachments?: readonly (
    | { readonly artifactId: string }
    | { readonly name: string; readonly mediaType: string; readonly text: string }
  )[];
  /** Machine-readable labels (`cause`, `namespace`, `workload`, ...). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Publish once per key and dedupe window. */
  readonly dedupeKey?: string;
}

/**
 * Every guest → host request method with its params and result.
 *
 * @example
 * ```ts
 * import type { HostMethods } from "./protocol.ts";
 *
 * type LogsResult = HostMethods["k8s.podLogs"]["result"];
 * const result: LogsResult = { text: "started\n" };
 * ```
 */
export interface HostMethods {
  /** Read one pod. */
  "k8s.getPod": { params: { readonly pod: WirePodRef }; result: Pod };
  /** List a namespace's pods. */
  "k8s.listPods": {
    params: { readonly namespace: string; readonly labelSelector?: string };
    result: { readonly items: readonly Pod[] };
  };
  /** Read a container's logs. */
  "k8s.podLogs": {
    params: {
      readonly pod: WirePodRef;
      readonly container?: string;
      readonly previous?: boolean;
      readonly tailLines?: number;
      readonly limitBytes?: number;
    };
    result: { readonly text: string };
  };
  /** List the Kubernetes events about an object. */
  "k8s.events": {
    params: {
      readonly subject: {
        readonly namespace: string;
        readonly name: string;
        readonly kind?: string;
      };
    };
    result: { readonly items: readonly K8sEvent[] };
  };
  /** Read one object of any kind the workflow may read. */
  "k8s.get": { params: WireObjectRef; result: KubeObject };
  /** List objects of any kind the workflow may read. */
  "k8s.list": {
    params: {
      readonly apiVersion: string;
      readonly kind: string;
      readonly namespace?: string;
      readonly labelSelector?: string;
      readonly fieldSelector?: string;
      readonly limit?: number;
    };
    result: { readonly items: readonly KubeObject[]; readonly truncated: boolean };
  };
  /** Walk an object's controller owner references, nearest first. */
  "k8s.owners": {
    params: { readonly object: WireObjectRef };
    result: { readonly items: readonly KubeObject[] };
  };
  /** Report a finding. */
  "findings.report": { params: ReportParams; result: ReportResult };
  /** List the target container's processes. */
  "debug.processList": { params: { readonly target: WireTarget }; result: ProcessListResult };
  /** Profile a Python process. */
  "debug.pythonProfile": {
    params: {
      readonly target: WireTarget;
      readonly pid: number;
      readonly duration: number;
      readonly rate?: number;
      readonly idle?: boolean;
      readonly subprocesses?: boolean;
      readonly native?: boolean;
    };
    result: PythonProfileResult;
  };
  /** Dump a Python process's stacks. */
  "debug.pythonStackTrace": {
    params: {
      readonly target: WireTarget;
      readonly pid: number;
      readonly count?: number;
      readonly interval?: number;
      readonly locals?: boolean;
    };
    result: PythonStackTraceResult;
  };
  /** Trace a Python process's allocations. */
  "debug.pythonMemory": {
    params: { readonly target: WireTarget; readonly pid: number; readonly duration: number };
    result: PythonMemoryResult;
  };
  /** Inspect a Python process. */
  "debug.pythonInspect": {
    params: { readonly target: WireTarget; readonly pid: number };
    result: PythonInspectResult;
  };
  /** Make a Python process listen for a debugger. */
  "debug.pythonDebugger": {
    params: { readonly target: WireTarget; readonly pid: number; readonly port: number };
    result: PythonDebuggerResult;
  };
  /** Profile a Go process and dump its goroutines (through its net/http/pprof). */
  "debug.goProfile": {
    params: {
      readonly target: WireTarget;
      readonly pid: number;
      readonly duration?: number;
      readonly port?: number;
    };
    result: GoProfileResult;
  };
  /** Profile a Node.js process (through its inspector, opened and closed again). */
  "debug.nodeProfile": {
    params: {
      readonly target: WireTarget;
      readonly pid: number;
      readonly duration?: number;
      readonly port?: number;
      readonly interval?: number;
    };
    result: NodeProfileResult;
  };
  /** List a pod's sockets; resolve names, connect and GET from its network namespace. */
  "debug.networkCheck": {
    params: {
      readonly target: WireTarget;
      readonly pid?: number;
      readonly names?: readonly string[];
      readonly connect?: readonly string[];
      readonly http?: readonly string[];
      readonly timeoutSeconds?: number;
      readonly nameservers?: readonly string[];
      readonly insecure?: boolean;
      readonly sockets?: boolean;
    };
    result: NetworkCheckResult;
  };
  /** Dump a JVM's threads and the deadlocks it detects (through its attach mechanism). */
  "debug.javaThreadDump": {
    params: { readonly target: WireTarget; readonly pid: number };
    result: JavaThreadDumpResult;
  };
  /** Count a JVM's heap by class (GC.class_histogram, through its attach mechanism). */
  "debug.javaHeapHistogram": {
    params: {
      readonly target: WireTarget;
      readonly pid: number;
      readonly top?: number;
      readonly liveOnly?: boolean;
    };
    result: JavaHeapHistogramResult;
  };
  /** Record a JVM with JFR: hot methods and allocating classes (through attach). */
  "debug.javaProfile": {
    params: { readonly target: WireTarget; readonly pid: number; readonly duration?: number };
    result: JavaProfileResult;
  };
}

/**
 * The log levels of the `log` notification (and of `ctx.log`).
 *
 * @example
 * ```ts
 * import type { LogLevel } from "./protocol.ts";
 *
 * const level: LogLevel = "warn";
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * The manifest a guest answers `initialize` with.
 *
 * @example
 * ```ts
 * import type { Manifest } from "./protocol.ts";
 *
 * const manifest: Manifest = {
 *   name: "hello",
 *   triggers: [{ on: "manual" }],
 *   capabilities: ["findings.report"],
 *   params: {},
 * };
 * ```
 */
export interface Manifest {
  /** The workflow's name. */
  readonly name: string;
  /** What the workflow does. */
  readonly description?: string;
  /** The events that start it. */
  readonly triggers: readonly Trigger[];
  /** The capabilities it declares. */
  readonly capabilities: readonly Capability[];
  /** The kinds beyond pods and events it reads, as `apiVersion/Kind`. */
  readonly reads?: readonly KindKey[];
  /** Its parameter specs. */
  readonly params: ParamSpecs;
}
