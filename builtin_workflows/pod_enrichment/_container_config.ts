/**
 * Why a container cannot start because of its configuration: the analyzer behind
 * `pod-investigator-enricher` for `pod.containerConfigError`.
 *
 * The kubelet builds each container's environment before creating it; a missing source stops it
 * with waiting reason `CreateContainerConfigError` and a message naming what is missing, as the
 * kubelet writes it (`pkg/kubelet/kubelet_pods.go`, the watch-based ConfigMap/Secret managers):
 * `configmap "app-config" not found`, `secret "db" not found`, `couldn't find key DB_URL in
 * ConfigMap shop/app-config`. {@linkcode CONFIG_PATTERNS} classifies it, each pattern with the
 * real message it was taken from. A message that only names an environment variable (our local
 * kubelet's `couldn't find key for configMapKeyRef in environment variable "X"`) is resolved
 * through the pod spec: the variable's `valueFrom` names the ConfigMap or Secret and the key,
 * and the workflow's lookup says whether the ConfigMap exists. Secrets are never read: only the
 * kubelet's words can say whether a Secret or its key is missing.
 *
 * Pure: objects in, an {@linkcode Explanation} out.
 *
 * @module
 */

import type { Cause, Evidence, Explanation } from "@wfhost/sdk/explain.ts";
import { containerStatesTable } from "@wfhost/sdk/explain.ts";
import type { V1Container, V1Pod } from "@wfhost/sdk";

/** One row of the classifier of a container configuration error. */
export interface ConfigPattern {
  /** The cause (`Unknown` for errors understood but outside the vocabulary). */
  readonly cause: Cause;
  /** Matched against the message; groups name the object (and key) when the message does. */
  readonly pattern: RegExp;
  /** What it means, for the finding's first line (`$1`, `$2`... replaced by the groups). */
  readonly means: string;
  /** The real message the pattern was taken from. */
  readonly example: string;
}

/** The classifier, first match wins. */
export const CONFIG_PATTERNS: readonly ConfigPattern[] = [
  {
    cause: "MissingConfigKey",
    pattern: /couldn't find key (\S+) in ConfigMap ([^/\s]+)\/(\S+)/,
    means: "key `$1` is not in ConfigMap `$3`",
    example: "couldn't find key DATABASE_URL in ConfigMap shop/app-config",
  },
  {
    cause: "MissingConfigKey",
    pattern: /couldn't find key (\S+) in Secret ([^/\s]+)\/(\S+)/,
    means: "key `$1` is not in Secret `$3`",
    example: "couldn't find key password in Secret shop/db-credentials",
  },
  {
    cause: "MissingConfigMap",
    pattern: /configmaps? "([^"]+)" not found/i,
    means: "ConfigMap `$1` does not exist",
    example: 'configmap "app-config" not found',
  },
  {
    cause: "MissingSecret",
    pattern: /secrets? "([^"]+)" not found/i,
    means: "Secret `$1` does not exist",
    example: 'secret "db-credentials" not found',
  },
  {
    cause: "CommandNotFound",
    pattern:
      /exec: "([^"]+)": (?:executable file not found in \$PATH|stat [^:]+: no such file or directory)/,
    means: "its command `$1` does not exist in the image",
    example:
      'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "serve": executable file not found in $PATH: unknown',
  },
  {
    cause: "Unknown",
    pattern:
      /container has runAsNonRoot and image (?:will run as root|has non-numeric user|has an invalid user id)/,
    means: "`runAsNonRoot` is set but the image runs as root (or as a user name, not a uid)",
    example:
      'container has runAsNonRoot and image will run as root (pod: "web-1_shop(5f1c2a4e-0d3b-4c59-9a0e-6b7f3e2d1c0a)", container: app)',
  },
];

/** What a configuration error says, classified. */
export interface ConfigClassification {
  /** The cause. */
  readonly cause: Cause;
  /** What it means (groups filled in). */
  readonly means: string;
  /** The object the message names (`ConfigMap`/`Secret`), when it names one. */
  readonly object?: { readonly kind: "ConfigMap" | "Secret"; readonly name: string };
  /** The key it names, when it names one. */
  readonly key?: string;
}

/**
 * Classifies a `CreateContainerConfigError` (or start error) message.
 *
 * @param message The kubelet's message.
 * @returns The cause, its meaning, and the object and key it names.
 *
 * @example
 * ```ts
 * import { classifyConfigMessage } from "./_container_config.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(classifyConfigMessage('configmap "app-config" not found').object?.name, "app-config");
 * ```
 */
export function classifyConfigMessage(message: string): ConfigClassification {
  for (const row of CONFIG_PATTERNS) {
    const match = row.pattern.exec(message);
    if (match === null) continue;
    const means = row.means.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? "");
    switch (row.cause) {
      case "MissingConfigKey": {
        const kind = /in ConfigMap/.test(match[0]) ? "ConfigMap" : "Secret";
        return {
          cause: row.cause,
          means,
          object: { kind, name: match[3] ?? "" },
          key: match[1] ?? "",
        };
      }
      case "MissingConfigMap":
        return { cause: row.cause, means, object: { kind: "ConfigMap", name: match[1] ?? "" } };
      case "MissingSecret":
        return { cause: row.cause, means, object: { kind: "Secret", name: match[1] ?? "" } };
      default:
        return { cause: row.cause, means };
    }
  }
  return { cause: "Unknown", means: "cause not recognised" };
}

