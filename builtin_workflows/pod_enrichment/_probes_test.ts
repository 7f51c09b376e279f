// Unit tests of the probe analyzer (`_probes.ts`) with plain objects, one row per cause with the
// kubelet's real `Unhealthy` message, and of the workflow's `pod.probeFailing` path.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { K8sEvent, V1Container, V1Pod } from "@wfhost/sdk";
import { fakeEvent, runWorkflow } from "@wfhost/sdk/testing.ts";
import {
  classifyProbeMessage,
  explainProbe,
  PROBE_OUTCOMES,
  type ProbeInput,
  probeTarget,
  probeTypeOf,
} from "./_probes.ts";
import workflow from "./pod-investigator-enricher.ts";
import { evidenceText as text } from "./_evidence_text_test_support.ts";

function pod(container: Partial<V1Container> = {}, name = "web-1", restarts = 0): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "shop", name },
    spec: {
      nodeName: "node-1",
      containers: [{
        name: "app",
        image: "shop/web:1",
        ports: [{ name: "http", containerPort: 8080 }],
        ...container,
      }],
    },
    status: {
      phase: "Running",
      containerStatuses: [{
        name: "app",
        image: "shop/web:1",
        imageID: "",
        ready: false,
        restartCount: restarts,
        state: { running: { startedAt: "2026-12-03T10:00:00Z" } },
      }],
    },
  };
}

function unhealthy(message: string, name = "web-1"): K8sEvent {
  return {
    namespace: "shop",
    name: `${name}.1`,
    type: "Warning",
    reason: "Unhealthy",
    message,
    count: 7,
    firstTimestamp: "2026-12-03T10:00:10Z",
    lastTimestamp: "2026-12-03T10:01:10Z",
    involvedObject: { kind: "Pod", namespace: "shop", name },
  };
}

Deno.test("every outcome's real message classifies as itself", () => {
  for (const row of PROBE_OUTCOMES) {
    strictEqual(classifyProbeMessage(row.example).outcome.kind, row.kind, row.example);
  }
  strictEqual(
    classifyProbeMessage("Liveness probe failed: HTTP probe failed with statuscode: 503").means,
    "the health endpoint answered HTTP 503",
  );
});

Deno.test("probeTypeOf reads the kubelet's prefix, combined events included", () => {
  strictEqual(probeTypeOf("Liveness probe failed: x"), "liveness");
  strictEqual(
    probeTypeOf("(combined from similar events): Readiness probe failed: x"),
    "readiness",
  );
  strictEqual(probeTypeOf("Startup probe errored and resulted in unknown state: x"), "startup");
  strictEqual(probeTypeOf("something else"), undefined);
});

Deno.test("probeTarget says what each handler checks", () => {
  deepStrictEqual(
    [
      probeTarget({ httpGet: { path: "/healthz", port: 8080 } }),
      probeTarget({ tcpSocket: { port: 6379 } }),
      probeTarget({ exec: { command: ["cat", "/tmp/healthy"] } }),
      probeTarget({ grpc: { port: 9090 } }),
    ],
    ["GET http://:8080/healthz", "tcp :6379", "exec cat /tmp/healthy", "grpc :9090"],
  );
});

interface Case {
  readonly name: string;
  readonly input: ProbeInput;
  readonly cause: string;
  readonly summary: RegExp;
  readonly evidence?: readonly RegExp[];
  readonly fix?: RegExp;
  readonly severity?: string;
}

const LIVENESS = "Liveness probe failed: HTTP probe failed with statuscode: 500";

