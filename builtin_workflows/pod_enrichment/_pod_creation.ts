/**
 * Why a workload cannot create its pods: the pure analyzer behind
 * `pod-creation-enricher`.
 *
 * The controller's `FailedCreate` message (and a ReplicaSet's
 * `ReplicaFailure` condition) is classified by {@linkcode CREATION_FAILURES},
 * a data table whose every row carries the real message it was taken from:
 * rejected by Pod Security, an admission webhook, RBAC, a missing service
 * account or a LimitRange (`PodCreationForbidden`), or over a ResourceQuota
 * (`QuotaExceeded`). The exact rule or quota is named, and the quota read for
 * evidence.
 *
 * @module
 */

import {
  type Cause,
  type ConditionLike,
  conditionsTable,
  type Evidence,
  type Explanation,
} from "@wfhost/sdk/explain.ts";
import type { Table, V1ResourceQuota } from "@wfhost/sdk";

/** What a matched message says, for the summary, the evidence and the fix. */
export interface CreationFailure {
  /** The cause. */
  readonly cause: Cause;
  /** The row's id, e.g. `podSecurity`, `quotaExceeded`. */
  readonly id: string;
  /** The rule or quota, in one phrase: "Pod Security \"baseline:latest\" forbids them: ...". */
  readonly rule: string;
  /** The likely fix, one step per entry. */
  readonly fix: readonly string[];
  /** The ResourceQuota named by the message, if any. */
  readonly quota?: string;
  /** Pod Security violations: check and detail. */
  readonly violations?: readonly (readonly [string, string])[];
  /** Resources the quota message names: resource -> requested, used, limited. */
  readonly quantities?: Readonly<
    Record<string, { requested?: string; used?: string; limited?: string }>
  >;
}

/** One row of the classifier table. */
export interface CreationPattern {
  /** The row's id. */
  readonly id: string;
  /** The cause it stands for. */
  readonly cause: Cause;
  /** Matched against the message without its controller prefix. */
  readonly pattern: RegExp;
  /** A real message this row was taken from (tested to match this row). */
  readonly example: string;
  /** What the match says. */
  readonly read: (
    match: RegExpExecArray,
    namespace: string,
  ) => Omit<CreationFailure, "cause" | "id">;
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "(" || char === "[") depth++;
    else if (char === ")" || char === "]") depth = Math.max(0, depth - 1);
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== "");
}

/** Pod Security checks, by the name the admission message gives them, and how to pass each. */
const PSA_FIXES: readonly (readonly [RegExp, string])[] = [
  [/^privileged$/, "remove `securityContext.privileged: true`"],
  [/^host namespaces$/, "remove `hostNetwork`, `hostPID` and `hostIPC`"],
  [/^hostPath volumes$/, "replace the `hostPath` volumes (an emptyDir, a PVC or a ConfigMap)"],
  [/^hostPort$/, "remove the containers' `hostPort`s (expose them through a Service)"],
  [/capabilities/, "drop the added capabilities (restricted: `capabilities: { drop: [ALL] }`)"],
  [/allowPrivilegeEscalation/, "set `securityContext.allowPrivilegeEscalation: false`"],
  [
    /runAsNonRoot|runAsUser/,
    "run as a non-root user (`runAsNonRoot: true`, a non-zero `runAsUser`)",
  ],
  [/seccompProfile/, "set `securityContext.seccompProfile.type: RuntimeDefault`"],
  [/procMount|sysctls|appArmor|seLinux|restricted volume types/, "remove the setting it names"],
];

function parseQuantities(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const [key, value] = pair.split("=");
    if (key && value !== undefined) out[key.trim()] = value.trim();
  }
  return out;
}

/**
 * How the API server and its admission plugins word a refused pod, most
 * specific first. Each row's `example` is a real message (as the controller
 * records it, without its `Error creating: ` prefix).
 */
