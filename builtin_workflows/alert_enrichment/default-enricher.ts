/**
 * `default-enricher`: an Alertmanager alert about a pod, a workload, a Job
 * or a node gets the explanation of that object attached: the alert's
 * labels (`namespace` + `pod`, `job_name`, `deployment`, `statefulset`,
 * `daemonset`, `replicaset`, `node`) are resolved to objects, read, and
 * explained (container states and exit codes, the log tail, conditions),
 * with the alert's summary, description and runbook quoted. The analysis is
 * `_alert.ts`; this file only reads.
 *
 * Switched on by `workflows.alertEnrichment.defaultEnricher`;
 * `alertAnnotationsEnrichment` quotes the annotations. Resolved alerts are
 * not explained again.
 *
 * @module
 */

import {
  defineWorkflow,
  type KubeObject,
  NotFoundError,
  type V1Job,
  type V1Pod,
} from "@wfhost/sdk";
import {
  explanationFinding,
  logTail,
  selectorString,
  WORKLOAD_KINDS,
} from "@wfhost/sdk/explain.ts";
import {
  type AlertInput,
  alertScope,
  type AlertSubject,
  type AlertTarget,
  alertTargets,
  explainAlert,
  podProblem,
} from "./_alert.ts";

/** Log lines of the failing container shown. */
const TAIL_LINES = 30;
/** At most this many pods of a workload are read. */
const POD_LIMIT = 100;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export default defineWorkflow({
  name: "default-enricher",
  description: "An Alertmanager alert about a pod, workload, Job or node, explained.",
  triggers: [{ on: "alert" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS, "v1/Node"],
  params: {
    alertAnnotationsEnrichment: {
      type: "boolean",
      default: true,
      description: "Quote the alert's annotations (summary, description, runbook) in the finding.",
    },
  },
  async run(ctx, event) {
    if (event.kind !== "alert") {
      ctx.log.info("default-enricher acts on alerts, not %s", event.kind);
      return;
    }
    const { alert } = event;
    if (alert.status === "resolved") {
      ctx.log.info("alert %s resolved: nothing to explain", alert.labels["alertname"] ?? "?");
      return;
    }

    const notes: string[] = [];

    async function owners(object: KubeObject | V1Pod | V1Job): Promise<KubeObject[]> {
      try {
        return await ctx.k8s.owners(object);
      } catch (error) {
        notes.push(
          `the owners of ${object.metadata?.name ?? "?"} could not be read: ${errorText(error)}`,
        );
        return [];
      }
    }

    async function podsOf(namespace: string, selector: string): Promise<V1Pod[]> {
      if (selector === "") return [];
      try {
        const listed = await ctx.k8s.list({
          apiVersion: "v1",
          kind: "Pod",
          namespace,
          labelSelector: selector,
          limit: POD_LIMIT,
        });
        if (listed.truncated) notes.push(`more than ${POD_LIMIT} pods: only the first are shown`);
        return [...listed.items];
      } catch (error) {
        notes.push(`the pods could not be listed: ${errorText(error)}`);
        return [];
      }
    }

    async function resolve(target: AlertTarget): Promise<AlertSubject> {
      if (target.kind === "Node") return { kind: "node", node: await ctx.k8s.node(target.name) };
      const namespace = target.namespace ?? "default";
      const ref = {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace,
        name: target.name,
      };
      if (target.kind === "Pod") {
        const pod = await ctx.k8s.get({ ...ref, apiVersion: "v1", kind: "Pod" });
        const problem = podProblem(pod, alert.labels["container"]);
        const subject = { kind: "pod" as const, pod, owners: await owners(pod) };
        if (problem === undefined || problem.terminated === undefined) return subject;
        const { container, previous } = problem;
        try {
          const text = await ctx.k8s.podLogs({ namespace, name: target.name }, {
            container,
            previous,
            tailLines: TAIL_LINES,
          });
          return { ...subject, log: { container, previous, text: logTail(text, TAIL_LINES) } };
        } catch (error) {
          const why = `the log could not be read: ${errorText(error)}`;
          return { ...subject, log: { container, previous, error: why } };
        }
      }
      const object = await ctx.k8s.get(ref) as KubeObject;
      const spec = (object["spec"] ?? {}) as { selector?: Parameters<typeof selectorString>[0] };
      const pods = await podsOf(namespace, selectorString(spec.selector));
      if (target.kind === "Job") {
        return { kind: "job", job: object as unknown as V1Job, owners: await owners(object), pods };
      }
      return { kind: "workload", object, owners: await owners(object), pods };
    }

    let subject: AlertSubject | undefined;
    for (const target of alertTargets(alert.labels)) {
      const what = `${target.kind} ${target.namespace ? `${target.namespace}/` : ""}${target.name}`;
      try {
        subject = await resolve(target);
        break;
      } catch (error) {
        notes.push(
          error instanceof NotFoundError
            ? `${what} (label \`${target.label}\`) does not exist`
            : `${what} could not be read: ${errorText(error)}`,
        );
      }
    }

    const input: AlertInput = {
      alert,
      annotations: ctx.params.alertAnnotationsEnrichment,
      notes,
      ...(subject === undefined ? {} : { subject }),
    };
    await ctx.report(explanationFinding(explainAlert(input), alertScope(input)));
  },
});
