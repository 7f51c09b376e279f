// Reports a crash-looping container together with the logs of its last run
// (the design's example workflow). Also runs by hand against any pod:
//
//   wfhost invoke examples/workflows/crashloop-report.ts --event examples/events/pod-crashloop.json
import { defineWorkflow, NotFoundError, podRefOf, UpstreamError } from "@wfhost/sdk";

export default defineWorkflow({
  name: "crashloop-report",
  description: "Reports a crash-looping container with the last lines of its previous run's logs",
  triggers: [{ on: "pod.crashLoop", namespaces: ["shop"] }, { on: "manual" }],
  capabilities: ["k8s.read", "findings.report"],
  params: {
    tailLines: {
      type: "integer",
      default: 100,
      minimum: 1,
      maximum: 5000,
      description: "Log lines to include",
    },
  },
  async run(ctx, event) {
    const pod = podRefOf(event);
    if (pod === undefined) {
      ctx.log.warn("a %s event names no pod: nothing to report", event.kind);
      return;
    }
    const tailLines = ctx.params.tailLines;
    let logs: string;
    try {
      logs = await ctx.k8s.podLogs(pod, { previous: true, tailLines });
    } catch (error) {
      // A container that never restarted has no previous run: show the current one.
      if (!(error instanceof UpstreamError || error instanceof NotFoundError)) throw error;
      ctx.log.info("no previous logs (%s): reading the current run", error.message);
      logs = await ctx.k8s.podLogs(pod, { tailLines });
    }
    const restarts = event.kind === "pod.crashLoop" ? ` (${event.restartCount} restarts)` : "";
    await ctx.report({
      title: `${pod.name} is crash-looping${restarts}`,
      severity: event.kind === "pod.crashLoop" ? "high" : "medium",
      subject: { namespace: pod.namespace, name: pod.name, kind: "Pod" },
      body: [
        `Last ${tailLines} lines of \`${pod.namespace}/${pod.name}\`` +
        (pod.container === undefined ? ":" : ` container \`${pod.container}\`:`),
        "",
        "```",
        logs.trimEnd(),
        "```",
      ].join("\n"),
    });
  },
});