export const CREATION_FAILURES: readonly CreationPattern[] = [
  {
    id: "quotaExceeded",
    cause: "QuotaExceeded",
    pattern: /exceeded quota: ([^,\s]+), requested: (.+?), used: (.+?), limited: (.+?)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: exceeded quota: compute-quota, requested: limits.cpu=2, used: limits.cpu=3, limited: limits.cpu=4',
    read(match, namespace) {
      const [, quota = "?", requested = "", used = "", limited = ""] = match;
      const r = parseQuantities(requested);
      const u = parseQuantities(used);
      const l = parseQuantities(limited);
      const quantities: Record<string, { requested?: string; used?: string; limited?: string }> =
        {};
      for (const key of new Set([...Object.keys(r), ...Object.keys(u), ...Object.keys(l)])) {
        quantities[key] = {
          ...(r[key] === undefined ? {} : { requested: r[key] }),
          ...(u[key] === undefined ? {} : { used: u[key] }),
          ...(l[key] === undefined ? {} : { limited: l[key] }),
        };
      }
      const names = Object.keys(quantities).join(", ");
      const sized = Object.keys(quantities).filter((key) =>
        key !== "pods" && !key.startsWith("count/")
      );
      const lower = sized.length > 0
        ? `, or lower this workload's ${sized.join(", ")} per pod`
        : ", or run fewer of its pods at once";
      return {
        rule:
          `they would exceed ResourceQuota ${quota} (requested: ${requested}; used: ${used}; limited: ${limited})`,
        quota,
        quantities,
        fix: [
          `Free room in the quota (scale down or delete other workloads in ${namespace})${lower}.`,
          `Or raise the quota: \`kubectl edit resourcequota ${quota} -n ${namespace}\` (\`spec.hard\` of ${names}).`,
          "The controller retries on its own: pods are created as soon as the quota has room.",
        ],
      };
    },
  },
  {
    id: "quotaRequiresResources",
    cause: "QuotaExceeded",
    pattern: /failed quota: ([^:\s]+): must specify (.+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: failed quota: compute-quota: must specify limits.cpu for: app; limits.memory for: app',
    read(match, namespace) {
      const [, quota = "?", what = ""] = match;
      return {
        rule: `ResourceQuota ${quota} requires every pod to set ${what}`,
        quota,
        fix: [
          `Set ${
            what.replace(/ for: [^;]+/g, "")
          } on the containers of the pod template: the quota counts them, so a pod must declare them.`,
          `Or give the namespace defaults with a LimitRange (\`kubectl create -n ${namespace} -f limitrange.yaml\`, \`spec.limits[].default\`/\`defaultRequest\`).`,
        ],
      };
    },
  },
  {
    id: "podSecurity",
    cause: "PodCreationForbidden",
    pattern: /violates PodSecurity "([^"]+)": (.+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)',
    read(match, namespace) {
      const [, level = "?", list = ""] = match;
      const violations = splitTopLevel(list, ", ").map((item): [string, string] => {
        const open = item.indexOf(" (");
        return open < 0 ? [item, ""] : [item.slice(0, open), item.slice(open + 2, -1)];
      });
      const steps = violations.map(([check, detail]) => {
        const how = PSA_FIXES.find(([pattern]) => pattern.test(check))?.[1] ??
          "change what it names";
        return `${check}: ${how}${detail ? ` (${detail})` : ""}.`;
      });
      const enforced = level.split(":")[0] ?? level;
      return {
        rule: `Pod Security "${level}" forbids them: ${list}`,
        violations,
        fix: [
          `Make the pod template meet namespace ${namespace}'s Pod Security level "${enforced}": ${
            steps.join(" ")
          }`,
          "Only if the workload really needs it, run it in a namespace whose `pod-security.kubernetes.io/enforce` label allows it (a dedicated one): loosening this namespace's label loosens it for every pod in it.",
        ],
      };
    },
  },
  {
    id: "serviceAccountMissing",
    cause: "PodCreationForbidden",
    pattern: /error looking up service account ([^/\s]+)\/([^:\s]+): (.+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: error looking up service account shop/builder: serviceaccount "builder" not found',
    read(match) {
      const [, namespace = "?", account = "?", detail = ""] = match;
      return {
        rule: `their service account ${namespace}/${account} cannot be used (${detail})`,
        fix: [
          `Create it (\`kubectl create serviceaccount ${account} -n ${namespace}\`), or fix \`serviceAccountName\` in the pod template.`,
        ],
      };
    },
  },
  {
    id: "rbac",
    cause: "PodCreationForbidden",
    pattern:
      /User "([^"]+)" cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods" in API group "" in the namespace "shop"',
    read(match) {
      const [, user = "?", verb = "?", resource = "?", , namespace] = match;
      const where = namespace ? ` in namespace ${namespace}` : "";
      return {
        rule: `RBAC does not let ${user} ${verb} ${resource}${where}`,
        fix: [
          `Grant ${user} \`${verb}\` on \`${resource}\`${where} (a Role or ClusterRole and its binding); \`kubectl auth can-i ${verb} ${resource} --as ${user}${
            namespace ? ` -n ${namespace}` : ""
          }\` checks it.`,
          "A built-in controller normally has this right: check that the cluster's bootstrap RBAC roles were not changed.",
        ],
      };
    },
  },
  {
    id: "limitRange",
    cause: "PodCreationForbidden",
    pattern: /((?:maximum|minimum) \S+ usage per (?:Container|Pod|PersistentVolumeClaim) is .+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
    read(match, namespace) {
      const [, detail = ""] = match;
      return {
        rule: `a LimitRange forbids them: ${detail.replace(/^\[|\]$/g, "")}`,
        fix: [
          `Bring the containers' requests and limits within the namespace's LimitRange (\`kubectl describe limitrange -n ${namespace}\`), or change the LimitRange.`,
        ],
      };
    },
  },
  {
    id: "securityContextConstraints",
    cause: "PodCreationForbidden",
    pattern: /unable to validate against any security context constraint: (.+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: unable to validate against any security context constraint: [provider "restricted": Forbidden: not usable by user or serviceaccount, spec.containers[0].securityContext.privileged: Invalid value: true: Privileged containers are not allowed]',
    read(match) {
      const [, detail = ""] = match;
      return {
        rule: `no OpenShift SecurityContextConstraints admits them: ${detail}`,
        fix: [
          "Change the pod template to meet the SCC its service account may use (`oc adm policy who-can use scc restricted`), or grant the service account an SCC that allows it.",
        ],
      };
    },
  },
  {
    id: "webhookDenied",
    cause: "PodCreationForbidden",
    pattern: /admission webhook "([^"]+)" denied the request:?\s*(.*)$/,
    example:
      'admission webhook "validate.kyverno.svc-fail" denied the request: policy Deployment/shop/web for resource violation: disallow-latest-tag: validate-image-tag: "An image tag is required."',
    read(match) {
      const [, webhook = "?", why = ""] = match;
      return {
        rule: `admission webhook "${webhook}" denies them${why ? `: ${why}` : ""}`,
        fix: [
          `Change the pod template to satisfy the policy the webhook enforces (its message above), or ask its owners for an exception. \`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o yaml | grep -n '${webhook}'\` finds its configuration.`,
        ],
      };
    },
  },
  {
    id: "webhookUnreachable",
    cause: "PodCreationForbidden",
    pattern: /failed calling webhook "([^"]+)": (.+)$/,
    example:
      'Internal error occurred: failed calling webhook "mutate.example.com": failed to call webhook: Post "https://webhook.example.svc:443/mutate?timeout=10s": dial tcp 10.96.12.7:443: connect: connection refused',
    read(match) {
      const [, webhook = "?", why = ""] = match;
      return {
        rule:
          `admission webhook "${webhook}" cannot be called, so the API server refuses them (${why})`,
        fix: [
          `Bring the webhook's service back (its pods, its Service and endpoints): with \`failurePolicy: Fail\`, every pod it matches is refused until it answers.`,
          "If the webhook is gone for good, delete its ValidatingWebhookConfiguration or MutatingWebhookConfiguration.",
        ],
      };
    },
  },
  {
    id: "forbidden",
    cause: "PodCreationForbidden",
    pattern: /is forbidden: (.+)$/,
    example:
      'pods "web-7d9f8b6c5-x2x4z" is forbidden: node(s) were marked as not allowed by the cluster administrator',
    read(match) {
      const [, why = ""] = match;
      return {
        rule: `creating them is forbidden: ${why}`,
        fix: ["Read the reason above: an admission plugin refused the pod; change what it names."],
      };
    },
  },
];

