/**
 * Capabilities: what a workflow declares it needs, and which host methods
 * each one unlocks. The host checks every call against what the workflow
 * declared and what the operator granted; the SDK's own check is a courtesy
 * that fails earlier with a clearer message.
 *
 * @module
 */

import { CAPABILITIES, METHOD_CAPABILITY } from "./_vocabulary.ts";

// Generated from host/model/vocabulary.py with their documentation (see _vocabulary.ts).
export { CAPABILITIES, METHOD_CAPABILITY };

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
