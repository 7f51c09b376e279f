/**
 * The wfhost workflow SDK. A workflow file imports it as `@wfhost/sdk` and
 * default-exports a {@linkcode defineWorkflow} result:
 *
 * ```ts
 * import { defineWorkflow } from "./mod.ts";
 *
 * export default defineWorkflow({
 *   name: "hello",
 *   triggers: [{ on: "manual" }],
 *   capabilities: ["findings.report"],
 *   async run(ctx, event) {
 *     await ctx.report({ title: `Hello from ${event.kind}` });
 *   },
 * });
 * ```
 *
 * `@wfhost/sdk/testing` helps unit-test workflows; `@wfhost/sdk/runtime` is
 * the guest runtime the host starts (workflows never import it).
 *
 * @module
 */

export * from "./capability.ts";
export * from "./context.ts";
export * from "./debug/mod.ts";
export * from "./errors.ts";
export * from "./event.ts";
export * from "./finding.ts";
export * from "./k8s.ts";
export * from "./k8s_types.ts";
export * from "./params.ts";
export * from "./protocol.ts";
export * from "./trigger.ts";
export * from "./workflow.ts";
