/**
 * Why an image cannot be pulled: the analyzer behind `image-pull-backoff-enricher`.
 *
 * The kubelet says why in a `Warning` event with reason `Failed` and the message
 * `Failed to pull image "<image>": <the runtime's error>`, and (since 1.30) in the
 * container's waiting message (`Back-off pulling image "<image>": ErrImagePull: <error>`).
 * {@linkcode PULL_PATTERNS} classifies that error, each pattern with the real message it was
 * taken from. Two waiting reasons need no message: `InvalidImageName` (the reference does not
 * parse) and `ErrImageNeverPull` (`imagePullPolicy: Never` and the image is not on the node).
 *
 * Pure: objects in, an {@linkcode Explanation} out.
 *
 * @module
 */

import type { Cause, Evidence, Explanation } from "@wfhost/sdk/explain.ts";
import { containerStatesTable } from "@wfhost/sdk/explain.ts";
import type { K8sEvent, Table, V1Container, V1ContainerStatus, V1Pod } from "@wfhost/sdk";

/** The image-pull causes this analyzer names. */
export type PullCause =
  | "ImageNotFound"
  | "ImagePullUnauthorized"
  | "RegistryUnreachable"
  | "InvalidImageName"
  | "ImageNeverPull";

/** One row of the classifier: a pattern of the runtime's error, and what it means. */
export interface PullPattern {
  /** The cause it stands for. */
  readonly cause: PullCause;
  /** Matched against the message (the first matching row wins). */
  readonly pattern: RegExp;
  /** What it means, for the finding's first line. */
  readonly means: string;
  /** The real message the pattern was taken from. */
  readonly example: string;
  /** The message does not tell a missing repository from a private one. */
  readonly ambiguous?: boolean;
}

/**
 * The classifier, first match wins. Network failures come first (they are unambiguous), then
 * the registries' "does not exist or may require authorization" answer (it also says
 * "denied"), then credentials, then a missing repository, tag or platform.
 */