const CASES: readonly Case[] = [
  {
    name: "a liveness probe answering 500 restarts the container",
    input: {
      pod: pod(
        {
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 },
        },
        "web-1",
        4,
      ),
      container: "app",
      probe: "liveness",
      message: LIVENESS,
      event: unhealthy(LIVENESS),
      events: [unhealthy(LIVENESS), {
        ...unhealthy("Container app failed liveness probe, will be restarted"),
        type: "Normal",
        reason: "Killing",
      }],
    },
    cause: "LivenessProbeFailed",
    summary:
      /^shop\/web-1 \(container app\): the liveness probe \(GET http:\/\/:8080\/healthz\) fails: the health endpoint answered HTTP 500; the kubelet restarts the container \(4 restarts so far\)$/,
    evidence: [
      /7 times, last 2026-12-03T10:01:10Z/,
      /checks\|GET http:\/\/:8080\/healthz/,
      /periodSeconds\|5\n/,
      /timeoutSeconds\|1 \(default\)/,
      /Killing\|.*failed liveness probe, will be restarted/,
    ],
    fix: /should only fail when restarting helps/,
  },
  {
    name: "a readiness probe on a port nothing listens on",
    input: {
      pod: pod({ readinessProbe: { httpGet: { path: "/ready", port: 8081 } } }),
      container: "app",
      probe: "readiness",
      message:
        'Readiness probe failed: Get "http://10.244.0.7:8081/ready": dial tcp 10.244.0.7:8081: connect: connection refused',
    },
    cause: "ReadinessProbeFailed",
    summary: /readiness probe .* fails: nothing listens on the probed port; the pod is taken out/,
    evidence: [/declared ports\|http=8080/],
    fix: /checks port `8081`, which container app does not declare \(http=8080\)/,
    severity: "medium",
  },
  {
    name: "a startup probe that times out",
    input: {
      pod: pod({ startupProbe: { tcpSocket: { port: "http" }, failureThreshold: 3 } }),
      container: "app",
      message:
        'Startup probe failed: Get "http://10.244.0.7:8080/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
    },
    cause: "StartupProbeFailed",
    summary: /startup probe \(tcp :http\) fails: the check did not answer within `timeoutSeconds`/,
    evidence: [/failureThreshold\|3\n/],
    fix: /raise `failureThreshold` × `periodSeconds`/,
  },
  {
    name: "an exec probe's own output",
    input: {
      pod: pod({ livenessProbe: { exec: { command: ["cat", "/tmp/healthy"] } } }),
      container: "app",
      probe: "liveness",
      message: "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory",
    },
    cause: "LivenessProbeFailed",
    summary: /\(exec cat \/tmp\/healthy\) fails: the check reported failure/,
    fix: /Run the probe's command/,
  },
  {
    name: "without the pod, from the event alone",
    input: {
      container: "app",
      message: 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
      event: unhealthy('Readiness probe failed: service unhealthy (responded with "NOT_SERVING")'),
    },
    cause: "ReadinessProbeFailed",
    summary:
      /^shop\/web-1 \(container app\): the readiness probe fails: the gRPC health service answered NOT_SERVING/,
  },
  {
    name: "a message naming no probe is not guessed",
    input: { pod: pod(), container: "app", message: "something failed" },
    cause: "Unknown",
    summary: /fails a probe: cause not recognised$/,
  },
  {
    name: "replicas failing the same probe",
    input: {
      pod: pod({ livenessProbe: { httpGet: { path: "/healthz", port: 8080 } } }, "web-a"),
      container: "app",
      probe: "liveness",
      message: LIVENESS,
      workload: "Deployment/shop/web",
      siblings: [pod({}, "web-b")],
    },
    cause: "LivenessProbeFailed",
    summary: /^2 pods of Deployment\/shop\/web \(container app\): the liveness probe/,
    evidence: [/web-b\|app\|running/],
  },
];

for (const c of CASES) {
  Deno.test(`explainProbe: ${c.name}`, () => {
    const explanation = explainProbe(c.input);
    strictEqual(explanation.cause, c.cause);
    ok(c.summary.test(explanation.summary), explanation.summary);
    const evidence = text(explanation);
    for (const pattern of c.evidence ?? []) ok(pattern.test(evidence), `${pattern}\n${evidence}`);
    if (c.fix !== undefined) {
      ok(explanation.fix.some((f) => c.fix?.test(f)), explanation.fix.join("\n"));
    }
    if (c.cause === "Unknown") deepStrictEqual(explanation.fix, []);
    if (c.severity !== undefined) strictEqual(explanation.severity, c.severity);
  });
}

Deno.test("the workflow explains a probeFailing event with the pod's probe", async () => {
  const object = pod({ livenessProbe: { httpGet: { path: "/healthz", port: 8080 } } });
  const event = fakeEvent("pod.probeFailing", {
    k8sEvent: unhealthy(LIVENESS),
    object,
    container: "app",
    probe: "liveness",
    reason: "Unhealthy",
    message: LIVENESS,
  });
  const run = await runWorkflow(workflow, event, {
    objects: [object],
    responses: { "k8s.events": { items: [unhealthy(LIVENESS)] } },
  });
  const finding = run.findings[0];
  strictEqual(finding?.labels?.["cause"], "LivenessProbeFailed");
  strictEqual(finding?.labels?.["probe"], "liveness");
  strictEqual(finding?.dedupeKey, "LivenessProbeFailed/Pod/shop/web-1/app");
  ok(finding?.body?.includes("GET http://:8080/healthz"), finding?.body);
});

Deno.test("the workflow copes with an event that carries no Kubernetes Event", async () => {
  // A hand-made event (or an older host) may leave the Kubernetes Event out.
  const object = pod({ readinessProbe: { tcpSocket: { port: 8080 } } });
  const message = "Readiness probe failed: dial tcp 10.244.0.7:8080: connect: connection refused";
  const event = {
    ...fakeEvent("pod.probeFailing", {
      object,
      container: "app",
      probe: "readiness",
      reason: "Unhealthy",
      message,
    }),
    k8sEvent: undefined,
  } as unknown as Parameters<typeof workflow.run>[1];
  const run = await runWorkflow(workflow, event, {
    objects: [object],
    responses: { "k8s.events": { items: [] } },
  });
  strictEqual(run.findings[0]?.labels?.["cause"], "ReadinessProbeFailed");
  strictEqual(run.findings[0]?.subject?.name, "web-1");
});

Deno.test("a liveness probe of a crash-looping container is left to the restart-loop reporter", async () => {
  const base = pod({ livenessProbe: { httpGet: { path: "/healthz", port: 8080 } } }, "web-1", 5);
  const object: V1Pod = {
    ...base,
    status: {
      containerStatuses: [{
        name: "app",
        image: "shop/web:1",
        imageID: "",
        ready: false,
        restartCount: 5,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: { terminated: { exitCode: 137, reason: "Error" } },
      }],
    },
  };
  const event = fakeEvent("pod.probeFailing", {
    k8sEvent: unhealthy(LIVENESS),
    object,
    container: "app",
    probe: "liveness",
    reason: "Unhealthy",
    message: LIVENESS,
  });
  const run = await runWorkflow(workflow, event, { objects: [object] });
  strictEqual(run.findings.length, 0);
});
