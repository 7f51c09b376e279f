// The smallest useful workflow: run it by hand and it reports one finding.
//
//   wfhost invoke examples/workflows/hello.ts --event examples/events/manual.json
import { defineWorkflow } from "@wfhost/sdk";

export default defineWorkflow({
  name: "hello",
  description: "Reports one finding saying hello to the pod it was run against",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    const target = event.kind === "manual"
      ? `${event.target.namespace}/${event.target.pod}`
      : `a ${event.kind} event`;
    ctx.log.info("saying hello to %s", target);
    await ctx.report({
      title: `Hello, ${target}`,
      severity: "info",
      body: `wfhost ran the **hello** workflow for a \`${event.kind}\` event.`,
    });
  },
});