export const PULL_PATTERNS: readonly PullPattern[] = [
  {
    cause: "InvalidImageName",
    pattern: /couldn't parse image (?:name|reference)|invalid reference format/i,
    means: "the image reference is not a valid image name",
    example:
      'Failed to apply default image tag "Shop/Web:1.0": couldn\'t parse image name "Shop/Web:1.0": invalid reference format: repository name (library/Shop/Web) must be lowercase',
  },
  {
    cause: "ImageNeverPull",
    pattern: /is not present with pull policy of Never/i,
    means: "`imagePullPolicy: Never` and the image is not on the node",
    example: 'Container image "shop/web:dev" is not present with pull policy of Never',
  },
  {
    cause: "RegistryUnreachable",
    pattern: /no such host/i,
    means: "the registry's host name does not resolve (DNS)",
    example:
      'Failed to pull image "registry.invalid/team/app:9.9.9": failed to pull and unpack image "registry.invalid/team/app:9.9.9": failed to resolve reference "registry.invalid/team/app:9.9.9": failed to do request: Head "https://registry.invalid/v2/team/app/manifests/9.9.9": dial tcp: lookup registry.invalid on 10.96.0.10:53: no such host',
  },
  {
    cause: "RegistryUnreachable",
    pattern: /connection refused/i,
    means: "nothing accepts connections at the registry's address",
    example:
      'Failed to pull image "10.0.0.5:5000/shop/web:1.0": failed to pull and unpack image "10.0.0.5:5000/shop/web:1.0": failed to resolve reference "10.0.0.5:5000/shop/web:1.0": failed to do request: Head "https://10.0.0.5:5000/v2/shop/web/manifests/1.0": dial tcp 10.0.0.5:5000: connect: connection refused',
  },
  {
    cause: "RegistryUnreachable",
    pattern: /TLS handshake timeout/i,
    means: "the registry did not finish the TLS handshake in time (network, proxy or firewall)",
    example:
      'Failed to pull image "nginx:1.25": failed to pull and unpack image "docker.io/library/nginx:1.25": failed to resolve reference "docker.io/library/nginx:1.25": failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.25": net/http: TLS handshake timeout',
  },
  {
    cause: "RegistryUnreachable",
    pattern:
      /i\/o timeout|context deadline exceeded|Client\.Timeout exceeded|no route to host|network is unreachable/i,
    means: "the registry did not answer in time (network, proxy or firewall)",
    example:
      'Failed to pull image "gcr.io/acme/web:2.1": failed to pull and unpack image "gcr.io/acme/web:2.1": failed to resolve reference "gcr.io/acme/web:2.1": failed to do request: Head "https://gcr.io/v2/acme/web/manifests/2.1": dial tcp 142.250.102.82:443: i/o timeout',
  },
  {
    cause: "RegistryUnreachable",
    pattern: /x509: |tls: failed to verify certificate/i,
    means: "the node does not trust the registry's TLS certificate",
    example:
      'Failed to pull image "registry.corp.example/shop/web:1.0": failed to pull and unpack image "registry.corp.example/shop/web:1.0": failed to resolve reference "registry.corp.example/shop/web:1.0": failed to do request: Head "https://registry.corp.example/v2/shop/web/manifests/1.0": tls: failed to verify certificate: x509: certificate signed by unknown authority',
  },
  {
    cause: "RegistryUnreachable",
    pattern: /server gave HTTP response to HTTPS client/i,
    means: "the registry speaks plain HTTP and the runtime expects HTTPS",
    example:
      'Failed to pull image "registry.lan:5000/shop/web:1.0": failed to pull and unpack image "registry.lan:5000/shop/web:1.0": failed to resolve reference "registry.lan:5000/shop/web:1.0": failed to do request: Head "https://registry.lan:5000/v2/shop/web/manifests/1.0": http: server gave HTTP response to HTTPS client',
  },
  {
    cause: "RegistryUnreachable",
    pattern:
      /because the registry is unavailable|\b50[234] (?:Service Unavailable|Bad Gateway|Gateway Timeout)/i,
    means: "the registry is unavailable",
    example:
      'Failed to pull image "quay.io/acme/web:3": failed to pull and unpack image "quay.io/acme/web:3": failed to resolve reference "quay.io/acme/web:3": unexpected status from HEAD request to https://quay.io/v2/acme/web/manifests/3: 503 Service Unavailable',
  },
  {
    cause: "ImageNotFound",
    pattern: /repository does not exist or may require authorization/i,
    means:
      "the registry answers that the repository does not exist or is private (it does not say which)",
    example:
      'Failed to pull image "acme/private-web:1.0": failed to pull and unpack image "docker.io/acme/private-web:1.0": failed to resolve reference "docker.io/acme/private-web:1.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
    ambiguous: true,
  },
  {
    cause: "ImageNotFound",
    pattern: /repository does not exist or may require 'docker login'/i,
    means:
      "the registry answers that the repository does not exist or is private (it does not say which)",
    example:
      "Failed to pull image \"acme/private-web:1.0\": rpc error: code = Unknown desc = Error response from daemon: pull access denied for acme/private-web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    ambiguous: true,
  },
  {
    cause: "ImagePullUnauthorized",
    pattern: /toomanyrequests|429 Too Many Requests/i,
    means: "the registry refused anonymous pulls: its pull rate limit is reached",
    example:
      'Failed to pull image "nginx:1.25": failed to pull and unpack image "docker.io/library/nginx:1.25": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:9c58d7f4a3b0e4b1f6f0c8e2f2a1d3c4b5a6978877665544332211ffeeddccbb: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit',
  },
  {
    cause: "ImagePullUnauthorized",
    pattern: /\b401\b|\bunauthorized\b|no basic auth credentials|authentication required/i,
    means: "the registry wants credentials the pod does not give (or they are wrong)",
    example:
      'Failed to pull image "ghcr.io/acme/web:1.4": failed to pull and unpack image "ghcr.io/acme/web:1.4": failed to resolve reference "ghcr.io/acme/web:1.4": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fweb%3Apull&service=ghcr.io: 401 Unauthorized',
  },
  {
    cause: "ImagePullUnauthorized",
    pattern: /\b403\b|\bforbidden\b|pull access denied|\bdenied: /i,
    means: "the registry refuses these credentials access to the repository",
    example:
      'Failed to pull image "europe-docker.pkg.dev/acme/apps/web:2": failed to pull and unpack image "europe-docker.pkg.dev/acme/apps/web:2": failed to resolve reference "europe-docker.pkg.dev/acme/apps/web:2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://europe-docker.pkg.dev/v2/token?scope=repository%3Aacme%2Fapps%2Fweb%3Apull&service=europe-docker.pkg.dev: 403 Forbidden',
  },
  {
    cause: "ImageNotFound",
    pattern: /no matching manifest for|no match for platform in manifest/i,
    means: "the image has no build for the node's OS and architecture",
    example:
      'Failed to pull image "acme/web:1.0": failed to pull and unpack image "docker.io/acme/web:1.0": no match for platform in manifest: not found',
  },
  {
    cause: "ImageNotFound",
    pattern: /manifest unknown|name unknown/i,
    means: "the tag (or the repository) does not exist in the registry",
    example:
      'Failed to pull image "nginx:1.999": rpc error: code = Unknown desc = Error response from daemon: manifest for nginx:1.999 not found: manifest unknown: manifest unknown',
  },
  {
    cause: "ImageNotFound",
    pattern: /\bnot found\b|code = NotFound/i,
    means: "the tag (or the repository) does not exist in the registry",
    example:
      'Failed to pull image "nginx:1.999": failed to pull and unpack image "docker.io/library/nginx:1.999": failed to resolve reference "docker.io/library/nginx:1.999": docker.io/library/nginx:1.999: not found',
  },
];

