/**
 * Workflow parameters: the specs a workflow declares, and the type of
 * `ctx.params` derived from them. The host merges values (manifest defaults <
 * config < per-call overrides) and validates them before `run`.
 *
 * @module
 */

/**
 * The value types a parameter can have.
 *
 * @example
 * ```ts
 * import { PARAM_TYPES } from "./params.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual([...PARAM_TYPES], ["string", "number", "integer", "boolean"]);
 * ```
 */
export const PARAM_TYPES: readonly ["string", "number", "integer", "boolean"] = Object.freeze(
  ["string", "number", "integer", "boolean"] as const,
);

/**
 * One of {@linkcode PARAM_TYPES}.
 *
 * @example
 * ```ts
 * import type { ParamType } from "./params.ts";
 *
 * const type: ParamType = "integer";
 * ```
 */
export type ParamType = typeof PARAM_TYPES[number];

/**
 * A string parameter, optionally restricted to `enum`.
 *
 * @example
 * ```ts
 * import type { StringParamSpec } from "./params.ts";
 *
 * const mode: StringParamSpec = { type: "string", enum: ["cpu", "wall"], default: "cpu" };
 * ```
 */
export interface StringParamSpec {
  /** The value type. */
  readonly type: "string";
  /** Used when neither config nor the caller sets a value. */
  readonly default?: string;
  /** Shown by tooling. */
  readonly description?: string;
  /** The only values allowed. */
  readonly enum?: readonly string[];
}

/**
 * A number parameter (`integer` allows whole numbers only).
 *
 * @example
 * ```ts
 * import type { NumberParamSpec } from "./params.ts";
 *
 * const tail: NumberParamSpec = { type: "integer", default: 100, minimum: 1, maximum: 10000 };
 * ```
 */
export interface NumberParamSpec {
  /** The value type. */
  readonly type: "number" | "integer";
  /** Used when neither config nor the caller sets a value. */
  readonly default?: number;
  /** Shown by tooling. */
  readonly description?: string;
  /** The only values allowed. */
  readonly enum?: readonly number[];
  /** The smallest value allowed. */
  readonly minimum?: number;
  /** The largest value allowed. */
  readonly maximum?: number;
}

/**
 * A boolean parameter.
 *
 * @example
 * ```ts
 * import type { BooleanParamSpec } from "./params.ts";
 *
 * const idle: BooleanParamSpec = { type: "boolean", default: false };
 * ```
 */
export interface BooleanParamSpec {
  /** The value type. */
  readonly type: "boolean";
  /** Used when neither config nor the caller sets a value. */
  readonly default?: boolean;
  /** Shown by tooling. */
  readonly description?: string;
}

/**
 * The declaration of one parameter.
 *
 * @example
 * ```ts
 * import type { ParamSpec } from "./params.ts";
 *
 * const spec: ParamSpec = { type: "number", default: 100, description: "Log lines to read" };
 * ```
 */
export type ParamSpec = StringParamSpec | NumberParamSpec | BooleanParamSpec;

/**
 * A workflow's `params` declaration: parameter name → spec.
 *
 * @example
 * ```ts
 * import type { ParamSpecs } from "./params.ts";
 *
 * const params: ParamSpecs = {
 *   tailLines: { type: "number", default: 100 },
 *   previous: { type: "boolean" },
 * };
 * ```
 */
export type ParamSpecs = { readonly [name: string]: ParamSpec };

/**
 * The value type of one parameter spec: its `enum` members when it declares
 * them, else `string`, `number` or `boolean`.
 *
 * @typeParam S The parameter's spec.
 *
 * @example
 * ```ts
 * import type { ParamValue } from "./params.ts";
 *
 * const mode: ParamValue<{ type: "string"; enum: readonly ["cpu", "wall"] }> = "wall";
 * const lines: ParamValue<{ type: "integer" }> = 10;
 * ```
 */
export type ParamValue<S extends ParamSpec> = S extends { readonly enum: readonly (infer E)[] } ? E
  : S extends { readonly type: "string" } ? string
  : S extends { readonly type: "boolean" } ? boolean
  : number;

/**
 * The type of `ctx.params` for a `params` declaration: a parameter with a
 * `default` is always present; one without may be absent.
 *
 * @typeParam P The workflow's `params` declaration.
 *
 * @example
 * ```ts
 * import type { ParamsOf } from "./params.ts";
 *
 * type Params = ParamsOf<{
 *   tailLines: { type: "number"; default: 100 };
 *   container: { type: "string" };
 * }>;
 * const params: Params = { tailLines: 100 };
 * const lines: number = params.tailLines;
 * const container: string | undefined = params.container;
 * ```
 */
export type ParamsOf<P extends ParamSpecs> = (
  & {
    readonly [K in keyof P as P[K] extends { readonly default: unknown } ? K : never]: ParamValue<
      P[K]
    >;
  }
  & {
    readonly [K in keyof P as P[K] extends { readonly default: unknown } ? never : K]?: ParamValue<
      P[K]
    >;
  }
) extends infer O ? { [K in keyof O]: O[K] } : never;

/**
 * The default value of every parameter that declares one.
 *
 * @param specs A `params` declaration.
 * @returns A new object mapping each parameter with a `default` to it.
 *
 * @example
 * ```ts
 * import { paramDefaults } from "./params.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(
 *   paramDefaults({ tailLines: { type: "number", default: 100 }, pod: { type: "string" } }),
 *   { tailLines: 100 },
 * );
 * ```
 */
export function paramDefaults(specs: ParamSpecs): Record<string, string | number | boolean> {
  const defaults: Record<string, string | number | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.default !== undefined) defaults[name] = spec.default;
  }
  return defaults;
}
