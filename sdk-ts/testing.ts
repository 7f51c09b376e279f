/**
 * Helpers to unit-test a workflow with `deno test`, without a host: a `ctx`
 * whose host calls are answered by canned responses (or, for objects of any
 * kind, from a fake cluster's `objects`) and recorded, and builders for
 * pods, events and objects (Pod, ReplicaSet, Deployment, Job, Node).
 *
 * ```ts
 * import { runWorkflow, fakeEvent } from "./testing.ts";
 * import { defineWorkflow } from "./mod.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   name: "hello",
 *   triggers: [{ on: "manual" }],
 *   capabilities: ["findings.report"],
 *   async run(ctx, event) {
 *     await ctx.report({ title: `Hello from ${event.kind}` });
 *   },
 * });
 * const { findings } = await runWorkflow(workflow, fakeEvent("manual"));
 * strictEqual(findings[0]?.title, "Hello from manual");
 * ```
 *
 * @module
 */

import type { Capability, HostMethod } from "./capability.ts";
import { METHOD_CAPABILITY } from "./capability.ts";
import type { Context } from "./context.ts";
import {
  CancelledError,
  CapabilityDeniedError,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
  NotFoundError,
  UpstreamError,
} from "./errors.ts";
import type { ContainerState, EventKind, EventOf, K8sEvent, Pod, WorkflowEvent } from "./event.ts";
import type {
  CoreV1Event,
  KubeKinds,
  KubeObject,
  V1ContainerState,
  V1ContainerStatus,
  V1Deployment,
  V1Job,
  V1Node,
  V1NodeCondition,
  V1ObjectMeta,
  V1Pod,
  V1PodCondition,
  V1ReplicaSet,
} from "./k8s_types.ts";
import { paramDefaults, type ParamsOf, type ParamSpecs } from "./params.ts";
import type { HostMethods, LogLevel, ReportParams } from "./protocol.ts";
import { toManifest, type Workflow } from "./workflow.ts";
import { createContext } from "./_context.ts";

/**
 * How a test answers one host method: the result itself, a function of the
 * call's params returning it (or a promise of it), or an `Error` to throw
 * (e.g. `new NotFoundError("...")`).
 *
 * @typeParam M The host method.
 *
 * @example
 * ```ts
 * import type { TestResponse } from "./testing.ts";
 *
 * const logs: TestResponse<"k8s.podLogs"> = (params) => ({ text: `logs of ${params.pod.name}` });
 * ```
 */
export type TestResponse<M extends HostMethod> =
  | TestResult<M>
  | Error
  | ((
    params: HostMethods[M]["params"],
  ) => TestResult<M> | Promise<TestResult<M>>);

/**
 * The result a test answers a host method with: what the host sends, except
 * that the objects of `k8s.get`, `k8s.list` and `k8s.owners` may be any
 * {@linkcode TestObject} (such as {@linkcode fakeDeployment}'s), and
 * `k8s.list`'s `truncated` defaults to `false`.
 *
 * @typeParam M The host method.
 *
 * @example
 * ```ts
 * import { fakeNode, type TestResult } from "./testing.ts";
 *
 * const nodes: TestResult<"k8s.list"> = { items: [fakeNode()] };
 * ```
 */
export type TestResult<M extends HostMethod> = M extends "k8s.get" ? TestObject
  : M extends "k8s.list" ? { readonly items: readonly TestObject[]; readonly truncated?: boolean }
  : M extends "k8s.owners" ? { readonly items: readonly TestObject[] }
  : HostMethods[M]["result"];

/**
 * Canned answers by method. `findings.report` answers `{ id: "f-1" }`,
 * `{ id: "f-2" }`, ... unless given; any other method without an answer
 * fails with a `HostError` naming it.
 *
 * @example
 * ```ts
 * import type { TestResponses } from "./testing.ts";
 * import { NotFoundError } from "./errors.ts";
 *
 * const responses: TestResponses = {
 *   "k8s.podLogs": { text: "panic: boom\n" },
 *   "k8s.getPod": new NotFoundError("Pod shop/web-1 not found"),
 * };
 * ```
 */
export type TestResponses = { readonly [M in HostMethod]?: TestResponse<M> };

/**
 * A host call the workflow made, with its wire params (without `invocationId`).
 *
 * @example
 * ```ts
 * import type { TestCall } from "./testing.ts";
 *
 * const call: TestCall = { method: "k8s.getPod", params: { pod: { namespace: "shop", name: "web-1" } } };
 * ```
 */
