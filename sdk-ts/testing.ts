/**
 * Helpers to unit-test a workflow with `deno test`, without a host: a `ctx`
 * whose host calls are answered by canned responses and recorded, and
 * builders for pods and events.
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
  InvocationNotActiveError,
} from "./errors.ts";
import type { EventKind, EventOf, Pod, WorkflowEvent } from "./event.ts";
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
  | HostMethods[M]["result"]
  | Error
  | ((
    params: HostMethods[M]["params"],
  ) => HostMethods[M]["result"] | Promise<HostMethods[M]["result"]>);

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
 * Options of {@linkcode createTestContext} and {@linkcode runWorkflow}.
 *
 * @example
 * ```ts
 * import type { TestContextOptions } from "./testing.ts";
 *
 * const options: TestContextOptions = {
 *   responses: { "k8s.listPods": { items: [] } },
 *   granted: ["k8s.read"],
 * };
 * ```
 */
export interface TestContextOptions {
  /** Canned answers to host calls. */
  readonly responses?: TestResponses;
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
    const response = responses[method];
    let result: unknown;
    if (response instanceof Error) throw response;
    else if (typeof response === "function") result = await response(wire);
    else if (response !== undefined) result = response;
    else if (method === "findings.report") result = { id: `f-${findingCount + 1}` };
    else {
      throw new HostError(
        `No test response for ${method}: pass responses["${method}"] to createTestContext`,
        {
          method,
        },
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

function baseEvent(kind: EventKind, pod: Pod): Record<string, unknown> {
  const subject = { kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid };
  const common = { id: `evt-test-${kind}`, kind, time: TIME, subject };
  const container = pod.containers[0]?.name ?? "app";
  switch (kind) {
    case "pod.create":
    case "pod.delete":
      return { ...common, pod };
    case "pod.update":
      return { ...common, pod, changes: ["phase"] };
    case "pod.crashLoop":
      return { ...common, pod, container, reason: "CrashLoopBackOff", restartCount: 5 };
    case "pod.oomKilled":
      return { ...common, pod, container, reason: "OOMKilled", restartCount: 5 };
    case "pod.imagePullBackOff":
      return { ...common, pod, container, reason: "ImagePullBackOff", restartCount: 0 };
    case "pod.evicted":
      return {
        ...common,
        pod,
        reason: "Evicted",
        message: "The node was low on resource: memory.",
      };
    case "k8s.warningEvent":
      return {
        ...common,
        pod,
        k8sEvent: {
          namespace: pod.namespace,
          name: `${pod.name}.test`,
          type: "Warning",
          reason: "BackOff",
          message: "Back-off restarting failed container",
          count: 3,
          firstTimestamp: TIME,
          lastTimestamp: TIME,
          involvedObject: subject,
        },
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

/**
 * A plausible event of any kind about `default/web-1`, with `overrides`
 * applied on top. Pass `pod` in `overrides` to change the pod (the subject
 * and target follow it).
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
 * ```
 */
export function fakeEvent<K extends EventKind>(
  kind: K,
  overrides: Partial<EventOf<K>> = {},
): EventOf<K> {
  const override = overrides as Partial<Record<string, unknown>>;
  const given = override["pod"] as Pod | undefined;
  const defaultPod = kind === "pod.crashLoop"
    ? failedPod("Error", 1, "CrashLoopBackOff")
    : kind === "pod.oomKilled"
    ? failedPod("OOMKilled", 137, "CrashLoopBackOff")
    : kind === "pod.imagePullBackOff"
    ? fakePod({ phase: "Pending" })
    : kind === "pod.evicted"
    ? fakePod({ phase: "Failed", reason: "Evicted" })
    : fakePod();
  return { ...baseEvent(kind, given ?? defaultPod), ...overrides } as unknown as EventOf<K>;
}
