// Unit tests of the container-configuration analyzer (`_container_config.ts`) with plain objects,
// one row per cause with the kubelet's real message, and of the workflow's
// `pod.containerConfigError` path with the SDK's fakes.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { V1Container, V1Pod } from "@wfhost/sdk";
import { fakeEvent, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  classifyConfigMessage,
  CONFIG_PATTERNS,
  configReferences,
  type ContainerConfigInput,
  explainContainerConfig,
} from "./_container_config.ts";
import workflow from "./pod-investigator-enricher.ts";
import { evidenceText as text } from "./_evidence_text_test_support.ts";

function pod(
  container: Partial<V1Container> = {},
  name = "web-1",
  extra: Partial<NonNullable<V1Pod["spec"]>> = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name },
    spec: {
      containers: [{ name: "app", image: "shop/web:1", ...container }],
      ...extra,
    },
    status: {
      phase: "Pending",
      containerStatuses: [{
        name: "app",
        image: "shop/web:1",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: "CreateContainerConfigError" } },
      }],
    },
  };
}

const ENV: Partial<V1Container> = {
  env: [
    { name: "MODE", value: "prod" },
    {
      name: "DATABASE_URL",
      valueFrom: { configMapKeyRef: { name: "app-config", key: "DATABASE_URL" } },
    },
    {
      name: "DB_PASSWORD",
      valueFrom: { secretKeyRef: { name: "db-credentials", key: "password" } },
    },
  ],
  envFrom: [{ configMapRef: { name: "feature-flags", optional: true } }],
};

Deno.test("every pattern's real message classifies as its own cause", () => {
  for (const row of CONFIG_PATTERNS) {
    strictEqual(classifyConfigMessage(row.example).cause, row.cause, row.example);
  }
  deepStrictEqual(
    classifyConfigMessage("couldn't find key password in Secret shop/db-credentials"),
    {
      cause: "MissingConfigKey",
      means: "key `password` is not in Secret `db-credentials`",
      object: { kind: "Secret", name: "db-credentials" },
      key: "password",
    },
  );
});

Deno.test("configReferences lists env, envFrom and mounted volumes", () => {
  const refs = configReferences(
    pod({ ...ENV, volumeMounts: [{ name: "tls", mountPath: "/tls" }] }, "web-1", {
      volumes: [
        { name: "tls", secret: { secretName: "web-tls" } },
        { name: "unused", configMap: { name: "not-mounted" } },
      ],
    }),
    "app",
  );
  deepStrictEqual(refs.map((r) => [r.kind, r.name, r.key ?? "", r.from, r.optional]), [
    ["ConfigMap", "app-config", "DATABASE_URL", "env DATABASE_URL", false],
    ["Secret", "db-credentials", "password", "env DB_PASSWORD", false],
    ["ConfigMap", "feature-flags", "", "envFrom", true],
    ["Secret", "web-tls", "", "volume tls", false],
  ]);
});