/** What a pull message says, classified. */
export interface PullClassification {
  /** The cause. */
  readonly cause: Cause;
  /** The row that matched, if any. */
  readonly pattern?: PullPattern;
}

/**
 * Classifies a pull error (the kubelet's event or waiting message).
 *
 * @param message The message.
 * @returns The first matching row of {@linkcode PULL_PATTERNS}, or `Unknown`.
 */
export function classifyPullMessage(message: string): PullClassification {
  const pattern = PULL_PATTERNS.find((row) => row.pattern.test(message));
  return pattern === undefined ? { cause: "Unknown" } : { cause: pattern.cause, pattern };
}

/** An image reference split as a runtime reads it. */
export interface ImageReference {
  /** The registry host (`docker.io` when the reference names none). */
  readonly registry: string;
  /** The repository path, e.g. `library/nginx`. */
  readonly repository: string;
  /** The tag, `latest` when neither tag nor digest is given. */
  readonly tag?: string;
  /** The digest, when pinned. */
  readonly digest?: string;
}

/**
 * Splits an image reference into registry, repository, tag and digest (no validation).
 *
 * @param image E.g. `nginx`, `ghcr.io/acme/web:1.4`, `localhost:5000/app@sha256:...`.
 * @returns Its parts.
 */
export function parseImage(image: string): ImageReference {
  const [withoutDigest = "", digest] = image.split("@", 2);
  const slash = withoutDigest.indexOf("/");
  const first = slash < 0 ? "" : withoutDigest.slice(0, slash);
  const hasRegistry = first !== "" &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let path = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  let tag: string | undefined;
  const colon = path.lastIndexOf(":");
  if (colon > path.lastIndexOf("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (!hasRegistry && !path.includes("/")) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = "latest";
  return {
    registry,
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** What {@linkcode explainImagePull} reads. */
export interface ImagePullInput {
  /** The pod whose container cannot pull (as the event carried it). */
  readonly pod: V1Pod;
  /** The container. */
  readonly container: string;
  /** The trigger's reason (`ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, ...). */
  readonly reason?: string;
  /** The trigger's message, when it carried one. */
  readonly message?: string;
  /** The pod's events (the kubelet's `Failed` event says why). */
  readonly events?: readonly K8sEvent[];
  /** `Kind/namespace/name` of the pod's workload. */
  readonly workload?: string;
  /** The other pods of the workload that cannot pull the same image. */
  readonly siblings?: readonly V1Pod[];
}

const PULL_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "RegistryUnavailable",
]);

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"}`;
}

function specOf(pod: V1Pod, name: string): V1Container | undefined {
  const spec = pod.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find((c) =>
    c.name === name
  );
}

function statusOf(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  const status = pod.status;
  return [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? [])].find((
    s,
  ) => s.name === name);
}

