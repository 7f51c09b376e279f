import { deepStrictEqual, ok } from "node:assert/strict";
import { validateDefinition } from "./_validate.ts";

const run = () => {};
const valid = { name: "w", triggers: [{ on: "manual" }], capabilities: [], run };

function problemsOf(overrides: Record<string, unknown>): readonly string[] {
  const result = validateDefinition({ ...valid, ...overrides });
  return result.ok ? [] : result.problems;
}

Deno.test("accepts a minimal definition, with empty params", () => {
  deepStrictEqual(validateDefinition(valid), {
    ok: true,
    manifest: { name: "w", triggers: [{ on: "manual" }], capabilities: [], params: {} },
  });
});

Deno.test("names an unknown key and suggests the one meant", () => {
  deepStrictEqual(problemsOf({ trigger: [] }), [
    'Unknown key "trigger" (did you mean "triggers"?)',
  ]);
  deepStrictEqual(problemsOf({ zzz: 1 }), ['Unknown key "zzz"']);
});

Deno.test("checks the name's characters and length", () => {
  for (const name of ["a", "crashloop-report", "team.a_b-1", "x".repeat(63)]) {
    deepStrictEqual(problemsOf({ name }), []);
  }
  for (const name of ["", "-a", "a-", "a b", "x".repeat(64), 7, undefined]) {
    ok(problemsOf({ name })[0]?.startsWith("name: must be 1-63 letters"), String(name));
  }
});

Deno.test("checks each trigger's kind, filters and schedule", () => {
  deepStrictEqual(problemsOf({ triggers: [{ on: "Manual" }] }), [
    'triggers[0].on: "Manual" is not an event kind (did you mean "manual"?)',
  ]);
  deepStrictEqual(problemsOf({ triggers: [{ on: "manual", namespace: ["a"] }] }), [
    'triggers[0]: unknown key "namespace" (did you mean "namespaces"?)',
  ]);
  deepStrictEqual(
    problemsOf({ triggers: [{ on: "manual", namespaces: "shop", labelSelector: "" }] }),
    [
      'triggers[0].namespaces: must be an array of non-empty strings, got "shop"',
      'triggers[0].labelSelector: must be a non-empty string, got ""',
    ],
  );
  deepStrictEqual(
    problemsOf({ triggers: [{ on: "schedule", schedule: "0m" }, { on: "schedule" }] }),
    [
      'triggers[0].schedule: must be a positive interval such as "5m" or "1h30m", got "0m"',
      'triggers[1].schedule: must be a positive interval such as "5m" or "1h30m", got undefined',
    ],
  );
  deepStrictEqual(problemsOf({ triggers: [{ on: "manual", schedule: "5m" }] }), [
    'triggers[0].schedule: only allowed when on is "schedule"',
  ]);
  deepStrictEqual(problemsOf({ triggers: ["manual"] }), [
    'triggers[0]: must be an object such as { on: "manual" }, got "manual"',
  ]);
});

Deno.test("checks capabilities are known and listed once", () => {
  deepStrictEqual(problemsOf({ capabilities: ["k8s.read", "debug.pyspy", "k8s.read"] }), [
    'capabilities[1]: "debug.pyspy" is not a capability',
    'capabilities[2]: "k8s.read" is listed twice',
  ]);
  deepStrictEqual(problemsOf({ capabilities: "k8s.read" }), [
    'capabilities: must be an array such as ["k8s.read"], got "k8s.read"',
  ]);
});