interface Case {
  readonly name: string;
  readonly input: ContainerConfigInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence?: readonly RegExp[];
  readonly fix?: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "a ConfigMap that does not exist (the kubelet's message)",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'configmap "app-config" not found',
      configMaps: { "app-config": false, "feature-flags": true },
    },
    cause: "MissingConfigMap",
    summary:
      /^shop\/web-1 \(container app\) cannot start \(CreateContainerConfigError\): ConfigMap app-config does not exist$/,
    evidence: [
      /ConfigMap\|app-config\|DATABASE_URL\|env DATABASE_URL\|no\|no/,
      /Secret\|db-credentials\|password\|env DB_PASSWORD\|no\|not readable/,
    ],
    fix: /Create ConfigMap `app-config` in namespace `shop` \(used by env DATABASE_URL\)/,
  },
  {
    name: "a Secret that does not exist (never read: the kubelet names it)",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'secret "db-credentials" not found',
    },
    cause: "MissingSecret",
    summary: /Secret db-credentials does not exist$/,
    fix: /kubectl create secret generic db-credentials -n shop/,
  },
  {
    name: "a key missing from a ConfigMap",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: "couldn't find key DATABASE_URL in ConfigMap shop/app-config",
      configMaps: { "app-config": true },
    },
    cause: "MissingConfigKey",
    summary: /key DATABASE_URL is not in ConfigMap app-config$/,
    fix: /Add key `DATABASE_URL` to ConfigMap `app-config` \(used by env DATABASE_URL\)/,
  },
  {
    name: "a key missing from a Secret",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: "couldn't find key password in Secret shop/db-credentials",
    },
    cause: "MissingConfigKey",
    summary: /key password is not in Secret db-credentials$/,
    fix: /Add key `password` to Secret `db-credentials`/,
  },
  {
    name: "a message naming only the variable, resolved through the spec: the ConfigMap is missing",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'couldn\'t find key for configMapKeyRef in environment variable "DATABASE_URL"',
      configMaps: { "app-config": false },
    },
    cause: "MissingConfigMap",
    summary: /ConfigMap app-config does not exist$/,
  },
  {
    name: "a message naming only the variable, resolved through the spec: the key is missing",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'couldn\'t find key for configMapKeyRef in environment variable "DATABASE_URL"',
      configMaps: { "app-config": true },
    },
    cause: "MissingConfigKey",
    summary: /key DATABASE_URL is not in ConfigMap app-config$/,
  },
  {
    name: "a Secret variable named only by the variable is not guessed",
    input: {
      pod: pod(ENV),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'couldn\'t find key for secretKeyRef in environment variable "DB_PASSWORD"',
    },
    cause: "Unknown",
    summary: /cause not recognised$/,
  },
  {
    name: "a command missing from the image",
    input: {
      pod: pod({ command: ["serve"] }),
      container: "app",
      reason: "RunContainerError",
      message:
        'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "serve": executable file not found in $PATH: unknown',
    },
    cause: "CommandNotFound",
    summary: /its command serve does not exist in the image$/,
    evidence: [/command\|serve/],
    fix: /Correct `command`\/`args`/,
  },
  {
    name: "runAsNonRoot with a root image: explained, not labelled",
    input: {
      pod: pod(),
      container: "app",
      reason: "CreateContainerConfigError",
      message:
        'container has runAsNonRoot and image will run as root (pod: "web-1_shop(5f1c2a4e-0d3b-4c59-9a0e-6b7f3e2d1c0a)", container: app)',
    },
    cause: "Unknown",
    summary: /`?runAsNonRoot`? is set but the image runs as root/,
    fix: /runAsUser/,
  },
  {
    name: "three replicas blocked the same way",
    input: {
      pod: pod(ENV, "web-a"),
      container: "app",
      reason: "CreateContainerConfigError",
      message: 'configmap "app-config" not found',
      workload: "Deployment/shop/web",
      siblings: [pod(ENV, "web-b"), pod(ENV, "web-c")],
    },
    cause: "MissingConfigMap",
    summary: /^3 pods of Deployment\/shop\/web \(container app\) cannot start/,
    evidence: [/web-b\|app\|waiting\|CreateContainerConfigError/],
    fix: /correct its name in Deployment shop\/web's pod template/,
  },
];

for (const c of CASES) {
  Deno.test(`explainContainerConfig: ${c.name}`, () => {
    const explanation = explainContainerConfig(c.input);
    strictEqual(explanation.cause, c.cause);
    ok(c.summary.test(explanation.summary), explanation.summary);
    const evidence = text(explanation);
    for (const pattern of c.evidence ?? []) ok(pattern.test(evidence), `${pattern}\n${evidence}`);
    if (c.fix !== undefined) {
      ok(explanation.fix.some((f) => c.fix?.test(f)), explanation.fix.join("\n"));
    }
  });
}

Deno.test("the workflow looks the ConfigMaps up, never the Secrets", async () => {
  const object = pod(ENV);
  const event = fakeEvent("pod.containerConfigError", {
    object,
    container: "app",
    reason: "CreateContainerConfigError",
    message: 'couldn\'t find key for configMapKeyRef in environment variable "DATABASE_URL"',
  });
  const run = await runWorkflow(workflow, event, {
    objects: [object, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { namespace: "shop", name: "feature-flags" },
    }],
  });
  strictEqual(run.findings[0]?.labels?.["cause"], "MissingConfigMap");
  strictEqual(run.findings[0]?.dedupeKey, "MissingConfigMap/Pod/shop/web-1/app");
  const gets = run.calls.filter((c) => c.method === "k8s.get").map((c) => c.params["kind"]);
  ok(gets.includes("ConfigMap"));
  ok(!gets.includes("Secret"));
});

Deno.test("the workflow leaves image errors and crash-looping start errors to the others", async () => {
  const image = fakeEvent("pod.containerConfigError", {
    container: "app",
    reason: "InvalidImageName",
    message: 'Failed to apply default image tag "Shop/Web": couldn\'t parse image name',
  });
  strictEqual((await runWorkflow(workflow, image)).findings.length, 0);
  const looping = pod({ command: ["serve"] });
  const crash = fakeEvent("pod.containerConfigError", {
    object: {
      ...looping,
      status: {
        containerStatuses: [{
          name: "app",
          image: "shop/web:1",
          imageID: "",
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 128, reason: "StartError" } },
        }],
      },
    },
    container: "app",
    reason: "StartError",
  });
  strictEqual((await runWorkflow(workflow, crash)).findings.length, 0);
});