/** `Back-off pulling image "x": ErrImagePull: <why>` -> `<why>`. */
function unwrapBackOff(message: string): string {
  const match = /^Back-off pulling image "[^"]*": (?:ErrImagePull|RegistryUnavailable): (.*)$/s
    .exec(message);
  return match?.[1] ?? message;
}

function pullImageOf(message: string): string | undefined {
  return /^(?:Failed to pull image|Failed to apply default image tag|Container image) "([^"]+)"/
    .exec(message)?.[1];
}

function sameImage(a: string, b: string): boolean {
  const strip = (image: string) => image.replace(/^docker\.io\/(?:library\/)?/, "");
  const withTag = (image: string) => {
    const ref = parseImage(image);
    return `${ref.registry}/${ref.repository}:${ref.tag ?? ""}@${ref.digest ?? ""}`;
  };
  return strip(a) === strip(b) || withTag(a) === withTag(b);
}

function when(event: K8sEvent): string {
  return event.lastTimestamp ?? event.firstTimestamp ?? "";
}

/** The kubelet's own words: the newest event naming this image, else the waiting message. */
function pullMessage(input: ImagePullInput, image: string): {
  readonly text?: string;
  readonly from: string;
} {
  const events = (input.events ?? [])
    .filter((e) => e.type === "Warning" && e.message !== "")
    .filter((e) => {
      const named = pullImageOf(e.message);
      return named !== undefined && sameImage(named, image);
    })
    .sort((a, b) => when(b).localeCompare(when(a)));
  const event = events[0];
  if (event !== undefined) {
    return { text: event.message, from: `the kubelet's ${event.reason} event` };
  }
  const waiting = statusOf(input.pod, input.container)?.state?.waiting;
  const message = waiting?.message ?? input.message;
  if (message) return { text: unwrapBackOff(message), from: "the container's waiting message" };
  return { from: "nothing: the kubelet gave no message" };
}

function causeOfReason(reason: string | undefined): PullCause | undefined {
  if (reason === "InvalidImageName") return "InvalidImageName";
  if (reason === "ErrImageNeverPull") return "ImageNeverPull";
  if (reason === "RegistryUnavailable") return "RegistryUnreachable";
  return undefined;
}

function pullSecrets(pod: V1Pod): string[] {
  return (pod.spec?.imagePullSecrets ?? []).map((s) => s.name ?? "").filter((s) => s !== "");
}

function code(text: string): string {
  return `\`${text.replaceAll("`", "'")}\``;
}