/**
 * The controller's message without its own prefix: `Error creating: `
 * (ReplicaSet, DaemonSet, Job), `create Pod web-0 in StatefulSet web failed
 * error: ` (StatefulSet).
 *
 * @param message The event's or the condition's message.
 * @returns The API server's own words.
 */
export function apiServerMessage(message: string): string {
  return message
    .replace(/^Error creating: /, "")
    .replace(/^create Pod \S+ in StatefulSet \S+ failed error: /, "")
    .trim();
}

/**
 * Classifies a refused pod creation.
 *
 * @param message The controller's message.
 * @param namespace The workload's namespace (for the fix's commands).
 * @returns What it says, or `undefined` when no row matches.
 */
export function classifyCreationFailure(
  message: string,
  namespace: string,
): CreationFailure | undefined {
  const text = apiServerMessage(message);
  for (const row of CREATION_FAILURES) {
    const match = row.pattern.exec(text);
    if (match !== null) return { cause: row.cause, id: row.id, ...row.read(match, namespace) };
  }
  return undefined;
}

/** The controller that cannot create its pods. */
export interface CreatingController {
  /** Its kind: ReplicaSet, StatefulSet, DaemonSet, Job. */
  readonly kind: string;
  /** Its namespace and name. */
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
  /** Its spec (for the desired replicas). */
  readonly spec?: unknown;
  /** Its status (replicas, conditions). */
  readonly status?: unknown;
}