export interface TestCall {
  /** The method called. */
  readonly method: HostMethod;
  /** Its params as they would go on the wire. */
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * A finding the workflow reported: the wire params plus the id it got.
 *
 * @example
 * ```ts
 * import type { TestFinding } from "./testing.ts";
 *
 * const finding: TestFinding = { id: "f-1", title: "web-1 is crash-looping", severity: "high" };
 * ```
 */
export interface TestFinding extends ReportParams {
  /** The id the (fake) host gave the finding. */
  readonly id: string;
}

/**
 * A message the workflow logged through `ctx.log`.
 *
 * @example
 * ```ts
 * import type { TestLog } from "./testing.ts";
 *
 * const log: TestLog = { level: "info", message: "found 3 pods" };
 * ```
 */
export interface TestLog {
  /** The level. */
  readonly level: LogLevel;
  /** The formatted message. */
  readonly message: string;
}

/**
 * An object the fake host holds for `ctx.k8s.get`, `list`, `owners` and
 * `node` (see {@linkcode TestContextOptions.objects}): a built-in kind, typed
 * by its generated type, or an object of any other kind.
 *
 * @example
 * ```ts
 * import type { TestObject } from "./testing.ts";
 *
 * const objects: TestObject[] = [
 *   { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } },
 *   { apiVersion: "example.com/v1", kind: "Widget", metadata: { namespace: "shop", name: "w" }, spec: {} },
 * ];
 * ```
 */
export type TestObject = KubeKinds[keyof KubeKinds] | KubeObject;

/**
 * Options of {@linkcode createTestContext} and {@linkcode runWorkflow}.
 *
 * @example
 * ```ts
 * import type { TestContextOptions } from "./testing.ts";
 * import { fakeDeployment } from "./testing.ts";
 *
 * const options: TestContextOptions = {
 *   responses: { "k8s.listPods": { items: [] } },
 *   objects: [fakeDeployment()],
 *   granted: ["k8s.read"],
 * };
 * ```
 */
export interface TestContextOptions {
  /** Canned answers to host calls. */
  readonly responses?: TestResponses;
  /**
   * The cluster's objects, for the methods that read objects of any kind
   * (`ctx.k8s.get`, `list`, `owners`, `node`) when `responses` has no answer
   * for them. The fake host answers as the real one does: `get` finds an
   * object by `apiVersion`, `kind`, namespace and name (else
   * `NotFoundError`); `list` filters by kind, namespace, label selector
   * (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field selector (`=`,
   * `==`, `!=` on any dotted path, e.g. `status.phase=Failed`), sorted by
   * namespace and name, at most `limit` (default 100) with `truncated` set
   * when more matched; `owners` finds the object, then follows its
   * `ownerReferences` with `controller: true` among these objects (same
   * namespace, same uid), stopping at the first one missing.
   *
   * Like the host, and whether answered from `objects` or `responses`, the
   * fake refuses Secrets and, when the workflow is given, kinds other than
   * `v1/Pod` and `v1/Event` that it does not declare in `reads`, with a
   * `CapabilityDeniedError`.
   */
  readonly objects?: readonly TestObject[];
  /** The invocation id; `"inv-test"` when absent. */
  readonly invocationId?: string;
  /**
   * The capabilities the fake host grants; a call needing another one is
   * refused with `CapabilityDeniedError`, as the host would. All when absent.
   */
  readonly granted?: readonly Capability[];
}

/**
 * A `ctx` for tests, and what happened through it.
 *
 * @typeParam P The type of `ctx.params`.
 *
 * @example
 * ```ts
 * import { createTestContext } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const test = createTestContext();
 * test.ctx.log.warn("careful");
 * strictEqual(test.logs[0]?.message, "careful");
 * ```
 */
export interface TestContext<P> {
  /** The context to pass to `run`. */
  readonly ctx: Context<P>;
  /** Every host call, in order (including refused ones). */
  readonly calls: readonly TestCall[];
  /** Every finding reported, in order. */
  readonly findings: readonly TestFinding[];
  /** Every `ctx.log` message, in order. */
  readonly logs: readonly TestLog[];
  /** Aborts `ctx.signal` as a `$/cancel` from the host would. */
  cancel(): void;
  /** Ends the invocation as when `run` returns: later calls are refused. */
  end(): void;
}

// The fake host's reads of objects of any kind (`objects`), as host/capabilities/k8s_read.py
// and reads.py answer them.

const IMPLICIT_READS: readonly string[] = ["v1/Pod", "v1/Event"];
const DEFAULT_LIST_LIMIT = 100;
const MAX_OWNER_DEPTH = 8;

interface WireRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** The kind (`apiVersion/Kind`) a call reads objects of, or `undefined` for other methods. */
function objectReads(method: HostMethod, wire: Record<string, unknown>): string | undefined {
  if (method !== "k8s.get" && method !== "k8s.list" && method !== "k8s.owners") return undefined;
  const ref = method === "k8s.owners" ? wire["object"] : wire;
  const { apiVersion, kind } = ref as Record<string, unknown>;
  return `${String(apiVersion)}/${String(kind)}`;
}

function checkReads(method: HostMethod, key: string, workflow: Workflow | undefined): void {
  if (key === "v1/Secret") {
    throw new CapabilityDeniedError(`${method}: Secrets are never readable by workflows`, {
      method,
      data: { capability: "k8s.read", kind: key, reason: "secret" },
    });
  }
  if (workflow === undefined || IMPLICIT_READS.includes(key)) return;
  if (!(workflow.reads ?? []).some((declared) => declared === key)) {
    throw new CapabilityDeniedError(
      `${method}: ${workflow.name} does not declare reads of ${key}; add '${key}' to its manifest's reads`,
      { method, data: { capability: "k8s.read", kind: key, reason: "not_declared" } },
    );
  }
}

function metadataOf(object: TestObject): V1ObjectMeta {
  return (object as { readonly metadata?: V1ObjectMeta }).metadata ?? {};
}

function keyOf(object: TestObject): string {
  return `${object.apiVersion}/${object.kind}`;
}

function describeRef(ref: WireRef): string {
  const where = ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`;
  return `${ref.apiVersion}/${ref.kind} ${where}`;
}

function findObject(
  method: HostMethod,
  objects: readonly TestObject[],
  ref: WireRef,
): TestObject | undefined {
  const named = objects.filter((object) =>
    keyOf(object) === `${ref.apiVersion}/${ref.kind}` && metadataOf(object).name === ref.name
  );
  // A cluster-scoped object (no namespace) is found whatever namespace is given, as on the host.
  const found = named.find((object) => {
    const namespace = metadataOf(object).namespace;
    return namespace === undefined || namespace === ref.namespace;
  });
  if (found === undefined && ref.namespace === undefined && named.length > 0) {
    throw new InvalidParamsError(
      `${method}: ${ref.apiVersion}/${ref.kind} is namespaced: give a namespace`,
      { method },
    );
  }
  return found;
}

function getObject(method: HostMethod, objects: readonly TestObject[], ref: WireRef): TestObject {
  const found = findObject(method, objects, ref);
  if (found === undefined) {
    throw new NotFoundError(
      `${describeRef(ref)} not found (it is not among the test context's objects)`,
      { method },
    );
  }
  return found;
}

