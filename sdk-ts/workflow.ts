/**
 * `defineWorkflow`: how a workflow file declares itself, and `toManifest`,
 * which checks a definition and turns it into the manifest the host reads.
 *
 * @module
 */

import type { Capability } from "./capability.ts";
import type { Context } from "./context.ts";
import { WorkflowDefinitionError } from "./errors.ts";
import type { WorkflowEvent } from "./event.ts";
import type { ParamsOf, ParamSpecs } from "./params.ts";
import type { Manifest } from "./protocol.ts";
import type { KindKey, Trigger } from "./trigger.ts";
import { describe, validateDefinition } from "./_validate.ts";

/**
 * Marks values made by `defineWorkflow`. A registered symbol, so that two
 * copies of the SDK still recognise each other's workflows.
 */
const BRAND: unique symbol = Symbol.for("@wfhost/sdk/workflow");

/**
 * What a workflow file passes to {@linkcode defineWorkflow}.
 *
 * @typeParam P The `params` declaration; `ctx.params` is typed from it.
 *
 * @example
 * ```ts
 * import type { WorkflowDefinition } from "./workflow.ts";
 *
 * const definition: WorkflowDefinition<{ greeting: { type: "string"; default: "hi" } }> = {
 *   name: "greeter",
 *   triggers: [{ on: "manual" }],
 *   capabilities: ["findings.report"],
 *   params: { greeting: { type: "string", default: "hi" } },
 *   async run(ctx) {
 *     await ctx.report({ title: ctx.params.greeting });
 *   },
 * };
 * ```
 */
export interface WorkflowDefinition<P extends ParamSpecs = Record<never, never>> {
  /** A unique name: 1-63 letters, digits, `.`, `_` or `-`. */
  readonly name: string;
  /** What the workflow does, for humans. */
  readonly description?: string;
  /** The events that start the workflow. */
  readonly triggers: readonly Trigger[];
  /** The capabilities the workflow needs; the operator must grant them too. */
  readonly capabilities: readonly Capability[];
  /**
   * The kinds beyond pods and events that `ctx.k8s.get`, `list` and `owners`
   * read, or that change triggers name, as `apiVersion/Kind` (e.g.
   * `"apps/v1/Deployment"`, `"v1/Node"`). The operator must grant them too;
   * Secrets are never readable.
   */
  readonly reads?: readonly KindKey[];
  /** The parameters the workflow takes. */
  readonly params?: P;
  /**
   * Does the work. Throwing fails the invocation (the host records the error).
   * `event` may be of any kind: operators can bind extra triggers in config,
   * so switch on `event.kind` (or use `podRefOf(event)`).
   */
  run(ctx: Context<ParamsOf<P>>, event: WorkflowEvent): Promise<void> | void;
}

/**
 * A frozen workflow definition, as returned by {@linkcode defineWorkflow}.
 * `params` is always present (`{}` when none were declared).
 *
 * @typeParam P The `params` declaration.
 *
 * @example
 * ```ts
 * import { defineWorkflow, type Workflow } from "./workflow.ts";
 *
 * const workflow: Workflow = defineWorkflow({
 *   name: "noop",
 *   triggers: [{ on: "manual" }],
 *   capabilities: [],
 *   run() {},
 * });
 * ```
 */
export interface Workflow<P extends ParamSpecs = ParamSpecs> {
  /** The workflow's name. */
  readonly name: string;
  /** What the workflow does. */
  readonly description?: string;
  /** The events that start it. */
  readonly triggers: readonly Trigger[];
  /** The capabilities it declares. */
  readonly capabilities: readonly Capability[];
  /** The kinds it reads beyond pods and events. */
  readonly reads?: readonly KindKey[];
  /** Its parameter specs. */
  readonly params: P;
  /** Does the work. */
  run(ctx: Context<ParamsOf<P>>, event: WorkflowEvent): Promise<void> | void;
}

function freezeCopy(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(freezeCopy));
  if (
    typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
  ) {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) copy[key] = freezeCopy(field);
    return Object.freeze(copy);
  }
  return value;
}

/**
 * Declares a workflow: the default export of a workflow file. Returns a frozen
 * copy; the definition is checked when the host loads it (and by
 * {@linkcode toManifest}), so a mistake is reported with every problem at
 * once instead of throwing here.
 *
 * @typeParam P The `params` declaration (inferred): `ctx.params` is typed from it.
 * @param definition The workflow's name, triggers, capabilities, params and `run`.
 * @returns The frozen, branded workflow.
 *
 * @example A workflow with a typed parameter
 * ```ts
 * import { defineWorkflow } from "./workflow.ts";
 * import { podRefOf } from "./event.ts";
 *
 * export default defineWorkflow({
 *   name: "crashloop-report",
 *   triggers: [{ on: "pod.crashLoop", namespaces: ["shop"] }, { on: "manual" }],
 *   capabilities: ["k8s.read", "findings.report"],
 *   params: { tailLines: { type: "number", default: 100 } },
 *   async run(ctx, event) {
 *     const pod = podRefOf(event);
 *     if (pod === undefined) return;
 *     const tailLines: number = ctx.params.tailLines;
 *     const logs = await ctx.k8s.podLogs(pod, { previous: true, tailLines });
 *     await ctx.report({ title: `${pod.name} is crash-looping`, severity: "high", body: logs });
 *   },
 * });
 * ```
 */
