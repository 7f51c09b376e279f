// Lists the containers of a namespace that restarted at least `minRestarts`
// times, as a table. Its params are set in config, or per run:
//
//   wfhost invoke examples/workflows/pod-restarts.ts --event examples/events/schedule.json \
//     --param namespace=shop --param minRestarts=1
import { defineWorkflow } from "@wfhost/sdk";

export default defineWorkflow({
  name: "pod-restarts",
  description: "Reports the containers of a namespace that keep restarting",
  triggers: [{ on: "schedule", schedule: "10m" }, { on: "manual" }],
  capabilities: ["k8s.read", "findings.report"],
  params: {
    namespace: { type: "string", default: "default", description: "Namespace to scan" },
    minRestarts: {
      type: "integer",
      default: 3,
      minimum: 1,
      description: "Report containers restarted this often",
    },
  },
  async run(ctx) {
    const { namespace, minRestarts } = ctx.params;
    const pods = await ctx.k8s.listPods(namespace, { signal: ctx.signal });
    const rows: (string | number)[][] = [];
    const restartingPods = new Set<string>();
    for (const pod of pods) {
      for (const status of pod.containerStatuses) {
        if (status.restartCount < minRestarts) continue;
        restartingPods.add(pod.name);
        rows.push([
          pod.name,
          status.name,
          status.restartCount,
          status.state.waiting?.reason ?? pod.phase,
        ]);
      }
    }
    ctx.log.info(
      "%d of %d pods in %s have restarting containers",
      restartingPods.size,
      pods.length,
      namespace,
    );
    if (rows.length === 0) return;
    await ctx.report({
      title: `${rows.length} container(s) in ${namespace} restarted ${minRestarts}+ times`,
      severity: rows.length > 5 ? "high" : "medium",
      body: `Containers in \`${namespace}\` with at least ${minRestarts} restarts.`,
      tables: [{
        title: "Restarting containers",
        columns: ["pod", "container", "restarts", "state"],
        rows,
      }],
    });
  },
});
