// A workflow file that does not parse, for runtime_test.ts.
import { defineWorkflow } from "@wfhost/sdk";

export default defineWorkflow({
  name: "broken",