function fixes(
  cause: Cause,
  pattern: PullPattern | undefined,
  pod: V1Pod,
  image: string,
  workload: string | undefined,
): string[] {
  const ref = parseImage(image);
  const secrets = pullSecrets(pod);
  const account = pod.spec?.serviceAccountName ?? "default";
  const namespace = pod.metadata?.namespace ?? "default";
  const where = workload === undefined || workload.startsWith("Pod/")
    ? "the pod"
    : `${workload.split("/")[0]} ${workload.split("/").slice(1).join("/")}'s pod template`;
  const node = pod.spec?.nodeName;
  const credentials = secrets.length === 0
    ? `Give the pod credentials: \`kubectl create secret docker-registry regcred --docker-server=${ref.registry} --docker-username=... --docker-password=... -n ${namespace}\`, then list it in ${where}'s \`imagePullSecrets\` (or on service account ${
      code(account)
    }).`
    : `Check that the pull secret(s) ${
      secrets.map(code).join(", ")
    } hold valid, unexpired credentials for ${code(ref.registry)} with read access to ${
      code(ref.repository)
    }.`;
  switch (cause) {
    case "ImageNotFound": {
      const steps = [
        `Check that ${code(`${ref.registry}/${ref.repository}`)} exists and has the tag ${
          code(ref.tag ?? ref.digest ?? "latest")
        } (a typo, a tag never pushed, or one deleted by a retention policy).`,
        `Correct the image in ${where}.`,
      ];
      if (pattern?.means.includes("OS and architecture")) {
        steps.unshift(
          `Build and push the image for the node's platform (e.g. \`docker buildx build --platform linux/amd64,linux/arm64\`).`,
        );
      }
      if (pattern?.ambiguous) steps.push(`If the repository is private: ${credentials}`);
      return steps;
    }
    case "ImagePullUnauthorized":
      if (pattern?.means.includes("rate limit")) {
        return [
          `Pull with credentials (authenticated pulls have a higher limit): ${credentials}`,
          "Or mirror the image to a registry of your own and point the pod at it.",
        ];
      }
      return [credentials, `Correct the image in ${where} if it names the wrong registry.`];
    case "RegistryUnreachable":
      return [
        `Check that ${code(ref.registry)} is the right registry host (a typo in ${where}?).`,
        `From node ${code(node ?? "?")}, check DNS, routes, proxy and firewall towards ${
          code(ref.registry)
        } (e.g. \`crictl pull ${image}\` on the node).`,
        ...(pattern?.means.includes("certificate")
          ? ["Add the registry's CA to the node's container runtime (containerd `hosts.toml`)."]
          : []),
        ...(pattern?.means.includes("plain HTTP")
          ? ["Serve the registry over HTTPS, or declare it insecure in the runtime's config."]
          : []),
      ];
    case "InvalidImageName":
      return [
        `Fix the image reference in ${where}: \`[registry/]repository[:tag][@sha256:digest]\`, repository in lowercase (${
          code(image)
        } is not valid).`,
      ];
    case "ImageNeverPull":
      return [
        `Load ${code(image)} onto node ${
          code(node ?? "?")
        } before the pod starts, or set \`imagePullPolicy: IfNotPresent\` in ${where}.`,
      ];
    default:
      return [];
  }
}

function eventsTable(events: readonly K8sEvent[], image: string): Table | undefined {
  const rows = events
    .filter((e) => {
      const named = pullImageOf(e.message);
      return (named !== undefined && sameImage(named, image)) ||
        /^(?:Error: )?(?:ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull)$/.test(
          e.message,
        ) || e.message.startsWith("Back-off pulling image");
    })
    .sort((a, b) => when(b).localeCompare(when(a)))
    .slice(0, 10)
    .map((e) => [when(e), e.type, e.reason, e.count, e.message]);
  if (rows.length === 0) return undefined;
  return {
    title: "Recent pull events",
    columns: ["last seen", "type", "reason", "count", "message"],
    rows,
  };
}

