import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { WorkflowDefinitionError } from "./errors.ts";
import { defineWorkflow, isWorkflow, resolveWorkflow, toManifest } from "./workflow.ts";

const run = () => {};

Deno.test("returns a frozen copy, deeply, that leaves the caller's objects alone", () => {
  const triggers = [{ on: "pod.crashLoop" as const, namespaces: ["shop"] }];
  const workflow = defineWorkflow({ name: "w", triggers, capabilities: ["k8s.read"], run });
  ok(Object.isFrozen(workflow));
  ok(Object.isFrozen(workflow.triggers));
  ok(Object.isFrozen(workflow.triggers[0]));
  ok(Object.isFrozen(workflow.triggers[0]?.namespaces));
  ok(!Object.isFrozen(triggers));
  triggers[0]?.namespaces.push("other");
  deepStrictEqual(workflow.triggers[0]?.namespaces, ["shop"]);
  strictEqual(workflow.run, run);
});

Deno.test("brands its results so plain objects and copies are told apart", () => {
  const workflow = defineWorkflow({
    name: "w",
    triggers: [{ on: "manual" }],
    capabilities: [],
    run,
  });
  strictEqual(isWorkflow(workflow), true);
  strictEqual(isWorkflow({ ...workflow }), false);
  strictEqual(isWorkflow(null), false);
  deepStrictEqual(Object.keys(workflow), ["name", "triggers", "capabilities", "run", "params"]);
});

Deno.test("builds the manifest with only the declared fields", () => {
  const workflow = defineWorkflow({
    name: "crashloop-report",
    description: "Tails the logs of crash-looping pods",
    triggers: [{ on: "pod.crashLoop", namespaces: ["shop"], labelSelector: "app=web" }, {
      on: "manual",
    }],
    capabilities: ["k8s.read", "findings.report"],
    params: { tailLines: { type: "number", default: 100, description: "Lines", minimum: 1 } },
    run,
  });
  deepStrictEqual(toManifest(workflow), {
    name: "crashloop-report",
    description: "Tails the logs of crash-looping pods",
    triggers: [{ on: "pod.crashLoop", namespaces: ["shop"], labelSelector: "app=web" }, {
      on: "manual",
    }],
    capabilities: ["k8s.read", "findings.report"],
    params: { tailLines: { type: "number", default: 100, description: "Lines", minimum: 1 } },
  });
  strictEqual(JSON.stringify(toManifest(workflow)).includes("run"), false);
});

Deno.test("takes the default export out of a module namespace", async () => {
  const namespace = await import("./testdata/echo_workflow.ts");
  strictEqual(toManifest(namespace).name, "echo");
  strictEqual(resolveWorkflow(namespace).workflow, namespace.default);
});

Deno.test("says what the default export is when it is not a workflow", async () => {
  const cases: [unknown, string][] = [
    [undefined, "The default export is undefined, not the result of defineWorkflow()"],
    [() => {}, "The default export is a function, not the result of defineWorkflow()"],
    [
      { name: "x", run },
      "The default export is a plain object, not the result of defineWorkflow()",
    ],
    [[1], "The default export is an array, not the result of defineWorkflow()"],
    [
      await import("./testdata/no_default_workflow.ts"),
      "The workflow module has no default export",
    ],
  ];
  for (const [value, expected] of cases) {
    throws(
      () => toManifest(value),
      (error: unknown) =>
        error instanceof WorkflowDefinitionError &&
        error.problems[0]?.startsWith(expected) === true,
      expected,
    );
  }
});

Deno.test("refuses an invalid definition with every problem", () => {
  const workflow = defineWorkflow({ name: "", triggers: [], capabilities: [], run } as never);
  throws(() => toManifest(workflow), (error: unknown) => {
    ok(error instanceof WorkflowDefinitionError);
    strictEqual(error.problems.length, 2);
    ok(error.problems[0]?.startsWith("name: "));
    ok(error.problems[1]?.startsWith("triggers: must be a non-empty array"));
    return true;
  });
});

Deno.test("keeps the kinds a workflow reads, frozen, and puts them in its manifest", () => {
  const reads = ["apps/v1/Deployment" as const, "apps/v1/ReplicaSet" as const];
  const workflow = defineWorkflow({
    name: "rollout-watch",
    triggers: [{ on: "k8s.update", resource: "apps/v1/Deployment" }],
    capabilities: ["k8s.read"],
    reads,
    run,
  });
  ok(Object.isFrozen(workflow.reads));
  reads.push("apps/v1/ReplicaSet");
  deepStrictEqual(workflow.reads, ["apps/v1/Deployment", "apps/v1/ReplicaSet"]);
  deepStrictEqual(toManifest(workflow), {
    name: "rollout-watch",
    triggers: [{ on: "k8s.update", resource: "apps/v1/Deployment" }],
    capabilities: ["k8s.read"],
    reads: ["apps/v1/Deployment", "apps/v1/ReplicaSet"],
    params: {},
  });
});

Deno.test("refuses bad reads and change triggers, naming each", () => {
  const workflow = defineWorkflow({
    name: "w",
    triggers: [
      // @ts-expect-error: a change trigger needs its resource
      { on: "k8s.update" },
      // @ts-expect-error: only change triggers take a resource
      { on: "pod.crashLoop", resource: "v1/Pod" },
    ],
    capabilities: ["k8s.read"],
    // @ts-expect-error: a kind is apiVersion/Kind
    reads: ["deployments", "v1/Secret", "v1/Node", "v1/Node"],
    run,
  });
  throws(() => toManifest(workflow), (error: unknown) => {
    ok(error instanceof WorkflowDefinitionError);
    deepStrictEqual(error.problems, [
      'triggers[0].resource: k8s.update needs the kind as apiVersion/Kind, such as "apps/v1/Deployment", got undefined',
      "triggers[1].resource: only allowed when on is k8s.create, k8s.update or k8s.delete",
      'reads[0]: "deployments" is not a kind: write apiVersion/Kind, such as "apps/v1/Deployment" or "v1/Node"',
      "reads[1]: Secrets are never readable by workflows",
      'reads[3]: "v1/Node" is listed twice',
    ]);
    return true;
  });
});