/** What the analyzer reads. */
export interface PodCreationInput {
  /** The controller, as read (or just its kind and name when it could not be). */
  readonly controller: CreatingController;
  /** The `FailedCreate` event's message. */
  readonly message: string;
  /** How often the event happened, and when last. */
  readonly count?: number;
  /** When it last happened. */
  readonly lastSeen?: string;
  /** The top workload, `Deployment/shop/web`, when it is not the controller. */
  readonly workload?: string;
  /** The namespace's ResourceQuotas (read for quota failures). */
  readonly quotas?: readonly V1ResourceQuota[];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? value as Record<string, unknown> : {};
}

function conditionsOf(controller: CreatingController): ConditionLike[] {
  const conditions = record(controller.status)["conditions"];
  return Array.isArray(conditions) ? conditions as ConditionLike[] : [];
}

function quotaTable(quota: V1ResourceQuota, failure: CreationFailure): Table {
  const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
  const used = quota.status?.used ?? {};
  const named = failure.quantities ?? {};
  const keys = [...new Set([...Object.keys(named), ...Object.keys(hard)])];
  return {
    title: `ResourceQuota ${quota.metadata?.name ?? "?"}`,
    columns: ["resource", "hard", "used", "requested by one pod"],
    rows: keys.map((key) => [key, hard[key] ?? "", used[key] ?? "", named[key]?.requested ?? ""]),
  };
}

/**
 * Explains why a workload cannot create its pods.
 *
 * @param input The controller, the message, the quotas.
 * @returns The explanation: `PodCreationForbidden`, `QuotaExceeded` or `Unknown`.
 */
export function explainPodCreation(input: PodCreationInput): Explanation {
  const { controller } = input;
  const namespace = controller.metadata?.namespace ?? "default";
  const name = controller.metadata?.name ?? "?";
  const top =
    input.workload !== undefined && input.workload !== `${controller.kind}/${namespace}/${name}`
      ? ` (of ${input.workload.split("/")[0]} ${input.workload.split("/").slice(1).join("/")})`
      : "";
  const who = `${controller.kind} ${namespace}/${name}${top} cannot create its pods`;
  const failure = classifyCreationFailure(input.message, namespace);
  const times = input.count !== undefined && input.count > 1 ? `, ${input.count} times` : "";
  const evidence: Evidence[] = [{
    kind: "text",
    title: `FailedCreate event${times}${input.lastSeen ? `, last at ${input.lastSeen}` : ""}`,
    text: input.message,
  }];
  const replicaFailure = conditionsOf(controller).find((c) => c.type === "ReplicaFailure");
  if (replicaFailure !== undefined) {
    evidence.push({
      kind: "table",
      table: conditionsTable(`Conditions of ${controller.kind} ${name}`, conditionsOf(controller)),
    });
  }
  const spec = record(controller.spec);
  const status = record(controller.status);
  const desired = spec["replicas"] ?? status["desiredNumberScheduled"] ?? spec["parallelism"];
  const current = status["replicas"] ?? status["currentNumberScheduled"] ?? status["active"];
  if (desired !== undefined || current !== undefined) {
    evidence.push({
      kind: "text",
      title: "Pods",
      text: `${String(current ?? 0)} of ${String(desired ?? "?")} wanted exist`,
    });
  }
  if (failure?.violations !== undefined && failure.violations.length > 0) {
    evidence.push({
      kind: "table",
      table: {
        title: "Pod Security violations",
        columns: ["check", "what fails"],
        rows: failure.violations.map(([check, detail]) => [check, detail]),
      },
    });
  }
  if (failure?.cause === "QuotaExceeded") {
    const quotas = (input.quotas ?? []).filter((q) =>
      failure.quota === undefined || q.metadata?.name === failure.quota
    );
    for (const quota of quotas) evidence.push({ kind: "table", table: quotaTable(quota, failure) });
    if (quotas.length === 0 && failure.quota !== undefined) {
      evidence.push({
        kind: "text",
        title: `ResourceQuota ${failure.quota}`,
        text: "could not be read",
      });
    }
  }
  if (failure === undefined) {
    return { cause: "Unknown", summary: `${who}: cause not recognised`, evidence, fix: [] };
  }
  return { cause: failure.cause, summary: `${who}: ${failure.rule}`, evidence, fix: failure.fix };
}