/**
 * Explains why a container cannot pull its image.
 *
 * @param input The pod, the container, its events and its workload's other failing pods.
 * @returns The explanation: cause, first line, evidence, fix.
 *
 * @example
 * ```ts
 * import { explainImagePull } from "./_image_pull.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const explanation = explainImagePull({
 *   pod: {
 *     apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "web-1" },
 *     spec: { containers: [{ name: "app", image: "nginx:1.999" }] },
 *   },
 *   container: "app",
 *   message: "Back-off pulling image \"nginx:1.999\": ErrImagePull: docker.io/library/nginx:1.999: not found",
 * });
 * strictEqual(explanation.cause, "ImageNotFound");
 * ```
 */
export function explainImagePull(input: ImagePullInput): Explanation {
  const { pod, container } = input;
  const spec = specOf(pod, container);
  const status = statusOf(pod, container);
  const image = spec?.image ?? status?.image ?? "?";
  const reason = status?.state?.waiting?.reason ?? input.reason;
  const said = pullMessage(input, image);
  const fromReason = causeOfReason(reason);
  const classified = said.text === undefined ? { cause: "Unknown" as Cause } : classifyPullMessage(
    said.text,
  );
  const cause: Cause = fromReason ?? classified.cause;
  const pattern = classified.cause === cause ? classified.pattern : undefined;
  const means = pattern?.means ?? (
    cause === "InvalidImageName"
      ? "the image reference is not a valid image name"
      : cause === "ImageNeverPull"
      ? "`imagePullPolicy: Never` and the image is not on the node"
      : cause === "RegistryUnreachable"
      ? "the registry is unavailable"
      : "cause not recognised"
  );
  const others = (input.siblings ?? []).filter((p) => p.metadata?.name !== pod.metadata?.name);
  const affected = [pod, ...others];
  const workload = input.workload;
  const who = affected.length > 1 && workload !== undefined
    ? `${affected.length} pods of ${workload} (container ${container})`
    : `${podName(pod)} (container ${container})`;
  const verb = cause === "InvalidImageName" || cause === "ImageNeverPull"
    ? "cannot start: image"
    : "cannot pull image";
  const summary = `${who} ${verb} ${JSON.stringify(image)}: ${means}`;

  const evidence: Evidence[] = [];
  evidence.push({
    kind: "text",
    title: `Why, from ${said.from}`,
    text: said.text === undefined ? "(no message)" : code(said.text),
  });
  const ref = parseImage(image);
  const secrets = pullSecrets(pod);
  evidence.push({
    kind: "table",
    table: {
      title: "The image and the pod's pull settings",
      columns: ["field", "value"],
      rows: [
        ["container", container],
        ["image", image],
        ["registry", ref.registry],
        ["repository", ref.repository],
        ["tag / digest", ref.digest ?? ref.tag ?? ""],
        ["imagePullPolicy", spec?.imagePullPolicy ?? "(default)"],
        ["waiting reason", reason ?? ""],
        ["imagePullSecrets", secrets.length === 0 ? "none" : secrets.join(", ")],
        ["serviceAccountName", pod.spec?.serviceAccountName ?? "default"],
        ["node", pod.spec?.nodeName ?? "(not scheduled)"],
      ],
    },
  });
  if (pattern?.ambiguous) {
    evidence.push({
      kind: "text",
      title: "Note",
      text:
        "registries answer the same for a repository that does not exist and for a private one the pod has no access to; both fixes are listed.",
    });
  }
  const table = eventsTable(input.events ?? [], image);
  if (table !== undefined) evidence.push({ kind: "table", table });
  if (affected.length > 1) {
    evidence.push({
      kind: "table",
      table: containerStatesTable(
        `Pods of ${workload ?? "the workload"} in the same state`,
        affected,
      ),
    });
  }
  if (cause === "Unknown" && !PULL_REASONS.has(reason ?? "")) {
    evidence.push({
      kind: "text",
      title: "Container state",
      text: `waiting reason ${code(reason ?? "none")}`,
    });
  }
  return {
    cause,
    summary,
    evidence,
    fix: fixes(cause, pattern, pod, image, workload),
    severity: "high",
  };
}
