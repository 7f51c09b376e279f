// Unit tests of the image-pull analyzer (`_image_pull.ts`) with plain objects, one row per cause
// with the real message, and of the thin workflow with the SDK's fakes.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { K8sEvent, V1Pod } from "@wfhost/sdk";
import {
  fakeDeployment,
  fakeEvent,
  fakePod,
  fakeReplicaSet,
  runWorkflow,
} from "@wfhost/sdk/testing.ts";
import {
  classifyPullMessage,
  explainImagePull,
  type ImagePullInput,
  parseImage,
  PULL_PATTERNS,
} from "./_image_pull.ts";
import workflow from "./image-pull-backoff-enricher.ts";
import { evidenceText as text } from "./_evidence_text_test_support.ts";

function pod(
  image: string,
  waiting: { reason: string; message?: string },
  extra: { secrets?: string[]; name?: string; account?: string } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name: extra.name ?? "web-1" },
    spec: {
      nodeName: "node-1",
      serviceAccountName: extra.account ?? "default",
      containers: [{ name: "app", image, imagePullPolicy: "IfNotPresent" }],
      ...(extra.secrets === undefined
        ? {}
        : { imagePullSecrets: extra.secrets.map((name) => ({ name })) }),
    },
    status: {
      phase: "Pending",
      containerStatuses: [{
        name: "app",
        image,
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { waiting },
      }],
    },
  };
}

function failed(message: string, at = "2026-12-03T10:00:05Z"): K8sEvent {
  return {
    namespace: "shop",
    name: "web-1.1",
    type: "Warning",
    reason: "Failed",
    message,
    count: 3,
    firstTimestamp: "2026-12-03T10:00:00Z",
    lastTimestamp: at,
    involvedObject: { kind: "Pod", namespace: "shop", name: "web-1" },
  };
}

Deno.test("every pattern's real message classifies as its own cause", () => {
  for (const row of PULL_PATTERNS) {
    strictEqual(classifyPullMessage(row.example).cause, row.cause, row.example);
  }
});

interface Case {
  readonly name: string;
  readonly input: ImagePullInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence?: readonly RegExp[];
  readonly fix?: RegExp;
}

const UNREACHABLE =
  'failed to resolve reference "registry.invalid/team/app:9.9.9": failed to do request: Head "https://registry.invalid/v2/team/app/manifests/latest": dial tcp: lookup registry.invalid: no such host';