/** Splits a selector on the commas outside `( )`. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of selector) {
    if (char === "(") depth++;
    else if (char === ")") depth--;
    if (char === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += char;
  }
  parts.push(current.trim());
  return parts.filter((part) => part !== "");
}

function badSelector(which: string, selector: string): UpstreamError {
  return new UpstreamError(`Kubernetes API: unable to parse ${which} ${JSON.stringify(selector)}`, {
    method: "k8s.list",
  });
}

function matchesLabels(selector: string, labels: Readonly<Record<string, string>>): boolean {
  return requirements(selector).every((requirement) => {
    const set = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^()]*)\)$/.exec(requirement);
    if (set !== null) {
      const [, key = "", operator, list = ""] = set;
      const values = list.split(",").map((value) => value.trim());
      const value = labels[key];
      const member = value !== undefined && values.includes(value);
      return operator === "in" ? member : !member;
    }
    const compared = /^([^\s!=(),]+)\s*(==|!=|=)\s*([^\s!=(),]*)$/.exec(requirement);
    if (compared !== null) {
      const [, key = "", operator, expected = ""] = compared;
      const value = labels[key];
      return operator === "!=" ? value !== expected : value === expected;
    }
    const exists = /^(!?)([^\s!=(),]+)$/.exec(requirement);
    if (exists !== null) return (labels[exists[2] ?? ""] !== undefined) !== (exists[1] === "!");
    throw badSelector("labelSelector", selector);
  });
}

function fieldValue(object: TestObject, path: string): string {
  let value: unknown = object;
  for (const key of path.split(".")) {
    value = typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)[key]
      : undefined;
  }
  return value === undefined || value === null ? "" : String(value);
}

function matchesFields(selector: string, object: TestObject): boolean {
  return requirements(selector).every((requirement) => {
    const compared = /^([A-Za-z0-9_.-]+)\s*(==|!=|=)\s*(.*)$/.exec(requirement);
    if (compared === null) throw badSelector("fieldSelector", selector);
    const [, path = "", operator, expected = ""] = compared;
    const value = fieldValue(object, path);
    return operator === "!=" ? value !== expected.trim() : value === expected.trim();
  });
}

function sortKey(object: TestObject): string {
  const metadata = metadataOf(object);
  return `${metadata.namespace ?? ""}/${metadata.name ?? ""}`;
}

function listObjects(
  objects: readonly TestObject[],
  query: HostMethods["k8s.list"]["params"],
): HostMethods["k8s.list"]["result"] {
  const matched = objects
    .filter((object) => {
      const metadata = metadataOf(object);
      return keyOf(object) === `${query.apiVersion}/${query.kind}` &&
        (query.namespace === undefined || metadata.namespace === query.namespace) &&
        (query.labelSelector === undefined ||
          matchesLabels(query.labelSelector, metadata.labels ?? {})) &&
        (query.fieldSelector === undefined || matchesFields(query.fieldSelector, object));
    })
    .sort((a, b) => sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  return {
    items: matched.slice(0, limit) as unknown as KubeObject[],
    truncated: matched.length > limit,
  };
}

function ownersOf(
  objects: readonly TestObject[],
  start: WireRef,
  workflow: Workflow | undefined,
): KubeObject[] {
  const method = "k8s.owners";
  let object = getObject(method, objects, start);
  const chain: KubeObject[] = [];
  for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
    const ref = metadataOf(object).ownerReferences?.find((owner) => owner.controller === true);
    if (ref === undefined) break;
    checkReads(method, `${ref.apiVersion}/${ref.kind}`, workflow);
    const ownerRef: WireRef = start.namespace === undefined
      ? { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name }
      : { apiVersion: ref.apiVersion, kind: ref.kind, namespace: start.namespace, name: ref.name };
    const owner = findObject(method, objects, ownerRef);
    // Gone (being garbage collected), or another object now has the owner's name.
    if (owner === undefined || (ref.uid !== "" && metadataOf(owner).uid !== ref.uid)) break;
    chain.push(owner as unknown as KubeObject);
    object = owner;
  }
  return chain;
}

function answerFromObjects(
  method: HostMethod,
  wire: Record<string, unknown>,
  objects: readonly TestObject[],
  workflow: Workflow | undefined,
): unknown {
  switch (method) {
    case "k8s.get":
      return getObject(method, objects, wire as unknown as WireRef);
    case "k8s.list":
      return listObjects(objects, wire as unknown as HostMethods["k8s.list"]["params"]);
    default:
      return { items: ownersOf(objects, wire["object"] as WireRef, workflow) };
  }
}

/**
 * Builds a `ctx` whose host calls are answered from `responses` and
 * recorded. Pass the workflow to get its param defaults merged under
 * `params`, `ctx.params` typed from its declaration, and calls needing an
 * undeclared capability refused, as in the real runtime.
 *
 * @typeParam P The workflow's `params` declaration, or the type of `params`.
 * @param options The workflow, params, canned responses and grants.
 * @returns The context and the records of what happened through it.
 *
 * @example Test a workflow's run
 * ```ts
 * import { createTestContext, fakeEvent } from "./testing.ts";
 * import { defineWorkflow, podRefOf } from "./mod.ts";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   name: "tail",
 *   triggers: [{ on: "pod.crashLoop" }],
 *   capabilities: ["k8s.read", "findings.report"],
 *   params: { tailLines: { type: "integer", default: 50 } },
 *   async run(ctx, event) {
 *     const pod = podRefOf(event);
 *     if (pod === undefined) return;
 *     const body = await ctx.k8s.podLogs(pod, { previous: true, tailLines: ctx.params.tailLines });
 *     await ctx.report({ title: `${pod.name} crashed`, body, severity: "high" });
 *   },
 * });
 *
 * const test = createTestContext({
 *   workflow,
 *   params: { tailLines: 5 },
 *   responses: { "k8s.podLogs": { text: "panic: boom" } },
 * });
 * await workflow.run(test.ctx, fakeEvent("pod.crashLoop"));
 * strictEqual(test.findings[0]?.body, "panic: boom");
 * deepStrictEqual(test.calls[0]?.params, {
 *   pod: { namespace: "default", name: "web-1" },
 *   container: "app",
 *   previous: true,
 *   tailLines: 5,
 * });
 * ```
 */
export function createTestContext<P extends ParamSpecs>(
  options: TestContextOptions & {
    readonly workflow: Workflow<P>;
    readonly params?: Partial<ParamsOf<P>>;
  },
): TestContext<ParamsOf<P>>;
/**
 * Builds a `ctx` for tests without a workflow: `ctx.params` is exactly
 * `params`, and no declared-capability check applies.
 *
 * @typeParam P The type of `params`.
 * @param options The params, canned responses and grants.
 * @returns The context and the records of what happened through it.
 *
 * @example
 * ```ts
 * import { createTestContext } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const test = createTestContext({ params: { namespace: "shop" }, responses: { "k8s.listPods": { items: [] } } });
 * const pods = await test.ctx.k8s.listPods(test.ctx.params.namespace);
 * strictEqual(pods.length, 0);
 * ```
 */
export function createTestContext<
  P extends Readonly<Record<string, unknown>> = Record<never, never>,
>(
  options?: TestContextOptions & { readonly workflow?: undefined; readonly params?: P },
): TestContext<P>;
export function createTestContext(
  options: TestContextOptions & {
    readonly workflow?: Workflow | undefined;
    readonly params?: object;
  } = {},
): TestContext<unknown> {
  const invocationId = options.invocationId ?? "inv-test";
  const workflow = options.workflow;
  const params = Object.freeze({
    ...(workflow === undefined ? {} : paramDefaults(workflow.params)),
    ...options.params,
  });
  const responses: Record<string, unknown> = { ...options.responses };
  const calls: TestCall[] = [];
  const findings: TestFinding[] = [];
  const logs: TestLog[] = [];
  const controller = new AbortController();
  let active = true;
  let findingCount = 0;

  async function answer(method: HostMethod, wire: Record<string, unknown>): Promise<unknown> {
    calls.push(Object.freeze({ method, params: wire }));
    const capability = METHOD_CAPABILITY[method];
    if (options.granted !== undefined && !options.granted.includes(capability)) {
      throw new CapabilityDeniedError(`The "${capability}" capability is not granted`, { method });
    }
    const reads = objectReads(method, wire);
    if (reads !== undefined) checkReads(method, reads, workflow);
    const response = responses[method];
    let result: unknown;
    if (response instanceof Error) throw response;
    else if (typeof response === "function") result = await response(wire);
    else if (response !== undefined) result = response;
    else if (method === "findings.report") result = { id: `f-${findingCount + 1}` };
    else if (reads !== undefined && options.objects !== undefined) {
      result = answerFromObjects(method, wire, options.objects, workflow);
    } else {
      const objects = reads === undefined ? "" : " or objects";
      throw new HostError(
        `No test response for ${method}: pass responses["${method}"]${objects} to createTestContext`,
        { method },
      );
    }
    if (method === "findings.report") {
      findingCount++;
      const id = typeof result === "object" && result !== null && "id" in result
        ? String(result.id)
        : "";
      findings.push(Object.freeze({ ...(wire as unknown as ReportParams), id }));
    }
    return structuredClone(result);
  }

  const ctx = createContext({
    invocationId,
    params,
    signal: controller.signal,
    declared: workflow?.capabilities,
    call: (method, callParams, signal) =>
      new Promise<unknown>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        answer(method, structuredClone(callParams) as Record<string, unknown>)
          .then(resolve, reject)
          .finally(() => signal.removeEventListener("abort", onAbort));
      }),
    log: (level, message) => logs.push(Object.freeze({ level, message })),
    isActive: () => active,
  });
  return {
    ctx,
    calls,
    findings,
    logs,
    cancel() {
      if (!controller.signal.aborted) {
        controller.abort(
          new CancelledError(`Invocation ${invocationId} was cancelled by the test`),
        );
      }
    },
    end() {
      active = false;
      if (!controller.signal.aborted) {
        controller.abort(new InvocationNotActiveError(`Invocation ${invocationId} has ended`));
      }
    },
  };
}