/** A ConfigMap or Secret the container's spec refers to. */
export interface ConfigReference {
  /** `ConfigMap` or `Secret`. */
  readonly kind: "ConfigMap" | "Secret";
  /** Its name. */
  readonly name: string;
  /** The key, for a `configMapKeyRef` / `secretKeyRef`. */
  readonly key?: string;
  /** Where the spec refers to it: `env DB_URL`, `envFrom`, `volume config`. */
  readonly from: string;
  /** `optional: true`: a missing source does not stop the container. */
  readonly optional: boolean;
}

/**
 * Every ConfigMap and Secret a container refers to (its `env`, `envFrom`, and the pod's volumes
 * it mounts).
 *
 * @param pod The pod.
 * @param container The container's name.
 * @returns The references, in spec order.
 */
export function configReferences(pod: V1Pod, container: string): ConfigReference[] {
  const spec: V1Container | undefined = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []),
  ].find((c) => c.name === container);
  const refs: ConfigReference[] = [];
  for (const env of spec?.env ?? []) {
    const cm = env.valueFrom?.configMapKeyRef;
    const secret = env.valueFrom?.secretKeyRef;
    if (cm !== undefined) {
      refs.push({
        kind: "ConfigMap",
        name: cm.name ?? "",
        key: cm.key,
        from: `env ${env.name}`,
        optional: cm.optional === true,
      });
    }
    if (secret !== undefined) {
      refs.push({
        kind: "Secret",
        name: secret.name ?? "",
        key: secret.key,
        from: `env ${env.name}`,
        optional: secret.optional === true,
      });
    }
  }
  for (const source of spec?.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      refs.push({
        kind: "ConfigMap",
        name: source.configMapRef.name ?? "",
        from: "envFrom",
        optional: source.configMapRef.optional === true,
      });
    }
    if (source.secretRef !== undefined) {
      refs.push({
        kind: "Secret",
        name: source.secretRef.name ?? "",
        from: "envFrom",
        optional: source.secretRef.optional === true,
      });
    }
  }
  const mounted = new Set((spec?.volumeMounts ?? []).map((m) => m.name));
  for (const volume of pod.spec?.volumes ?? []) {
    if (!mounted.has(volume.name)) continue;
    if (volume.configMap !== undefined) {
      refs.push({
        kind: "ConfigMap",
        name: volume.configMap.name ?? "",
        from: `volume ${volume.name}`,
        optional: volume.configMap.optional === true,
      });
    }
    if (volume.secret !== undefined) {
      refs.push({
        kind: "Secret",
        name: volume.secret.secretName ?? "",
        from: `volume ${volume.name}`,
        optional: volume.secret.optional === true,
      });
    }
  }
  return refs;
}

/** What {@linkcode explainContainerConfig} reads. */
export interface ContainerConfigInput {
  /** The pod. */
  readonly pod: V1Pod;
  /** The container that cannot start. */
  readonly container: string;
  /** The trigger's reason (`CreateContainerConfigError`, `RunContainerError`, ...). */
  readonly reason: string;
  /** The kubelet's message. */
  readonly message?: string;
  /**
   * Which referenced ConfigMaps exist, by name (`true`/`false`; absent: not looked up or not
   * readable). Secrets are never looked up.
   */
  readonly configMaps?: Readonly<Record<string, boolean>>;
  /** `Kind/namespace/name` of the pod's workload. */
  readonly workload?: string;
  /** The other pods of the workload blocked the same way. */
  readonly siblings?: readonly V1Pod[];
}

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`;
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function workloadText(workload: string): string {
  const [kind, ...rest] = workload.split("/");
  return `${kind ?? "?"} ${rest.join("/")}`;
}

/**
 * A message that only names an environment variable, resolved through the spec (and the
 * ConfigMap lookup).
 */
function fromSpec(
  input: ContainerConfigInput,
  refs: readonly ConfigReference[],
): ConfigClassification | undefined {
  const variable = /environment variable "([^"]+)"/.exec(input.message ?? "")?.[1];
  if (variable === undefined) return undefined;
  const ref = refs.find((r) => r.from === `env ${variable}`);
  if (ref === undefined) return undefined;
  if (ref.kind === "ConfigMap") {
    const exists = input.configMaps?.[ref.name];
    if (exists === false) {
      return {
        cause: "MissingConfigMap",
        means: `ConfigMap \`${ref.name}\` does not exist`,
        object: { kind: "ConfigMap", name: ref.name },
        ...(ref.key === undefined ? {} : { key: ref.key }),
      };
    }
    if (exists === true && ref.key !== undefined) {
      return {
        cause: "MissingConfigKey",
        means: `key \`${ref.key}\` is not in ConfigMap \`${ref.name}\``,
        object: { kind: "ConfigMap", name: ref.name },
        key: ref.key,
      };
    }
    return undefined;
  }
  return undefined;
}