const CASES: readonly Case[] = [
  {
    name: "our kubelet's unresolvable registry, from the waiting message alone",
    input: {
      pod: pod("registry.invalid/team/app:9.9.9", {
        reason: "ImagePullBackOff",
        message:
          `Back-off pulling image "registry.invalid/team/app:9.9.9": ErrImagePull: ${UNREACHABLE}`,
      }),
      container: "app",
    },
    cause: "RegistryUnreachable",
    summary:
      /^shop\/web-1 \(container app\) cannot pull image "registry.invalid\/team\/app:9.9.9": the registry's host name does not resolve/,
    evidence: [/container's waiting message/, /registry\|registry.invalid/],
    fix: /`registry.invalid` is the right registry host/,
  },
  {
    name: "the Failed event is preferred, and matches the image with its default tag",
    input: {
      pod: pod("registry.invalid/team/app", {
        reason: "ErrImagePull",
        message: "something else",
      }),
      container: "app",
      events: [
        failed(`Failed to pull image "registry.invalid/team/app:latest": ${UNREACHABLE}`),
        failed('Failed to pull image "other/image:1": not found'),
      ],
    },
    cause: "RegistryUnreachable",
    summary: /cannot pull image "registry.invalid\/team\/app"/,
    evidence: [/the kubelet's Failed event/, /Recent pull events/],
  },
  {
    name: "a tag that does not exist",
    input: {
      pod: pod("nginx:1.999", { reason: "ErrImagePull" }),
      container: "app",
      events: [
        failed(
          'Failed to pull image "nginx:1.999": failed to pull and unpack image "docker.io/library/nginx:1.999": failed to resolve reference "docker.io/library/nginx:1.999": docker.io/library/nginx:1.999: not found',
        ),
      ],
    },
    cause: "ImageNotFound",
    summary: /the tag \(or the repository\) does not exist/,
    evidence: [/repository\|library\/nginx/, /tag \/ digest\|1.999/],
    fix: /`docker.io\/library\/nginx` exists and has the tag `1.999`/,
  },
  {
    name: "Docker Hub's ambiguous answer lists both fixes",
    input: {
      pod: pod("acme/private-web:1.0", { reason: "ErrImagePull" }),
      container: "app",
      events: [
        failed(
          'Failed to pull image "acme/private-web:1.0": failed to pull and unpack image "docker.io/acme/private-web:1.0": failed to resolve reference "docker.io/acme/private-web:1.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
        ),
      ],
    },
    cause: "ImageNotFound",
    summary: /does not exist or is private/,
    evidence: [/Note: registries answer the same/, /imagePullSecrets\|none/],
    fix: /If the repository is private: Give the pod credentials/,
  },
  {
    name: "unauthorized without pull secrets: create one",
    input: {
      pod: pod("ghcr.io/acme/web:1.4", { reason: "ErrImagePull" }, { account: "web" }),
      container: "app",
      events: [
        failed(
          'Failed to pull image "ghcr.io/acme/web:1.4": failed to pull and unpack image "ghcr.io/acme/web:1.4": failed to resolve reference "ghcr.io/acme/web:1.4": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fweb%3Apull&service=ghcr.io: 401 Unauthorized',
        ),
      ],
    },
    cause: "ImagePullUnauthorized",
    summary: /wants credentials the pod does not give/,
    evidence: [/imagePullSecrets\|none/, /serviceAccountName\|web/],
    fix: /kubectl create secret docker-registry regcred --docker-server=ghcr.io/,
  },
  {
    name: "forbidden with pull secrets: check them",
    input: {
      pod: pod("europe-docker.pkg.dev/acme/apps/web:2", { reason: "ErrImagePull" }, {
        secrets: ["gar-pull"],
      }),
      container: "app",
      events: [
        failed(
          'Failed to pull image "europe-docker.pkg.dev/acme/apps/web:2": failed to pull and unpack image "europe-docker.pkg.dev/acme/apps/web:2": failed to resolve reference "europe-docker.pkg.dev/acme/apps/web:2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://europe-docker.pkg.dev/v2/token?scope=repository%3Aacme%2Fapps%2Fweb%3Apull&service=europe-docker.pkg.dev: 403 Forbidden',
        ),
      ],
    },
    cause: "ImagePullUnauthorized",
    summary: /refuses these credentials/,
    evidence: [/imagePullSecrets\|gar-pull/],
    fix:
      /pull secret\(s\) `gar-pull` hold valid, unexpired credentials for `europe-docker.pkg.dev`/,
  },
  {
    name: "an invalid image name, from the waiting reason",
    input: {
      pod: pod("Shop/Web:1.0", {
        reason: "InvalidImageName",
        message:
          'Failed to apply default image tag "Shop/Web:1.0": couldn\'t parse image name "Shop/Web:1.0": invalid reference format: repository name (library/Shop/Web) must be lowercase',
      }),
      container: "app",
      reason: "InvalidImageName",
    },
    cause: "InvalidImageName",
    summary: /cannot start: image "Shop\/Web:1.0": the image reference is not a valid image name/,
    evidence: [/must be lowercase/],
    fix: /repository in lowercase/,
  },
  {
    name: "pull policy Never and no image on the node",
    input: {
      pod: pod("shop/web:dev", {
        reason: "ErrImageNeverPull",
        message: 'Container image "shop/web:dev" is not present with pull policy of Never',
      }),
      container: "app",
      reason: "ErrImageNeverPull",
    },
    cause: "ImageNeverPull",
    summary: /`imagePullPolicy: Never` and the image is not on the node/,
    fix: /onto node `node-1`.*imagePullPolicy: IfNotPresent/,
  },
  {
    name: "a message nothing matches is not guessed",
    input: {
      pod: pod("shop/web:1", { reason: "ErrImagePull", message: "rpc error: code = Internal" }),
      container: "app",
    },
    cause: "Unknown",
    summary: /cannot pull image "shop\/web:1": cause not recognised$/,
    evidence: [/rpc error: code = Internal/],
  },
  {
    name: "three replicas stuck the same way give one explanation naming them",
    input: {
      pod: pod("registry.invalid/team/app:9.9.9", {
        reason: "ImagePullBackOff",
        message:
          `Back-off pulling image "registry.invalid/team/app:9.9.9": ErrImagePull: ${UNREACHABLE}`,
      }, { name: "web-5d8f-a" }),
      container: "app",
      workload: "Deployment/shop/web",
      siblings: [
        pod("registry.invalid/team/app:9.9.9", { reason: "ErrImagePull" }, { name: "web-5d8f-b" }),
        pod("registry.invalid/team/app:9.9.9", { reason: "ImagePullBackOff" }, {
          name: "web-5d8f-c",
        }),
      ],
    },
    cause: "RegistryUnreachable",
    summary: /^3 pods of Deployment\/shop\/web \(container app\) cannot pull image/,
    evidence: [/web-5d8f-a\|app/, /web-5d8f-b\|app/, /web-5d8f-c\|app/],
    fix: /Deployment shop\/web's pod template/,
  },
];

for (const c of CASES) {
  Deno.test(`explainImagePull: ${c.name}`, () => {
    const explanation = explainImagePull(c.input);
    strictEqual(explanation.cause, c.cause);
    ok(c.summary.test(explanation.summary), explanation.summary);
    const evidence = text(explanation);
    for (const pattern of c.evidence ?? []) ok(pattern.test(evidence), `${pattern}\n${evidence}`);
    if (c.fix !== undefined) {
      ok(explanation.fix.some((f) => c.fix?.test(f)), explanation.fix.join("\n"));
    }
    if (c.cause === "Unknown") deepStrictEqual(explanation.fix, []);
  });
}

Deno.test("parseImage splits references as a runtime reads them", () => {
  const rows: [string, ReturnType<typeof parseImage>][] = [
    ["nginx", { registry: "docker.io", repository: "library/nginx", tag: "latest" }],
    ["acme/web:1.4", { registry: "docker.io", repository: "acme/web", tag: "1.4" }],
    ["ghcr.io/acme/web:1.4", { registry: "ghcr.io", repository: "acme/web", tag: "1.4" }],
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app", tag: "latest" }],
    [
      "quay.io/acme/web@sha256:abc",
      { registry: "quay.io", repository: "acme/web", digest: "sha256:abc" },
    ],
  ];
  for (const [image, expected] of rows) deepStrictEqual(parseImage(image), expected, image);
});

Deno.test("the workflow reports one labelled finding per workload and container", async () => {
  const base = fakePod({ namespace: "shop", name: "web-5d8f7c9b4-x1" });
  const object = pod("registry.invalid/team/app:9.9.9", {
    reason: "ImagePullBackOff",
    message:
      `Back-off pulling image "registry.invalid/team/app:9.9.9": ErrImagePull: ${UNREACHABLE}`,
  }, { name: "web-5d8f7c9b4-x1" });
  const owned: V1Pod = {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { app: "web", "pod-template-hash": "5d8f7c9b4" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-5d8f7c9b4",
        uid: "00000000-0000-4000-8000-000000000002",
        controller: true,
      }],
    },
  };
  const sibling: V1Pod = { ...owned, metadata: { ...owned.metadata, name: "web-5d8f7c9b4-x2" } };
  const event = fakeEvent("pod.imagePullBackOff", {
    pod: base,
    container: "app",
    reason: "ImagePullBackOff",
    object: owned,
  });
  const run = await runWorkflow(workflow, event, {
    objects: [
      owned,
      sibling,
      fakeReplicaSet({ metadata: { namespace: "shop" } }),
      fakeDeployment({ metadata: { namespace: "shop" } }),
    ],
    responses: { "k8s.events": { items: [] } },
  });
  strictEqual(run.findings.length, 1);
  const finding = run.findings[0];
  strictEqual(finding?.labels?.["cause"], "RegistryUnreachable");
  strictEqual(finding?.labels?.["container"], "app");
  strictEqual(finding?.labels?.["workload"], "Deployment/shop/web");
  strictEqual(finding?.dedupeKey, "RegistryUnreachable/Deployment/shop/web/app");
  ok(
    finding?.title.startsWith("2 pods of Deployment/shop/web (container app) cannot pull image"),
    finding?.title,
  );
  ok(finding?.body?.includes("web-5d8f7c9b4-x2"));
});

Deno.test("the workflow leaves configuration errors that are not image problems alone", async () => {
  const event = fakeEvent("pod.containerConfigError", {
    container: "app",
    reason: "CreateContainerConfigError",
    message: 'configmap "app-config" not found',
  });
  const run = await runWorkflow(workflow, event, { responses: { "k8s.events": { items: [] } } });
  strictEqual(run.findings.length, 0);
  strictEqual(run.calls.length, 0);
});