export function defineWorkflow<const P extends ParamSpecs = Record<never, never>>(
  definition: WorkflowDefinition<P>,
): Workflow<P> {
  const copy: Record<string | symbol, unknown> = {};
  if (typeof definition === "object" && definition !== null) {
    for (const [key, field] of Object.entries(definition)) copy[key] = freezeCopy(field);
  }
  if (copy["params"] === undefined) copy["params"] = Object.freeze({});
  Object.defineProperty(copy, BRAND, { value: 1, enumerable: false });
  return Object.freeze(copy) as unknown as Workflow<P>;
}

/**
 * Tells whether a value was made by {@linkcode defineWorkflow} (it may still
 * be invalid: see {@linkcode toManifest}).
 *
 * @param value Any value, e.g. a module's default export.
 * @returns `true` for a `defineWorkflow` result.
 *
 * @example
 * ```ts
 * import { defineWorkflow, isWorkflow } from "./workflow.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   name: "noop",
 *   triggers: [{ on: "manual" }],
 *   capabilities: [],
 *   run() {},
 * });
 * strictEqual(isWorkflow(workflow), true);
 * strictEqual(isWorkflow({ name: "noop" }), false);
 * ```
 */
export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === 1;
}

function isModuleNamespace(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null &&
    Object.prototype.toString.call(value) === "[object Module]";
}

const HOW_TO = "write `export default defineWorkflow({ name, triggers, capabilities, run })`";

/**
 * Checks a workflow and returns its manifest (what the guest answers
 * `initialize` with). Accepts a `defineWorkflow` result or a module
 * namespace whose default export is one.
 *
 * @param value A workflow, or a workflow module's namespace object.
 * @returns The manifest: name, description, triggers, capabilities and params.
 * @throws {WorkflowDefinitionError} Listing every problem when `value` is not a valid workflow.
 *
 * @example Check a workflow in a unit test
 * ```ts
 * import { defineWorkflow, toManifest } from "./workflow.ts";
 * import { WorkflowDefinitionError } from "./errors.ts";
 * import { strictEqual, throws } from "node:assert/strict";
 *
 * const good = defineWorkflow({
 *   name: "hello",
 *   triggers: [{ on: "manual" }],
 *   capabilities: ["findings.report"],
 *   run() {},
 * });
 * strictEqual(toManifest(good).name, "hello");
 *
 * const bad = defineWorkflow({
 *   name: "not a valid name!",
 *   triggers: [{ on: "manual" }],
 *   capabilities: [],
 *   run() {},
 * });
 * throws(() => toManifest(bad), WorkflowDefinitionError);
 * ```
 */
export function toManifest(value: unknown): Manifest {
  let candidate = value;
  if (isModuleNamespace(candidate)) {
    if (!("default" in candidate)) {
      throw new WorkflowDefinitionError([`The workflow module has no default export: ${HOW_TO}`]);
    }
    candidate = candidate["default"];
  }
  if (!isWorkflow(candidate)) {
    const what = typeof candidate === "object" && candidate !== null && !Array.isArray(candidate)
      ? "a plain object"
      : describe(candidate);
    throw new WorkflowDefinitionError([
      `The default export is ${what}, not the result of defineWorkflow(): ${HOW_TO}`,
    ]);
  }
  const result = validateDefinition(candidate as unknown as Record<string, unknown>);
  if (!result.ok) throw new WorkflowDefinitionError(result.problems);
  return result.manifest;
}

/**
 * The workflow inside a value accepted by {@linkcode toManifest}: the value
 * itself, or a module namespace's default export.
 *
 * @param value A workflow, or a workflow module's namespace object.
 * @returns The workflow and its manifest.
 * @throws {WorkflowDefinitionError} When `value` is not a valid workflow.
 *
 * @example
 * ```ts
 * import { defineWorkflow, resolveWorkflow } from "./workflow.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({ name: "a", triggers: [{ on: "manual" }], capabilities: [], run() {} });
 * strictEqual(resolveWorkflow(workflow).workflow, workflow);
 * ```
 */
export function resolveWorkflow(value: unknown): { workflow: Workflow; manifest: Manifest } {
  const manifest = toManifest(value);
  const workflow = (isModuleNamespace(value) ? value["default"] : value) as Workflow;
  return { workflow, manifest };
}
