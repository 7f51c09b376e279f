// A workflow module that throws while it is evaluated, for runtime_test.ts.
import { defineWorkflow } from "@wfhost/sdk";

const settings = JSON.parse("{ not json");

export default defineWorkflow({
  name: "never-defined",
  triggers: [{ on: "manual" }],
  capabilities: [],
  run() {
    return settings;
  },
});