/**
 * What {@linkcode runWorkflow} recorded.
 *
 * @example
 * ```ts
 * import type { TestRun } from "./testing.ts";
 *
 * function titles(run: TestRun): string[] {
 *   return run.findings.map((finding) => finding.title);
 * }
 * ```
 */
export interface TestRun {
  /** Every host call, in order. */
  readonly calls: readonly TestCall[];
  /** Every finding reported, in order. */
  readonly findings: readonly TestFinding[];
  /** Every `ctx.log` message, in order. */
  readonly logs: readonly TestLog[];
}

/**
 * Checks a workflow's definition (as the host's `initialize` would), runs it
 * once against `event` with a test context, and ends the invocation.
 *
 * @typeParam P The workflow's `params` declaration.
 * @param workflow The workflow under test.
 * @param event The event to run it with, e.g. from {@linkcode fakeEvent}.
 * @param options Params (merged over the workflow's defaults), responses and grants.
 * @returns The calls, findings and logs of the run.
 * @throws {WorkflowDefinitionError} When the workflow's definition is invalid.
 * @throws {unknown} Whatever the workflow's `run` throws.
 *
 * @example
 * ```ts
 * import { fakeEvent, runWorkflow } from "./testing.ts";
 * import { defineWorkflow } from "./mod.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   name: "count-pods",
 *   triggers: [{ on: "schedule", schedule: "5m" }],
 *   capabilities: ["k8s.read", "findings.report"],
 *   params: { namespace: { type: "string", default: "shop" } },
 *   async run(ctx) {
 *     const pods = await ctx.k8s.listPods(ctx.params.namespace);
 *     await ctx.report({ title: `${pods.length} pods` });
 *   },
 * });
 * const run = await runWorkflow(workflow, fakeEvent("schedule"), {
 *   responses: { "k8s.listPods": { items: [] } },
 * });
 * strictEqual(run.findings[0]?.title, "0 pods");
 * ```
 */
export async function runWorkflow<P extends ParamSpecs>(
  workflow: Workflow<P>,
  event: WorkflowEvent,
  options: TestContextOptions & { readonly params?: Partial<ParamsOf<P>> } = {},
): Promise<TestRun> {
  toManifest(workflow);
  const test = createTestContext({ ...options, workflow });
  try {
    await workflow.run(test.ctx, event);
  } finally {
    test.end();
  }
  return { calls: test.calls, findings: test.findings, logs: test.logs };
}

/**
 * A plausible running pod (`default/web-1`, one container `app`), with
 * `overrides` applied on top.
 *
 * @param overrides Fields to replace.
 * @returns A new pod.
 *
 * @example
 * ```ts
 * import { fakePod } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const pod = fakePod({ namespace: "shop", name: "cart-7" });
 * strictEqual(pod.phase, "Running");
 * strictEqual(pod.name, "cart-7");
 * ```
 */
export function fakePod(overrides: Partial<Pod> = {}): Pod {
  return {
    namespace: "default",
    name: "web-1",
    uid: "00000000-0000-4000-8000-000000000001",
    node: "node-1",
    phase: "Running",
    labels: { app: "web" },
    annotations: {},
    containers: [{ name: "app", image: "example/web:1.0" }],
    containerStatuses: [{
      name: "app",
      ready: true,
      restartCount: 0,
      image: "example/web:1.0",
      state: { running: { startedAt: "2024-05-01T09:00:00Z" } },
      lastState: {},
    }],
    startTime: "2024-05-01T09:00:00Z",
    ...overrides,
  };
}

const TIME = "2024-05-01T10:00:00Z";
const CREATED = "2024-05-01T08:59:58Z";
const UNSCHEDULABLE =
  "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
const REPLICA_SET = { name: "web-5d8f7c9b4", uid: "00000000-0000-4000-8000-000000000002" };
const DEPLOYMENT = { name: "web", uid: "00000000-0000-4000-8000-000000000003" };
const JOB = { name: "report-28573920", uid: "00000000-0000-4000-8000-000000000004" };
const CRON_JOB = { name: "report", uid: "00000000-0000-4000-8000-000000000005" };
const NODE = { name: "node-1", uid: "00000000-0000-4000-8000-000000000006" };
const CONTAINER_ID =
  "containerd://4b1f6c2d8e9a0b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c";
const IMAGE_DIGEST = "sha256:9e3c1a5b7d9f2e4a6c8b0d1f3e5a7c9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e1a";

/** `base` with the fields of `overrides` replaced, and its `metadata` merged into base's. */
function withOverrides<T extends { readonly metadata?: V1ObjectMeta }>(
  base: T,
  overrides: Partial<T>,
): T {
  const merged = { ...base, ...overrides };
  return overrides.metadata === undefined
    ? merged
    : { ...merged, metadata: { ...base.metadata, ...overrides.metadata } };
}

function v1State(state: ContainerState): V1ContainerState {
  const v1: { -readonly [K in keyof V1ContainerState]: V1ContainerState[K] } = {};
  if (state.running !== undefined) {
    v1.running = state.running.startedAt === null ? {} : { startedAt: state.running.startedAt };
  }
  if (state.waiting !== undefined) {
    const { reason, message } = state.waiting;
    v1.waiting = {
      ...(reason === null ? {} : { reason }),
      ...(message === null ? {} : { message }),
    };
  }
  if (state.terminated !== undefined) {
    const { exitCode, reason, signal, startedAt, finishedAt } = state.terminated;
    v1.terminated = {
      exitCode,
      ...(reason === null ? {} : { reason }),
      ...(signal === undefined ? {} : { signal }),
      ...(startedAt === null ? {} : { startedAt }),
      ...(finishedAt === null ? {} : { finishedAt }),
      containerID: CONTAINER_ID,
    };
  }
  return v1;
}

