/**
 * Builds `ctx` on top of a function that sends one host request. The guest
 * runtime and `testing.ts` share this code, so a workflow's unit tests
 * exercise the same argument checks and result unwrapping the host sees.
 *
 * @module
 */

import { type Capability, type HostMethod, METHOD_CAPABILITY } from "./capability.ts";
import type { Context, Logger } from "./context.ts";
import type {
  DebugTarget,
  GoProfileOptions,
  JavaHeapHistogramOptions,
  JavaProfileOptions,
  NetworkCheckOptions,
  NodeProfileOptions,
  PidOptions,
  PythonDebuggerOptions,
  PythonMemoryOptions,
  PythonProfileOptions,
  PythonStackTraceOptions,
} from "./debug/mod.ts";
import {
  CapabilityDeniedError,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
} from "./errors.ts";
import type { K8sEvent, Pod, PodRef } from "./event.ts";
import { type ReportOptions, type ReportResult, SEVERITIES } from "./finding.ts";
import type {
  CallOptions,
  EventSubject,
  KubeList,
  ListQuery,
  ObjectRef,
  OwnedObject,
} from "./k8s.ts";
import type { KubeObject, KubeObjectOf, V1Node } from "./k8s_types.ts";
import type { HostMethods, LogLevel, ReportParams, WireObjectRef, WireTarget } from "./protocol.ts";
import { formatArgs } from "./_format.ts";
import { describe } from "./_validate.ts";

/** Sends one request (the transport adds `invocationId`) and resolves with its raw result. */
export type HostCall = <M extends HostMethod>(
  method: M,
  params: HostMethods[M]["params"],
  signal: AbortSignal,
) => Promise<unknown>;

