/**
 * `pod-creation-enricher`: says why a ReplicaSet, StatefulSet, DaemonSet or
 * Job cannot create its pods (its controller's `FailedCreate` Warning):
 * refused by Pod Security, an admission webhook, RBAC, a missing service
 * account or a LimitRange (`PodCreationForbidden`), or over a ResourceQuota
 * (`QuotaExceeded`), naming the exact rule or quota. The analysis is
 * `_pod_creation.ts`; this file only reads.
 *
 * Switched on by `workflows.podEnrichment.podCreationEnricher`. The
 * controller retries, so the same Warning comes again and again: the finding's
 * dedupe key gives one finding per workload and cause.
 *
 * @module
 */

import {
  defineWorkflow,
  type K8sEvent,
  type K8sWarningEvent,
  type KubeObject,
  type V1ResourceQuota,
} from "@wfhost/sdk";
import { explanationFinding, WORKLOAD_KINDS, workloadOf } from "@wfhost/sdk/explain.ts";
import { classifyCreationFailure, explainPodCreation } from "./_pod_creation.ts";

/** The controllers that create pods, and their apiVersion. */
const CONTROLLERS: Readonly<Record<string, string>> = {
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
};

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The Warning as `k8sEvent`, else from the raw core/v1 Event in `object` (the host has sent the
 * summary under another key: read both).
 */
function warningOf(event: K8sWarningEvent): K8sEvent | undefined {
  const given = (event as { readonly k8sEvent?: K8sEvent }).k8sEvent;
  if (given !== undefined) return given;
  const raw = event.object;
  if (raw === undefined || raw.involvedObject === undefined) return undefined;
  const last = raw.lastTimestamp ?? raw.series?.lastObservedTime ?? raw.eventTime ?? null;
  return {
    namespace: raw.metadata?.namespace ?? "",
    name: raw.metadata?.name ?? "",
    type: raw.type ?? "Warning",
    reason: raw.reason ?? "",
    message: raw.message ?? "",
    count: raw.series?.count ?? raw.count ?? 1,
    firstTimestamp: raw.firstTimestamp ?? raw.eventTime ?? null,
    lastTimestamp: last,
    involvedObject: {
      kind: raw.involvedObject.kind ?? "",
      namespace: raw.involvedObject.namespace ?? raw.metadata?.namespace ?? "",
      name: raw.involvedObject.name ?? "",
    },
  };
}

export default defineWorkflow({
  name: "pod-creation-enricher",
  description: "Why a workload cannot create its pods: RBAC, Pod Security, webhooks, quotas.",
  triggers: [{ on: "k8s.warningEvent" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS, "v1/ResourceQuota"],
  async run(ctx, event) {
    if (event.kind !== "k8s.warningEvent") return;
    const warning = warningOf(event);
    if (warning === undefined) return;
    const { kind, namespace, name } = warning.involvedObject;
    const apiVersion = CONTROLLERS[kind];
    if (warning.reason !== "FailedCreate" || apiVersion === undefined) return;

    let controller: KubeObject | undefined;
    let owners: KubeObject[] = [];
    try {
      controller = await ctx.k8s.get({ apiVersion, kind, namespace, name }) as KubeObject;
      owners = await ctx.k8s.owners(controller);
    } catch (error) {
      ctx.log.warn("%s %s/%s: %s", kind, namespace, name, errorText(error));
    }
    const self = { kind, metadata: { namespace, name } };
    const failure = classifyCreationFailure(warning.message, namespace);
    let quotas: readonly V1ResourceQuota[] = [];
    if (failure?.cause === "QuotaExceeded") {
      try {
        quotas = (await ctx.k8s.list({ apiVersion: "v1", kind: "ResourceQuota", namespace }))
          .items;
      } catch (error) {
        ctx.log.warn("ResourceQuotas of %s: %s", namespace, errorText(error));
      }
    }
    const workload = workloadOf(controller ?? self, owners);
    const explanation = explainPodCreation({
      controller: controller ?? self,
      message: warning.message,
      count: warning.count,
      ...(warning.lastTimestamp === null ? {} : { lastSeen: warning.lastTimestamp }),
      workload,
      quotas,
    });
    await ctx.report(explanationFinding(explanation, {
      namespace,
      workload,
      subject: { kind, namespace, name },
    }));
  },
});
