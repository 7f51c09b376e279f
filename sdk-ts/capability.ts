/**
 * Capabilities: what a workflow declares it needs, and which host methods
 * each one unlocks. The host checks every call against what the workflow
 * declared and what the operator granted; the SDK's own check is a courtesy
 * that fails earlier with a clearer message.
 *
 * @module
 */

/**
 * Every capability a workflow may declare.
 *
 * @example
 * ```ts
 * import { CAPABILITIES } from "./capability.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(CAPABILITIES.includes("k8s.read"));
 * ```
 */
export const CAPABILITIES: readonly [
  "k8s.read",
  "findings.report",
  "debug.processList",
  "debug.pythonProfile",
  "debug.pythonStackTrace",
  "debug.pythonMemory",
  "debug.pythonInspect",
  "debug.pythonDebugger",
] = Object.freeze(
  [
    "k8s.read",
    "findings.report",
    "debug.processList",
    "debug.pythonProfile",
    "debug.pythonStackTrace",
    "debug.pythonMemory",
    "debug.pythonInspect",
    "debug.pythonDebugger",
  ] as const,
);

/**
 * The name of a capability, such as `"k8s.read"`.
 *
 * @example
 * ```ts
 * import type { Capability } from "./capability.ts";
 *
 * const needs: Capability[] = ["k8s.read", "findings.report"];
 * ```
 */
export type Capability = typeof CAPABILITIES[number];

/**
 * Tells whether a value is one of the {@linkcode CAPABILITIES}.
 *
 * @param value Any value.
 * @returns `true` when `value` names a capability.
 *
 * @example
 * ```ts
 * import { isCapability } from "./capability.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(isCapability("debug.pythonProfile"), true);
 * strictEqual(isCapability("k8s.write"), false);
 * ```
 */
export function isCapability(value: unknown): value is Capability {
  return typeof value === "string" && (CAPABILITIES as readonly string[]).includes(value);
}

/**
 * Which capability each guest → host method needs.
 *
 * @example
 * ```ts
 * import { METHOD_CAPABILITY } from "./capability.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(METHOD_CAPABILITY["k8s.podLogs"], "k8s.read");
 * ```
 */
export const METHOD_CAPABILITY: {
  readonly "k8s.getPod": "k8s.read";
  readonly "k8s.listPods": "k8s.read";
  readonly "k8s.podLogs": "k8s.read";
  readonly "k8s.events": "k8s.read";
  readonly "findings.report": "findings.report";
  readonly "debug.processList": "debug.processList";
  readonly "debug.pythonProfile": "debug.pythonProfile";
  readonly "debug.pythonStackTrace": "debug.pythonStackTrace";
  readonly "debug.pythonMemory": "debug.pythonMemory";
  readonly "debug.pythonInspect": "debug.pythonInspect";
  readonly "debug.pythonDebugger": "debug.pythonDebugger";
} = Object.freeze(
  {
    "k8s.getPod": "k8s.read",
    "k8s.listPods": "k8s.read",
    "k8s.podLogs": "k8s.read",
    "k8s.events": "k8s.read",
    "findings.report": "findings.report",
    "debug.processList": "debug.processList",
    "debug.pythonProfile": "debug.pythonProfile",
    "debug.pythonStackTrace": "debug.pythonStackTrace",
    "debug.pythonMemory": "debug.pythonMemory",
    "debug.pythonInspect": "debug.pythonInspect",
    "debug.pythonDebugger": "debug.pythonDebugger",
  } as const satisfies Record<string, Capability>,
);

/**
 * The name of a guest → host request method, such as `"k8s.getPod"`.
 *
 * @example
 * ```ts
 * import type { HostMethod } from "./capability.ts";
 *
 * const method: HostMethod = "findings.report";
 * ```
 */
export type HostMethod = keyof typeof METHOD_CAPABILITY;