Deno.test("checks every param spec against its type", () => {
  deepStrictEqual(
    problemsOf({
      params: {
        "bad name": { type: "string" },
        a: { type: "float" },
        b: { type: "integer", default: 1.5 },
        c: { type: "number", minimum: 10, maximum: 1, default: 20 },
        d: { type: "string", enum: ["x", 1], default: "y" },
        e: { type: "boolean", enum: [true], minimum: 0 },
        f: { type: "string", desc: "typo" },
        g: "string",
      },
    }),
    [
      'params.bad name: a param name must be an identifier (letters, digits, "_")',
      'params.a.type: "float" is not one of string, number, integer, boolean',
      "params.b.default: must be an integer, got 1.5",
      "params.c: minimum 10 is greater than maximum 1",
      "params.c.default: 20 is above the maximum 1",
      "params.d.enum[1]: must be a string, got 1",
      'params.d.default: "y" is not one of the enum values',
      "params.e.minimum: only allowed for number and integer params",
      "params.e.enum: not allowed for boolean params",
      'params.f: unknown key "desc"',
      'params.g: must be an object such as { type: "string" }, got "string"',
    ],
  );
});

Deno.test("checks that run is a function", () => {
  deepStrictEqual(problemsOf({ run: "go" }), [
    'run: must be a function (ctx, event) => Promise<void>, got "go"',
  ]);
});

Deno.test("puts the declared reads in the manifest, and leaves them out when none", () => {
  deepStrictEqual(
    validateDefinition({
      ...valid,
      reads: ["apps/v1/Deployment", "v1/Node", "example.com/v1/Widget"],
    }),
    {
      ok: true,
      manifest: {
        name: "w",
        triggers: [{ on: "manual" }],
        capabilities: [],
        params: {},
        reads: ["apps/v1/Deployment", "v1/Node", "example.com/v1/Widget"],
      },
    },
  );
  const none = validateDefinition({ ...valid, reads: [] });
  ok(none.ok && !("reads" in none.manifest));
});

Deno.test("checks each read is a kind, not a Secret, and listed once", () => {
  deepStrictEqual(
    problemsOf({
      reads: [
        "deployments",
        "apps/v1/Deployment",
        "v1/Secret",
        "apps/v1/Deployment",
        "apps/Deployment",
        7,
      ],
    }),
    [
      'reads[0]: "deployments" is not a kind: write apiVersion/Kind, such as "apps/v1/Deployment" or "v1/Node"',
      "reads[2]: Secrets are never readable by workflows",
      'reads[3]: "apps/v1/Deployment" is listed twice',
      'reads[4]: "apps/Deployment" is not a kind: write apiVersion/Kind, such as "apps/v1/Deployment" or "v1/Node"',
      'reads[5]: 7 is not a kind: write apiVersion/Kind, such as "apps/v1/Deployment" or "v1/Node"',
    ],
  );
  deepStrictEqual(problemsOf({ reads: "apps/v1/Deployment" }), [
    'reads: must be an array such as ["apps/v1/Deployment"], got "apps/v1/Deployment"',
  ]);
});

Deno.test("checks that change triggers name their kind, and only they do", () => {
  const trigger = { on: "k8s.update", resource: "apps/v1/Deployment", namespaces: ["shop"] };
  const result = validateDefinition({
    ...valid,
    triggers: [trigger],
    reads: ["apps/v1/Deployment"],
  });
  ok(result.ok);
  deepStrictEqual(result.manifest.triggers, [trigger]);
  deepStrictEqual(
    problemsOf({
      triggers: [
        { on: "k8s.update" },
        { on: "k8s.create", resource: "deployments" },
        { on: "k8s.delete", resource: "v1/Pod" },
        { on: "pod.crashLoop", resource: "v1/Pod" },
        { on: "schedule", schedule: "5m", resource: "v1/Pod" },
      ],
    }),
    [
      'triggers[0].resource: k8s.update needs the kind as apiVersion/Kind, such as "apps/v1/Deployment", got undefined',
      'triggers[1].resource: k8s.create needs the kind as apiVersion/Kind, such as "apps/v1/Deployment", got "deployments"',
      "triggers[3].resource: only allowed when on is k8s.create, k8s.update or k8s.delete",
      "triggers[4].resource: only allowed when on is k8s.create, k8s.update or k8s.delete",
    ],
  );
});