function podConditions(pod: Pod): V1PodCondition[] {
  const since = pod.startTime ?? CREATED;
  if (pod.node === null) {
    return [{
      type: "PodScheduled",
      status: "False",
      lastTransitionTime: CREATED,
      reason: "Unschedulable",
      message: pod.message ?? UNSCHEDULABLE,
    }];
  }
  const unready = pod.containerStatuses.filter((status) => !status.ready).map((s) => s.name);
  const finished = pod.phase === "Succeeded" || pod.phase === "Failed";
  const ready: Omit<V1PodCondition, "type"> = finished
    ? { status: "False", lastTransitionTime: TIME, reason: "PodCompleted" }
    : unready.length > 0 || pod.containerStatuses.length === 0
    ? {
      status: "False",
      lastTransitionTime: TIME,
      reason: "ContainersNotReady",
      message: `containers with unready status: [${
        (unready.length > 0 ? unready : pod.containers.map((c) => c.name)).join(" ")
      }]`,
    }
    : { status: "True", lastTransitionTime: since };
  return [
    {
      type: "PodReadyToStartContainers",
      status: finished ? "False" : "True",
      lastTransitionTime: since,
    },
    { type: "Initialized", status: "True", lastTransitionTime: since },
    { type: "Ready", ...ready },
    { type: "ContainersReady", ...ready },
    { type: "PodScheduled", status: "True", lastTransitionTime: CREATED },
  ];
}

function podObject(
  pod: Pod,
  options: { readonly resourceVersion?: string } = {},
): V1Pod {
  const annotations = Object.keys(pod.annotations).length === 0
    ? {}
    : { annotations: { ...pod.annotations } };
  const containerStatuses: V1ContainerStatus[] = pod.containerStatuses.map((status) => ({
    name: status.name,
    state: v1State(status.state),
    lastState: v1State(status.lastState),
    ready: status.ready,
    restartCount: status.restartCount,
    image: status.image,
    imageID: `${status.image.split(":")[0] ?? status.image}@${IMAGE_DIGEST}`,
    ...(status.state.waiting === undefined ? { containerID: CONTAINER_ID } : {}),
    started: status.state.running !== undefined,
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid,
      resourceVersion: options.resourceVersion ?? "1002",
      creationTimestamp: CREATED,
      labels: { ...pod.labels },
      ...annotations,
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: REPLICA_SET.name,
        uid: REPLICA_SET.uid,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {
      containers: pod.containers.map((container) => ({
        name: container.name,
        image: container.image,
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        imagePullPolicy: "IfNotPresent",
      })),
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      serviceAccount: "default",
      ...(pod.node === null ? {} : { nodeName: pod.node }),
      securityContext: {},
      schedulerName: "default-scheduler",
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: {
      phase: pod.phase,
      conditions: podConditions(pod),
      ...(pod.reason === undefined ? {} : { reason: pod.reason }),
      ...(pod.message === undefined ? {} : { message: pod.message }),
      ...(pod.node === null ? {} : {
        hostIP: "10.0.0.11",
        hostIPs: [{ ip: "10.0.0.11" }],
        podIP: "10.244.1.7",
        podIPs: [{ ip: "10.244.1.7" }],
      }),
      ...(pod.startTime === undefined ? {} : { startTime: pod.startTime }),
      ...(containerStatuses.length === 0 ? {} : { containerStatuses }),
      qosClass: "Burstable",
    },
  };
}

/**
 * The whole pod object, as the API server sends it (what events carry as
 * `object`), of a flattened {@linkcode Pod}: the same namespace, name, uid,
 * labels, node, phase, containers and container states, plus what the API
 * server adds (resource requests and limits, conditions, IPs). It is
 * controlled by the ReplicaSet {@linkcode fakeReplicaSet} returns, so
 * `ctx.k8s.owners` walks pod -> ReplicaSet -> Deployment among
 * `[fakePodObject(), fakeReplicaSet(), fakeDeployment()]`.
 *
 * @param pod The pod; {@linkcode fakePod}'s when absent.
 * @returns A new `V1Pod`.
 *
 * @example
 * ```ts
 * import { fakePod, fakePodObject } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const object = fakePodObject(fakePod({ namespace: "shop", phase: "Pending" }));
 * strictEqual(object.metadata?.namespace, "shop");
 * strictEqual(object.status?.phase, "Pending");
 * strictEqual(object.spec?.containers[0]?.resources?.limits?.["memory"], "256Mi");
 * strictEqual(object.metadata?.ownerReferences?.[0]?.kind, "ReplicaSet");
 * ```
 */
export function fakePodObject(pod: Pod = fakePod()): V1Pod {
  return podObject(pod);
}

const WEB_TEMPLATE = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [{
      name: "app",
      image: "example/web:1.0",
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      imagePullPolicy: "IfNotPresent",
    }],
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    securityContext: {},
    schedulerName: "default-scheduler",
  },
};

/**
 * A plausible Deployment (`default/web`, 3 replicas, all available: the
 * owner of {@linkcode fakeReplicaSet}), with `overrides` applied on top
 * (`metadata` is merged, other fields are replaced).
 *
 * @param overrides Fields to replace.
 * @returns A new `V1Deployment`.
 *
 * @example
 * ```ts
 * import { fakeDeployment } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const deployment = fakeDeployment({ metadata: { namespace: "shop" } });
 * strictEqual(deployment.metadata?.name, "web");
 * strictEqual(deployment.metadata?.namespace, "shop");
 * strictEqual(deployment.status?.availableReplicas, 3);
 * ```
 */
export function fakeDeployment(overrides: Partial<V1Deployment> = {}): V1Deployment {
  return withOverrides<V1Deployment>({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: DEPLOYMENT.name,
      namespace: "default",
      uid: DEPLOYMENT.uid,
      resourceVersion: "1001",
      generation: 2,
      creationTimestamp: "2024-04-02T14:21:07Z",
      labels: { app: "web" },
      annotations: { "deployment.kubernetes.io/revision": "2" },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: WEB_TEMPLATE,
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: "Available",
          status: "True",
          lastUpdateTime: CREATED,
          lastTransitionTime: CREATED,
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        },
        {
          type: "Progressing",
          status: "True",
          lastUpdateTime: CREATED,
          lastTransitionTime: "2024-04-02T14:21:07Z",
          reason: "NewReplicaSetAvailable",
          message: `ReplicaSet "${REPLICA_SET.name}" has successfully progressed.`,
        },
      ],
    },
  }, overrides);
}

