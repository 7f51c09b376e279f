import { deepStrictEqual } from "node:assert/strict";
import { paramDefaults, type ParamsOf, type ParamValue } from "./params.ts";
import { defineWorkflow } from "./workflow.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

Deno.test("collects the defaults of the params that declare one", () => {
  deepStrictEqual(
    paramDefaults({
      tailLines: { type: "integer", default: 100 },
      previous: { type: "boolean", default: false },
      mode: { type: "string", enum: ["cpu", "wall"] },
    }),
    { tailLines: 100, previous: false },
  );
});

Deno.test("types each param from its spec, optional unless it has a default", () => {
  type Params = ParamsOf<{
    readonly tailLines: { readonly type: "number"; readonly default: 100 };
    readonly count: { readonly type: "integer" };
    readonly previous: { readonly type: "boolean"; readonly default: true };
    readonly container: { readonly type: "string" };
    readonly mode: {
      readonly type: "string";
      readonly enum: readonly ["cpu", "wall"];
      readonly default: "cpu";
    };
  }>;
  assertType<
    IsExact<Params, {
      readonly tailLines: number;
      readonly previous: boolean;
      readonly mode: "cpu" | "wall";
      readonly count?: number;
      readonly container?: string;
    }>
  >(true);
  assertType<IsExact<ParamValue<{ type: "integer"; enum: readonly [1, 2] }>, 1 | 2>>(true);
});

Deno.test("infers ctx.params in run from the params declaration", () => {
  const workflow = defineWorkflow({
    name: "typed",
    triggers: [{ on: "manual" }],
    capabilities: [],
    params: {
      tailLines: { type: "number", default: 100 },
      mode: { type: "string", enum: ["a", "b"] },
    },
    run(ctx) {
      assertType<IsExact<typeof ctx.params.tailLines, number>>(true);
      assertType<IsExact<typeof ctx.params.mode, "a" | "b" | undefined>>(true);
      // @ts-expect-error: undeclared params do not exist
      ctx.params.tailLine;
    },
  });
  deepStrictEqual(Object.keys(workflow.params), ["tailLines", "mode"]);
});

Deno.test("types ctx.params as empty when no params are declared", () => {
  defineWorkflow({
    name: "no-params",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run(ctx) {
      // @ts-expect-error: no params were declared
      ctx.params.anything;
    },
  });
});
