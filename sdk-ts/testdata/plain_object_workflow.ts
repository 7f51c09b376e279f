// A default export that forgot defineWorkflow(), for runtime_test.ts.
export default {
  name: "plain",
  triggers: [{ on: "manual" }],
  capabilities: [],
  run() {},
};