/**
 * A plausible ReplicaSet (`default/web-5d8f7c9b4`, 3 replicas): the owner of
 * {@linkcode fakePodObject}'s pod, controlled by {@linkcode fakeDeployment}'s
 * Deployment, with `overrides` applied on top (`metadata` is merged, other
 * fields are replaced).
 *
 * @param overrides Fields to replace.
 * @returns A new `V1ReplicaSet`.
 *
 * @example
 * ```ts
 * import { fakeReplicaSet } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const replicaSet = fakeReplicaSet();
 * strictEqual(replicaSet.metadata?.ownerReferences?.[0]?.name, "web");
 * ```
 */
export function fakeReplicaSet(overrides: Partial<V1ReplicaSet> = {}): V1ReplicaSet {
  const labels = { app: "web", "pod-template-hash": "5d8f7c9b4" };
  return withOverrides<V1ReplicaSet>({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: REPLICA_SET.name,
      namespace: "default",
      uid: REPLICA_SET.uid,
      resourceVersion: "1000",
      generation: 1,
      creationTimestamp: CREATED,
      labels,
      annotations: {
        "deployment.kubernetes.io/desired-replicas": "3",
        "deployment.kubernetes.io/max-replicas": "4",
        "deployment.kubernetes.io/revision": "2",
      },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: DEPLOYMENT.name,
        uid: DEPLOYMENT.uid,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: labels },
      template: { ...WEB_TEMPLATE, metadata: { labels } },
    },
    status: {
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    },
  }, overrides);
}

/**
 * A plausible Job that failed (`default/report-28573920`, created by the
 * CronJob `report`, `Failed=True` with reason `BackoffLimitExceeded`), with
 * `overrides` applied on top (`metadata` is merged, other fields are
 * replaced).
 *
 * @param overrides Fields to replace.
 * @returns A new `V1Job`.
 *
 * @example
 * ```ts
 * import { fakeJob } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const job = fakeJob();
 * const failed = job.status?.conditions?.find((c) => c.type === "Failed");
 * strictEqual(failed?.reason, "BackoffLimitExceeded");
 * ```
 */
export function fakeJob(overrides: Partial<V1Job> = {}): V1Job {
  const labels = {
    "batch.kubernetes.io/controller-uid": JOB.uid,
    "batch.kubernetes.io/job-name": JOB.name,
    "controller-uid": JOB.uid,
    "job-name": JOB.name,
  };
  const failed = {
    status: "True",
    lastProbeTime: TIME,
    lastTransitionTime: TIME,
    reason: "BackoffLimitExceeded",
    message: "Job has reached the specified backoff limit",
  };
  return withOverrides<V1Job>({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: JOB.name,
      namespace: "default",
      uid: JOB.uid,
      resourceVersion: "1003",
      generation: 1,
      creationTimestamp: "2024-05-01T09:56:00Z",
      labels,
      ownerReferences: [{
        apiVersion: "batch/v1",
        kind: "CronJob",
        name: CRON_JOB.name,
        uid: CRON_JOB.uid,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 3,
      completionMode: "NonIndexed",
      suspend: false,
      podReplacementPolicy: "TerminatingOrFailed",
      manualSelector: false,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": JOB.uid } },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: "report",
            image: "example/report:1.0",
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "File",
            imagePullPolicy: "IfNotPresent",
          }],
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          securityContext: {},
          schedulerName: "default-scheduler",
        },
      },
    },
    status: {
      conditions: [{ type: "FailureTarget", ...failed }, { type: "Failed", ...failed }],
      startTime: "2024-05-01T09:56:00Z",
      failed: 4,
      terminating: 0,
      ready: 0,
      uncountedTerminatedPods: {},
    },
  }, overrides);
}