/** Everything `createContext` needs. */
export interface ContextInit<P> {
  readonly invocationId: string;
  readonly params: P;
  /** The invocation's signal: cancellation and the end of `run`. */
  readonly signal: AbortSignal;
  /** The capabilities the workflow declared; calls needing others are refused locally. */
  readonly declared: readonly Capability[] | undefined;
  readonly call: HostCall;
  readonly log: (level: LogLevel, message: string) => void;
  /** False once `run` returned. */
  readonly isActive: () => boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

/** Copies the listed keys whose values are not `undefined`. */
function pick(source: object | undefined, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  if (source === undefined) return picked;
  const record = source as Record<string, unknown>;
  for (const key of keys) {
    if (record[key] !== undefined) picked[key] = record[key];
  }
  return picked;
}

function podRef(method: string, what: string, value: unknown): { namespace: string; name: string } {
  if (!isRecord(value) || !nonEmptyString(value["namespace"]) || !nonEmptyString(value["name"])) {
    throw new InvalidParamsError(
      `${method}: ${what} must be an object with a non-empty namespace and name, got ${
        describe(value)
      }`,
      { method },
    );
  }
  return { namespace: value["namespace"], name: value["name"] };
}

function objectRef(method: string, what: string, value: unknown): WireObjectRef {
  // A whole object (an event's `object`, a `get` result) or an `ObjectRef`.
  const meta = isRecord(value) && isRecord(value["metadata"]) ? value["metadata"] : undefined;
  const source = isRecord(value) ? value : {};
  const name = meta !== undefined ? meta["name"] : source["name"];
  const namespace = meta !== undefined ? meta["namespace"] : source["namespace"];
  if (
    !nonEmptyString(source["apiVersion"]) || !nonEmptyString(source["kind"]) ||
    !nonEmptyString(name) || (namespace !== undefined && !nonEmptyString(namespace))
  ) {
    throw new InvalidParamsError(
      `${method}: ${what} must have apiVersion, kind and name (and a namespace for namespaced kinds), got ${
        describe(value)
      }`,
      { method },
    );
  }
  const ref = { apiVersion: source["apiVersion"], kind: source["kind"], name };
  return namespace === undefined ? ref : { ...ref, namespace };
}

function target(method: string, value: DebugTarget): WireTarget {
  const ref = podRef(method, "the target", value);
  const container = (value as unknown as Record<string, unknown>)["container"];
  if (container === undefined) return ref;
  if (!nonEmptyString(container)) {
    throw new InvalidParamsError(`${method}: target.container must be a non-empty string`, {
      method,
    });
  }
  return { ...ref, container };
}

function unexpected(method: string, what: string): HostError {
  return new HostError(`The host answered ${method} with an unexpected result: ${what}`, {
    method,
  });
}

function cellText(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function fail(message: string): never {
  throw new InvalidParamsError(`findings.report: ${message}`, { method: "findings.report" });
}

function wireTable(table: unknown, path: string): Record<string, unknown> {
  if (!isRecord(table)) return fail(`${path} must be an object, got ${describe(table)}`);
  const { title, columns, rows } = table;
  if (!Array.isArray(columns) || !columns.every((column) => typeof column === "string")) {
    fail(`${path}.columns must be an array of strings`);
  }
  if (!Array.isArray(rows)) return fail(`${path}.rows must be an array of arrays`);
  const wireRows = rows.map((row: unknown, rowIndex) => {
    if (!Array.isArray(row)) return fail(`${path}.rows[${rowIndex}] must be an array`);
    if (row.length !== columns.length) {
      fail(`${path}.rows[${rowIndex}] has ${row.length} cells for ${columns.length} columns`);
    }
    return row.map(cellText);
  });
  const wire = { columns: [...columns], rows: wireRows };
  if (title === undefined) return wire;
  if (typeof title !== "string") fail(`${path}.title must be a string, got ${describe(title)}`);
  return { title, ...wire };
}

function wireAttachment(attachment: unknown, path: string): Record<string, unknown> {
  if (!isRecord(attachment)) return fail(`${path} must be an object, got ${describe(attachment)}`);
  if ("artifactId" in attachment) {
    const { artifactId } = attachment;
    if (!nonEmptyString(artifactId)) fail(`${path}.artifactId must be a non-empty string`);
    return { artifactId };
  }
  const { name, text, mediaType = "text/plain" } = attachment;
  if (!nonEmptyString(name) || typeof text !== "string") {
    fail(`${path} must be an artifact reference { artifactId } or inline text { name, text }`);
  }
  if (!nonEmptyString(mediaType)) fail(`${path}.mediaType must be a non-empty string`);
  return { name, mediaType, text };
}

function reportParams(finding: unknown): ReportParams {
  if (!isRecord(finding)) return fail(`the finding must be an object, got ${describe(finding)}`);
  const { title, body, severity, subject, tables, attachments, labels } = finding;
  if (!nonEmptyString(title)) fail(`title must be a non-empty string, got ${describe(title)}`);
  if (body !== undefined && typeof body !== "string") {
    fail(`body must be a Markdown string, got ${describe(body)}`);
  }
  if (severity !== undefined && !(SEVERITIES as readonly unknown[]).includes(severity)) {
    fail(`severity must be one of ${SEVERITIES.join(", ")}, got ${describe(severity)}`);
  }
  const params: Record<string, unknown> = pick(finding, ["title", "body", "severity", "dedupeKey"]);
  const dedupeKey = finding["dedupeKey"];
  if (dedupeKey !== undefined && (!nonEmptyString(dedupeKey) || dedupeKey.length > 512)) {
    fail(
      `dedupeKey must be a non-empty string of at most 512 characters, got ${describe(dedupeKey)}`,
    );
  }
  if (subject !== undefined) {
    const wire: Record<string, unknown> = podRef("findings.report", "subject", subject);
    const kind = isRecord(subject) ? subject["kind"] : undefined;
    if (kind !== undefined) {
      if (!nonEmptyString(kind)) {
        fail(`subject.kind must be a non-empty string, got ${describe(kind)}`);
      }
      wire["kind"] = kind;
    }
    params["subject"] = wire;
  }
  if (tables !== undefined) {
    if (!Array.isArray(tables)) fail(`tables must be an array, got ${describe(tables)}`);
    params["tables"] = tables.map((table: unknown, index) => wireTable(table, `tables[${index}]`));
  }
  if (attachments !== undefined) {
    if (!Array.isArray(attachments)) {
      fail(`attachments must be an array, got ${describe(attachments)}`);
    }
    params["attachments"] = attachments.map((attachment: unknown, index) =>
      wireAttachment(attachment, `attachments[${index}]`)
    );
  }
  if (labels !== undefined) {
    if (!isRecord(labels)) fail(`labels must be an object of strings, got ${describe(labels)}`);
    const entries = Object.entries(labels);
    if (entries.length > MAX_LABELS) fail(`at most ${MAX_LABELS} labels, got ${entries.length}`);
    for (const [key, value] of entries) {
      if (!LABEL_KEY.test(key)) {
        fail(`label key ${describe(key)} must be 1-63 letters, digits, ".", "_", "/" or "-"`);
      }
      if (typeof value !== "string" || value.length > 256) {
        fail(`label ${key} must be a string of at most 256 characters, got ${describe(value)}`);
      }
    }
    params["labels"] = Object.fromEntries(entries);
  }
  return params as unknown as ReportParams;
}

const LABEL_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const MAX_LABELS = 32;

/** Builds the `ctx` of one invocation. */
export function createContext<P>(init: ContextInit<P>): Context<P> {
  const { invocationId } = init;

  async function invoke<M extends HostMethod>(
    method: M,
    build: () => HostMethods[M]["params"],
    options: CallOptions | undefined,
  ): Promise<unknown> {
    if (!init.isActive()) {
      throw new InvocationNotActiveError(
        `Invocation ${invocationId} has ended: ${method} is no longer allowed`,
        { method },
      );
    }
    const capability = METHOD_CAPABILITY[method];
    if (init.declared !== undefined && !init.declared.includes(capability)) {
      throw new CapabilityDeniedError(
        `${method} needs the "${capability}" capability, which this workflow does not declare`,
        { method },
      );
    }
    const params = build();
    const signal = options?.signal === undefined
      ? init.signal
      : AbortSignal.any([init.signal, options.signal]);
    signal.throwIfAborted();
    return await init.call(method, params, signal);
  }

  const logger = (level: LogLevel) => (...data: unknown[]): void => {
    const message = formatArgs(data);
    if (init.isActive()) init.log(level, message);
    else init.log(level, `(after invocation ${invocationId} ended) ${message}`);
  };
  const log: Logger = Object.freeze({
    debug: logger("debug"),
    info: logger("info"),
    warn: logger("warn"),
    error: logger("error"),
  });

  const items = async <T>(method: HostMethod, pending: Promise<unknown>): Promise<T[]> => {
    const result = await pending;
    if (!isRecord(result) || !Array.isArray(result["items"])) {
      throw unexpected(method, "no items array");
    }
    return result["items"] as T[];
  };

  const debugCall = <M extends HostMethod & `debug.${string}`>(
    method: M,
    value: DebugTarget,
    options: CallOptions | undefined,
    keys: readonly string[],
  ): Promise<HostMethods[M]["result"]> =>
    invoke(
      method,
      () => ({ ...pick(options, keys), target: target(method, value) }) as HostMethods[M]["params"],
      options,
    ).then((result) => {
      if (!isRecord(result)) throw unexpected(method, `${describe(result)} instead of an object`);
      return result as HostMethods[M]["result"];
    });

  const context: Context<P> = {
    invocationId,
    params: init.params,
    signal: init.signal,
    log,
    async report(finding: ReportOptions, options?: CallOptions): Promise<ReportResult> {
      const result = await invoke("findings.report", () => reportParams(finding), options);
      if (!isRecord(result) || !nonEmptyString(result["id"])) {
        throw unexpected("findings.report", "no finding id");
      }
      return result["duplicate"] === true
        ? { id: result["id"], duplicate: true }
        : { id: result["id"] };
    },
    k8s: Object.freeze({
      async get<A extends string, K extends string>(
        ref: ObjectRef<A, K>,
        options?: CallOptions,
      ): Promise<KubeObjectOf<A, K>> {
        const result = await invoke("k8s.get", () => objectRef("k8s.get", "ref", ref), options);
        if (!isRecord(result)) {
          throw unexpected("k8s.get", `${describe(result)} instead of an object`);
        }
        return result as unknown as KubeObjectOf<A, K>;
      },
      async list<A extends string, K extends string>(
        query: ListQuery<A, K>,
      ): Promise<KubeList<KubeObjectOf<A, K>>> {
        const method = "k8s.list";
        const result = await invoke(method, () => {
          if (
            !isRecord(query) || !nonEmptyString(query["apiVersion"]) ||
            !nonEmptyString(query["kind"])
          ) {
            throw new InvalidParamsError(
              `${method}: the query must have apiVersion and kind, got ${describe(query)}`,
              { method },
            );
          }
          return {
            apiVersion: query.apiVersion,
            kind: query.kind,
            ...pick(query, ["namespace", "labelSelector", "fieldSelector", "limit"]),
          };
        }, query);
        if (!isRecord(result) || !Array.isArray(result["items"])) {
          throw unexpected(method, "no items array");
        }
        return {
          items: result["items"] as KubeObjectOf<A, K>[],
          truncated: result["truncated"] === true,
        };
      },
      owners(object: OwnedObject | ObjectRef, options?: CallOptions): Promise<KubeObject[]> {
        const method = "k8s.owners";
        return items<KubeObject>(
          method,
          invoke(method, () => ({ object: objectRef(method, "object", object) }), options),
        );
      },
      async node(name: string, options?: CallOptions): Promise<V1Node> {
        const method = "k8s.get";
        const result = await invoke(method, () => {
          if (!nonEmptyString(name)) {
            throw new InvalidParamsError(
              `${method}: a node name must be a non-empty string, got ${describe(name)}`,
              {
                method,
              },
            );
          }
          return { apiVersion: "v1", kind: "Node", name };
        }, options);
        if (!isRecord(result)) throw unexpected(method, `${describe(result)} instead of a node`);
        return result as unknown as V1Node;
      },
      async getPod(pod: PodRef, options?: CallOptions): Promise<Pod> {
        const result = await invoke(
          "k8s.getPod",
          () => ({ pod: podRef("k8s.getPod", "pod", pod) }),
          options,
        );
        if (!isRecord(result)) {
          throw unexpected("k8s.getPod", `${describe(result)} instead of a pod`);
        }
        return result as unknown as Pod;
      },
      listPods(
        namespace: string,
        options?: CallOptions & { readonly labelSelector?: string },
      ): Promise<Pod[]> {
        const method = "k8s.listPods";
        return items<Pod>(
          method,
          invoke(method, () => {
            if (!nonEmptyString(namespace)) {
              throw new InvalidParamsError(
                `${method}: namespace must be a non-empty string, got ${describe(namespace)}`,
                { method },
              );
            }
            return { namespace, ...pick(options, ["labelSelector"]) };
          }, options),
        );
      },
      async podLogs(
        pod: PodRef,
        options?: CallOptions & {
          readonly container?: string;
          readonly previous?: boolean;
          readonly tailLines?: number;
          readonly limitBytes?: number;
        },
      ): Promise<string> {
        const method = "k8s.podLogs";
        const result = await invoke(method, () => {
          const params: Record<string, unknown> = {
            pod: podRef(method, "pod", pod),
            ...pick(options, ["previous", "tailLines", "limitBytes"]),
          };
          const container = options?.container ?? (isRecord(pod) ? pod["container"] : undefined);
          if (container !== undefined) params["container"] = container;
          return params as HostMethods["k8s.podLogs"]["params"];
        }, options);
        if (!isRecord(result) || typeof result["text"] !== "string") {
          throw unexpected(method, "no text");
        }
        return result["text"];
      },
      events(subject: EventSubject, options?: CallOptions): Promise<K8sEvent[]> {
        const method = "k8s.events";
        return items<K8sEvent>(
          method,
          invoke(method, () => {
            const wire: Record<string, unknown> = podRef(method, "subject", subject);
            if (isRecord(subject) && subject["kind"] !== undefined) wire["kind"] = subject["kind"];
            return { subject: wire as { namespace: string; name: string } };
          }, options),
        );
      },
    }),
    debug: Object.freeze({
      processList: (value: DebugTarget, options?: CallOptions) =>
        debugCall("debug.processList", value, options, []),
      pythonProfile: (value: DebugTarget, options: PythonProfileOptions) =>
        debugCall("debug.pythonProfile", value, options, [
          "pid",
          "duration",
          "rate",
          "idle",
          "subprocesses",
          "native",
        ]),
      pythonStackTrace: (value: DebugTarget, options: PythonStackTraceOptions) =>
        debugCall("debug.pythonStackTrace", value, options, ["pid", "count", "interval", "locals"]),
      pythonMemory: (value: DebugTarget, options: PythonMemoryOptions) =>
        debugCall("debug.pythonMemory", value, options, ["pid", "duration"]),
      pythonInspect: (value: DebugTarget, options: PidOptions) =>
        debugCall("debug.pythonInspect", value, options, ["pid"]),
      pythonDebugger: (value: DebugTarget, options: PythonDebuggerOptions) =>
        debugCall("debug.pythonDebugger", value, options, ["pid", "port"]),
      goProfile: (value: DebugTarget, options: GoProfileOptions) =>
        debugCall("debug.goProfile", value, options, ["pid", "duration", "port"]),
      nodeProfile: (value: DebugTarget, options: NodeProfileOptions) =>
        debugCall("debug.nodeProfile", value, options, ["pid", "duration", "port", "interval"]),
      javaThreadDump: (value: DebugTarget, options: PidOptions) =>
        debugCall("debug.javaThreadDump", value, options, ["pid"]),
      javaHeapHistogram: (value: DebugTarget, options: JavaHeapHistogramOptions) =>
        debugCall("debug.javaHeapHistogram", value, options, ["pid", "top", "liveOnly"]),
      javaProfile: (value: DebugTarget, options: JavaProfileOptions) =>
        debugCall("debug.javaProfile", value, options, ["pid", "duration"]),
      networkCheck: (value: DebugTarget, options?: NetworkCheckOptions) =>
        debugCall("debug.networkCheck", value, options, [
          "pid",
          "names",
          "connect",
          "http",
          "timeoutSeconds",
          "nameservers",
          "insecure",
          "sockets",
        ]),
    }),
  };
  return Object.freeze(context);
}
