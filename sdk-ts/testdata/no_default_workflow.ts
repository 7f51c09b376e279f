// A module with no default export, for runtime_test.ts.
import { defineWorkflow } from "@wfhost/sdk";

export const workflow = defineWorkflow({
  name: "named-export",
  triggers: [{ on: "manual" }],
  capabilities: [],
  run() {},
});