function nodeConditions(overrides: Readonly<Record<string, Partial<V1NodeCondition>>>) {
  const healthy: [string, string, string][] = [
    ["MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
    ["DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
    ["PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
    ["Ready", "KubeletReady", "kubelet is posting ready status"],
  ];
  return healthy.map(([type, reason, message]): V1NodeCondition => ({
    type,
    status: type === "Ready" ? "True" : "False",
    lastHeartbeatTime: TIME,
    lastTransitionTime: "2024-04-02T14:00:00Z",
    reason,
    message,
    ...overrides[type],
  }));
}

/**
 * A plausible Ready node (`node-1`, where {@linkcode fakePod}'s pod runs; no
 * namespace: nodes are cluster-scoped), with `overrides` applied on top
 * (`metadata` is merged, other fields are replaced).
 *
 * @param overrides Fields to replace.
 * @returns A new `V1Node`.
 *
 * @example
 * ```ts
 * import { fakeNode } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const node = fakeNode({ metadata: { name: "node-7" } });
 * strictEqual(node.metadata?.name, "node-7");
 * strictEqual(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
 * ```
 */
export function fakeNode(overrides: Partial<V1Node> = {}): V1Node {
  return withOverrides<V1Node>({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: NODE.name,
      uid: NODE.uid,
      resourceVersion: "1004",
      creationTimestamp: "2024-04-02T14:00:00Z",
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": NODE.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m5.large",
        "topology.kubernetes.io/zone": "eu-west-1a",
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"], providerID: "aws:///i-0abc" },
    status: {
      capacity: { cpu: "2", memory: "7934Mi", pods: "29", "ephemeral-storage": "81106Mi" },
      allocatable: { cpu: "1930m", memory: "7007Mi", pods: "29", "ephemeral-storage": "73665Mi" },
      conditions: nodeConditions({}),
      addresses: [{ type: "InternalIP", address: "10.0.0.11" }, {
        type: "Hostname",
        address: NODE.name,
      }],
      nodeInfo: {
        architecture: "amd64",
        bootID: "7b3e2f1a-0c4d-4e5f-8a9b-1c2d3e4f5a6b",
        containerRuntimeVersion: "containerd://2.0.4",
        kernelVersion: "6.1.132",
        kubeProxyVersion: "",
        kubeletVersion: "v1.33.1",
        machineID: "ec2a1b2c3d4e5f60718293a4b5c6d7e8",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04.2 LTS",
        systemUUID: "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
      },
    },
  }, overrides);
}

function failedPod(reason: string, exitCode: number, waiting: string | undefined): Pod {
  const base = fakePod();
  return fakePod({
    containerStatuses: [{
      name: "app",
      ready: false,
      restartCount: 5,
      image: "example/web:1.0",
      state: waiting === undefined ? {} : { waiting: { reason: waiting, message: null } },
      lastState: {
        terminated: { exitCode, reason, startedAt: base.startTime ?? TIME, finishedAt: TIME },
      },
    }],
  });
}

function waitingPod(reason: string, message: string): Pod {
  return fakePod({
    phase: "Pending",
    containerStatuses: [{
      name: "app",
      ready: false,
      restartCount: 0,
      image: "example/web:1.0",
      state: { waiting: { reason, message } },
      lastState: {},
    }],
  });
}

const MISSING_CONFIG_MAP = 'configmap "web-config" not found';
const LIVENESS_FAILED = "Liveness probe failed: HTTP probe failed with statuscode: 500";

/** The pod an event of `kind` is about by default. */
function defaultPod(kind: EventKind): Pod {
  switch (kind) {
    case "pod.crashLoop":
      return failedPod("Error", 1, "CrashLoopBackOff");
    case "pod.oomKilled":
      return failedPod("OOMKilled", 137, "CrashLoopBackOff");
    case "pod.imagePullBackOff":
      return waitingPod(
        "ImagePullBackOff",
        'Back-off pulling image "example/web:1.0": ErrImagePull: not found',
      );
    case "pod.evicted": {
      const base = fakePod();
      return fakePod({
        phase: "Failed",
        reason: "Evicted",
        message: "The node was low on resource: memory.",
        containerStatuses: base.containerStatuses.map((status) => ({
          ...status,
          ready: false,
          state: {
            terminated: {
              exitCode: 137,
              reason: "ContainerStatusUnknown",
              startedAt: base.startTime ?? TIME,
              finishedAt: TIME,
            },
          },
        })),
      });
    }
    case "pod.pending":
      return fakePod({ node: null, phase: "Pending", containerStatuses: [] });
    case "pod.containerConfigError":
      return waitingPod("CreateContainerConfigError", MISSING_CONFIG_MAP);
    case "pod.probeFailing": {
      const base = fakePod();
      return fakePod({
        containerStatuses: base.containerStatuses.map((status) => ({
          ...status,
          ready: false,
          restartCount: 2,
        })),
      });
    }
    default:
      return fakePod();
  }
}

/** The object an event of `kind` about any kind is about by default. */
function defaultObject(kind: EventKind): TestObject {
  switch (kind) {
    case "job.failed":
      return fakeJob();
    case "node.notReady":
      return fakeNode({
        status: {
          ...fakeNode().status,
          conditions: nodeConditions({
            Ready: {
              status: "Unknown",
              lastTransitionTime: TIME,
              reason: "NodeStatusUnknown",
              message: "Kubelet stopped posting node status.",
            },
          }),
        },
      });
    case "node.pressure":
      return fakeNode({
        status: {
          ...fakeNode().status,
          conditions: nodeConditions({
            MemoryPressure: {
              status: "True",
              lastTransitionTime: TIME,
              reason: "KubeletHasInsufficientMemory",
              message: "kubelet has insufficient memory available",
            },
          }),
        },
      });
    case "deployment.rolloutStuck": {
      const base = fakeDeployment();
      return fakeDeployment({
        metadata: { generation: 3, annotations: { "deployment.kubernetes.io/revision": "3" } },
        status: {
          observedGeneration: 3,
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          unavailableReplicas: 1,
          conditions: [
            ...(base.status?.conditions ?? []).filter((c) => c.type === "Available"),
            {
              type: "Progressing",
              status: "False",
              lastUpdateTime: TIME,
              lastTransitionTime: TIME,
              reason: "ProgressDeadlineExceeded",
              message: 'ReplicaSet "web-7c6b5a4d3" has timed out progressing.',
            },
          ],
        },
      });
    }
    default:
      return fakeDeployment();
  }
}

function subjectOf(object: TestObject): Record<string, unknown> {
  const { namespace, name, uid } = metadataOf(object);
  return {
    kind: object.kind,
    ...(namespace === undefined ? {} : { namespace }),
    name: name ?? "",
    ...(uid === undefined ? {} : { uid }),
  };
}

function warningEvent(
  pod: Pod,
  reason: string,
  message: string,
  fieldPath?: string,
): { k8sEvent: K8sEvent; object: CoreV1Event } {
  const name = `${pod.name}.17c4b9a5e2d3f1a0`;
  const count = 3;
  const k8sEvent: K8sEvent = {
    namespace: pod.namespace,
    name,
    type: "Warning",
    reason,
    message,
    count,
    firstTimestamp: "2024-05-01T09:58:00Z",
    lastTimestamp: TIME,
    involvedObject: { kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid },
  };
  const object: CoreV1Event = {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name,
      namespace: pod.namespace,
      uid: "00000000-0000-4000-8000-000000000007",
      resourceVersion: "1005",
      creationTimestamp: "2024-05-01T09:58:00Z",
    },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      resourceVersion: "1002",
      ...(fieldPath === undefined ? {} : { fieldPath }),
    },
    reason,
    message,
    source: { component: "kubelet", host: pod.node ?? NODE.name },
    firstTimestamp: "2024-05-01T09:58:00Z",
    lastTimestamp: TIME,
    count,
    type: "Warning",
    reportingComponent: "kubelet",
    reportingInstance: pod.node ?? NODE.name,
  };
  return { k8sEvent, object };
}

function baseEvent(
  kind: EventKind,
  pod: Pod,
  given: TestObject | undefined,
): Record<string, unknown> {
  const subject = { kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid };
  const common = { id: `evt-test-${kind}`, kind, time: TIME, subject };
  const container = pod.containers[0]?.name ?? "app";
  const onPod = { ...common, pod, resource: "v1/Pod", object: podObject(pod) };
  const object = given ?? defaultObject(kind);
  const onObject = { ...common, subject: subjectOf(object), resource: keyOf(object), object };
  switch (kind) {
    case "pod.create":
    case "pod.delete":
      return onPod;
    case "pod.update": {
      const before = fakePod({
        ...pod,
        phase: "Pending",
        containerStatuses: pod.containerStatuses.map((status) => ({
          ...status,
          ready: false,
          state: { waiting: { reason: "ContainerCreating", message: null } },
          lastState: {},
        })),
      });
      return {
        ...onPod,
        oldObject: podObject(before, { resourceVersion: "1001" }),
        changes: ["phase"],
      };
    }
    case "pod.crashLoop":
      return { ...onPod, container, reason: "CrashLoopBackOff", restartCount: 5 };
    case "pod.oomKilled":
      return { ...onPod, container, reason: "OOMKilled", restartCount: 5 };
    case "pod.imagePullBackOff":
      return { ...onPod, container, reason: "ImagePullBackOff", restartCount: 0 };
    case "pod.evicted":
      return {
        ...onPod,
        reason: "Evicted",
        message: pod.message ?? "The node was low on resource: memory.",
      };
    case "pod.pending":
      return {
        ...onPod,
        reason: "Unschedulable",
        message: pod.message ?? UNSCHEDULABLE,
      };
    case "pod.containerConfigError":
      return {
        ...onPod,
        container,
        reason: "CreateContainerConfigError",
        message: MISSING_CONFIG_MAP,
      };
    case "pod.probeFailing": {
      const { k8sEvent } = warningEvent(
        pod,
        "Unhealthy",
        LIVENESS_FAILED,
        `spec.containers{${container}}`,
      );
      return {
        ...onPod,
        k8sEvent,
        container,
        probe: "liveness",
        reason: "Unhealthy",
        message: LIVENESS_FAILED,
      };
    }
    case "k8s.warningEvent": {
      const warning = warningEvent(
        pod,
        "BackOff",
        "Back-off restarting failed container",
        `spec.containers{${container}}`,
      );
      return {
        ...common,
        pod,
        k8sEvent: warning.k8sEvent,
        resource: "v1/Event",
        object: warning.object,
      };
    }
    case "k8s.create":
    case "k8s.delete":
      return onObject;
    case "k8s.update": {
      // The state before: one generation back with one replica less (or, for a kind
      // without these, without an annotation), so `changes` names what differs.
      const metadata = metadataOf(object);
      const spec = (object as unknown as Record<string, unknown>)["spec"];
      const replicas = typeof spec === "object" && spec !== null
        ? (spec as { readonly replicas?: unknown }).replicas
        : undefined;
      const changes: string[] = [];
      let before: Record<string, unknown> = { ...object };
      let oldMetadata: V1ObjectMeta = { ...metadata, resourceVersion: "1000" };
      if (metadata.generation !== undefined) {
        oldMetadata = { ...oldMetadata, generation: metadata.generation - 1 };
        changes.push("metadata.generation");
      }
      if (typeof replicas === "number") {
        before = { ...before, spec: { ...(spec as object), replicas: replicas - 1 } };
        changes.push("spec.replicas");
      }
      if (changes.length === 0) {
        oldMetadata = {
          ...oldMetadata,
          annotations: { ...metadata.annotations, "example.com/note": "before" },
        };
        changes.push("metadata.annotations.example.com/note");
      }
      return { ...onObject, oldObject: { ...before, metadata: oldMetadata }, changes };
    }
    case "job.failed":
      return {
        ...onObject,
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      };
    case "node.notReady":
      return {
        ...onObject,
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
      };
    case "node.pressure":
      return {
        ...onObject,
        reason: "MemoryPressure",
        message: "kubelet has insufficient memory available",
      };
    case "deployment.rolloutStuck":
      return {
        ...onObject,
        reason: "ProgressDeadlineExceeded",
        message: 'ReplicaSet "web-7c6b5a4d3" has timed out progressing.',
      };
    case "alert":
      return {
        ...common,
        alert: {
          status: "firing",
          labels: { alertname: "TestAlert", namespace: pod.namespace, pod: pod.name },
          annotations: { summary: "A test alert" },
          startsAt: TIME,
        },
      };
    case "manual":
      return {
        ...common,
        target: { namespace: pod.namespace, pod: pod.name },
        pod,
        requestedBy: "test",
      };
    case "schedule":
      return { ...common, subject: null, schedule: "5m" };
  }
}

const POD_EVENT_KINDS: readonly EventKind[] = [
  "pod.create",
  "pod.update",
  "pod.delete",
  "pod.crashLoop",
  "pod.oomKilled",
  "pod.imagePullBackOff",
  "pod.evicted",
  "pod.pending",
  "pod.containerConfigError",
  "pod.probeFailing",
  "k8s.warningEvent",
];

/**
 * What {@linkcode fakeEvent} takes to replace: any field of the event. The
 * `object` and `oldObject` of the `k8s.create`, `k8s.update` and
 * `k8s.delete` events (typed {@linkcode KubeObject}) take any
 * {@linkcode TestObject}, such as what {@linkcode fakeDeployment} returns.
 *
 * @typeParam K The event kind.
 *
 * @example
 * ```ts
 * import { fakeNode, type FakeEventOverrides } from "./testing.ts";
 *
 * const overrides: FakeEventOverrides<"k8s.delete"> = { object: fakeNode() };
 * ```
 */
export type FakeEventOverrides<K extends EventKind> = {
  readonly [F in keyof EventOf<K>]?: F extends "object" | "oldObject"
    ? KubeObject extends EventOf<K>[F] ? TestObject : EventOf<K>[F]
    : EventOf<K>[F];
};

/**
 * A plausible event of any kind, with `overrides` applied on top. Events
 * about a pod concern `default/web-1` ({@linkcode fakePod}, in a state that
 * fits the kind), with its whole object as `object` ({@linkcode fakePodObject});
 * pass `pod` in `overrides` to change the pod (the subject, target and
 * `object` follow it). Events about other kinds carry `object` and
 * `resource`: `k8s.create` / `k8s.update` / `k8s.delete` and
 * `deployment.rolloutStuck` a Deployment ({@linkcode fakeDeployment}),
 * `job.failed` a Job ({@linkcode fakeJob}), `node.notReady` and
 * `node.pressure` a Node ({@linkcode fakeNode}, subject without namespace);
 * pass `object` in `overrides` to change it (the subject and `resource`
 * follow it).
 *
 * @typeParam K The event kind.
 * @param kind The event kind.
 * @param overrides Fields to replace.
 * @returns A new event of that kind.
 *
 * @example
 * ```ts
 * import { fakeEvent, fakePod } from "./testing.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const event = fakeEvent("pod.oomKilled", { pod: fakePod({ namespace: "shop" }) });
 * strictEqual(event.reason, "OOMKilled");
 * strictEqual(event.subject?.namespace, "shop");
 * strictEqual(event.object.metadata?.namespace, "shop");
 * ```
 *
 * @example An event about another kind
 * ```ts
 * import { fakeDeployment, fakeEvent } from "./testing.ts";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 *
 * const event = fakeEvent("k8s.update", {
 *   object: fakeDeployment({ metadata: { namespace: "shop" } }),
 * });
 * strictEqual(event.resource, "apps/v1/Deployment");
 * deepStrictEqual(event.subject, {
 *   kind: "Deployment",
 *   namespace: "shop",
 *   name: "web",
 *   uid: "00000000-0000-4000-8000-000000000003",
 * });
 * deepStrictEqual(event.changes, ["metadata.generation", "spec.replicas"]);
 * ```
 */
export function fakeEvent<K extends EventKind>(
  kind: K,
  overrides: FakeEventOverrides<K> = {},
): EventOf<K> {
  const override = overrides as Partial<Record<string, unknown>>;
  const pod = (override["pod"] as Pod | undefined) ?? defaultPod(kind);
  const object = POD_EVENT_KINDS.includes(kind)
    ? undefined
    : (override["object"] as TestObject | undefined);
  return { ...baseEvent(kind, pod, object), ...overrides } as unknown as EventOf<K>;
}
