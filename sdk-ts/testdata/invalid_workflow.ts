// A workflow whose definition has several mistakes, for runtime_test.ts.
import { defineWorkflow } from "@wfhost/sdk";

const definition = {
  name: "bad name!",
  triggers: [{ on: "pod.crashloop" }, { on: "schedule" }],
  capabilities: ["k8s.raed"],
  params: { lines: { type: "number", default: "ten" } },
  run() {},
};

export default defineWorkflow(definition as never);
