/**
 * `image-pull-backoff-enricher`: says why a container's image cannot be pulled (the tag or
 * repository does not exist, credentials are missing or refused, the registry is unreachable,
 * the name is invalid, `imagePullPolicy: Never` with no local image) and how to fix it, from the
 * kubelet's `Failed` event (see `_image_pull.ts`). One finding per workload, container and
 * cause, naming the workload's other pods stuck the same way.
 *
 * `InvalidImageName` and `ErrImageNeverPull` arrive as `pod.containerConfigError` (the kubelet
 * never tries to pull): this workflow explains those two reasons and
 * `pod-investigator-enricher` leaves them alone.
 *
 * Switched on by `workflows.podEnrichment.imagePullBackoffEnricher`.
 *
 * @module
 */

import { defineWorkflow, type V1Pod } from "@wfhost/sdk";
import { explanationFinding, podScope, WORKLOAD_KINDS } from "@wfhost/sdk/explain.ts";
import { explainImagePull } from "./_image_pull.ts";

/** The `pod.containerConfigError` reasons that are image problems. */
const IMAGE_REASONS = new Set(["InvalidImageName", "ErrImageNeverPull"]);

/** Waiting reasons of a container that cannot get its image. */
const PULL_STATES = new Set([...IMAGE_REASONS, "ErrImagePull", "ImagePullBackOff"]);

function stuck(pod: V1Pod, container: string): boolean {
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ];
  const reason = statuses.find((s) => s.name === container)?.state?.waiting?.reason;
  return reason !== undefined && reason !== null && PULL_STATES.has(reason);
}

export default defineWorkflow({
  name: "image-pull-backoff-enricher",
  description:
    "Why a container's image cannot be pulled (missing tag or repository, credentials, registry unreachable, invalid name, pull policy Never), and the fix.",
  triggers: [{ on: "pod.imagePullBackOff" }, { on: "pod.containerConfigError" }],
  capabilities: ["k8s.read", "findings.report"],
  reads: [...WORKLOAD_KINDS],
  async run(ctx, event) {
    if (event.kind === "pod.containerConfigError" && !IMAGE_REASONS.has(event.reason)) return;
    if (event.kind !== "pod.imagePullBackOff" && event.kind !== "pod.containerConfigError") return;
    const pod = event.object;
    const namespace = pod.metadata?.namespace ?? event.pod.namespace;
    const name = pod.metadata?.name ?? event.pod.name;
    const scope = await podScope(ctx.k8s, pod);
    const events = await ctx.k8s.events({ kind: "Pod", namespace, name }).catch(() => []);
    const siblings = scope.pods.filter((p) =>
      p.metadata?.name !== name && stuck(p, event.container)
    );
    const explanation = explainImagePull({
      pod,
      container: event.container,
      reason: event.reason,
      ...(event.kind === "pod.containerConfigError" && event.message !== undefined
        ? { message: event.message }
        : {}),
      events,
      workload: scope.workload,
      siblings,
    });
    await ctx.report(explanationFinding(explanation, {
      namespace,
      workload: scope.workload,
      subject: { kind: "Pod", namespace, name },
      labels: { container: event.container },
      episode: event.container,
    }));
  },
});