/**
 * Explains why a container cannot start because of its configuration.
 *
 * @param input The pod, container, the kubelet's reason and message, what the ConfigMap lookup
 *   found.
 * @returns The explanation: cause, first line, evidence, fix.
 *
 * @example
 * ```ts
 * import { explainContainerConfig } from "./_container_config.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation = explainContainerConfig({
 *   pod: { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "web-1" } },
 *   container: "app",
 *   reason: "CreateContainerConfigError",
 *   message: 'secret "db-credentials" not found',
 * });
 * strictEqual(explanation.cause, "MissingSecret");
 * ```
 */
export function explainContainerConfig(input: ContainerConfigInput): Explanation {
  const { pod, container } = input;
  const message = input.message ?? "";
  const refs = configReferences(pod, container);
  const direct = classifyConfigMessage(message);
  const classified = direct.cause === "Unknown" && direct.means === "cause not recognised"
    ? fromSpec(input, refs) ?? direct
    : direct;
  const cause = classified.cause;
  const others = (input.siblings ?? []).filter((p) => p.metadata?.name !== pod.metadata?.name);
  const affected = [pod, ...others];
  const workload = input.workload;
  const who = affected.length > 1 && workload !== undefined
    ? `${affected.length} pods of ${workload} (container ${container})`
    : `${podName(pod)} (container ${container})`;
  const summary = `${who} cannot start (${input.reason}): ${classified.means.replaceAll("`", "")}`;

  const evidence: Evidence[] = [
    {
      kind: "text",
      title: `The kubelet's message (${input.reason})`,
      text: message === "" ? "(none)" : code(message),
    },
  ];
  if (refs.length > 0) {
    evidence.push({
      kind: "table",
      table: {
        title: `What container ${container} refers to`,
        columns: ["kind", "name", "key", "used by", "optional", "exists"],
        rows: refs.map((r) => [
          r.kind,
          r.name,
          r.key ?? "",
          r.from,
          r.optional ? "yes" : "no",
          r.kind === "Secret"
            ? "not readable (Secrets are never read)"
            : input.configMaps?.[r.name] === undefined
            ? "not looked up"
            : input.configMaps[r.name]
            ? "yes"
            : "no",
        ]),
      },
    });
  }
  if (cause === "CommandNotFound") {
    const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) =>
      c.name === container
    );
    evidence.push({
      kind: "table",
      table: {
        title: `What container ${container} runs`,
        columns: ["field", "value"],
        rows: [
          ["image", spec?.image ?? "?"],
          ["command", (spec?.command ?? []).join(" ") || "(the image's entrypoint)"],
          ["args", (spec?.args ?? []).join(" ") || "(none)"],
        ],
      },
    });
  }
  if (affected.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(
        `Pods of ${workload ?? "the workload"} blocked the same way`,
        affected,
      ),
    });
  }

  const namespace = pod.metadata?.namespace ?? "default";
  const where = workload === undefined || workload.startsWith("Pod/")
    ? "the pod"
    : `${workloadText(workload)}'s pod template`;
  const object = classified.object;
  const users = object === undefined
    ? []
    : refs.filter((r) => r.kind === object.kind && r.name === object.name).map((r) => r.from);
  const usedBy = users.length === 0 ? "" : ` (used by ${users.join(", ")})`;
  let fix: string[] = [];
  switch (cause) {
    case "MissingConfigMap":
      fix = [
        `Create ConfigMap ${code(object?.name ?? "?")} in namespace ${
          code(namespace)
        }${usedBy} (\`kubectl create configmap ${
          object?.name ?? "?"
        } -n ${namespace} --from-literal=...\`), or correct its name in ${where}.`,
        "If the container can run without it, mark the reference `optional: true`.",
      ];
      break;
    case "MissingSecret":
      fix = [
        `Create Secret ${code(object?.name ?? "?")} in namespace ${
          code(namespace)
        }${usedBy} (\`kubectl create secret generic ${
          object?.name ?? "?"
        } -n ${namespace} --from-literal=...\`), or correct its name in ${where}; if another tool (External Secrets, Sealed Secrets, a Helm hook) should create it, check that tool.`,
      ];
      break;
    case "MissingConfigKey":
      fix = [
        `Add key ${code(classified.key ?? "?")} to ${object?.kind ?? "the object"} ${
          code(object?.name ?? "?")
        }${usedBy}, or correct the key in ${where} (keys are case-sensitive).`,
      ];
      break;
    case "CommandNotFound":
      fix = [
        `Correct \`command\`/\`args\` in ${where}, or use an image that contains the program (check the image's PATH and entrypoint).`,
      ];
      break;
    default:
      if (/runAsNonRoot/.test(message)) {
        fix = [
          "Run the image as a non-root numeric user: set `securityContext.runAsUser` (e.g. 1000) in the pod or container, or build the image with `USER 1000`.",
        ];
      }
  }
  return { cause, summary, evidence, fix, severity: "high" };
}
