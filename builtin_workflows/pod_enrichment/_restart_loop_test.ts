// Unit tests of restart-loop-reporter: the analyzer with plain objects, one row per cause with
// the real message or log it was taken from, the message tables, and the workflow with the
// SDK's fake cluster (owners, siblings, the dedupe key, what it does not report).

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type {
  K8sEvent,
  KubeObject,
  V1Container,
  V1ContainerStateTerminated,
  V1ContainerStatus,
  V1Pod,
} from "@wfhost/sdk";
import type { Cause, Explanation } from "@wfhost/sdk/explain.ts";
import {
  fakeDeployment,
  fakeEvent,
  fakePod,
  fakePodObject,
  fakeReplicaSet,
  runWorkflow,
  type TestObject,
} from "@wfhost/sdk/testing.ts";
import {
  analyzeRestartLoop,
  classifyLog,
  LOG_RULES,
  PROBE_RULES,
  type RestartLoopInput,
  WHY_LINE_RULES,
  whyLine,
} from "./_restart_loop.ts";
import workflow from "./restart-loop-reporter.ts";

const STARTED = "2024-05-01T09:59:58Z";
const FINISHED = "2024-05-01T10:00:01Z";
const LABELS = { app: "web", "pod-template-hash": "5d8f7c9b4" };

interface PodOptions {
  readonly name?: string;
  readonly restartPolicy?: string;
  readonly container?: Partial<V1Container>;
  readonly state?: V1ContainerStatus["state"];
  readonly deleting?: boolean;
}

/** A pod of the fake Deployment whose container `app` crash-loops with `terminated`. */
function crashed(
  terminated: Partial<V1ContainerStateTerminated> & { readonly exitCode: number },
  options: PodOptions = {},
): V1Pod {
  const base = fakePodObject(fakePod({ name: options.name ?? "web-1", labels: LABELS }));
  const container = { ...(base.spec?.containers[0] ?? { name: "app" }), ...options.container };
  const status: V1ContainerStatus = {
    name: "app",
    image: "example/web:1.0",
    imageID: "",
    ready: false,
    restartCount: 4,
    state: options.state ?? {
      waiting: {
        reason: "CrashLoopBackOff",
        message: "back-off 40s restarting failed container=app pod=web-1_default(0b9c)",
      },
    },
    lastState: {
      terminated: {
        reason: "Error",
        startedAt: STARTED,
        finishedAt: FINISHED,
        containerID: "containerd://4b1f",
        ...terminated,
      },
    },
  };
  return {
    ...base,
    metadata: {
      ...base.metadata,
      ...(options.deleting ? { deletionTimestamp: "2024-05-01T10:00:05Z" } : {}),
    },
    spec: {
      ...base.spec,
      containers: [container],
      restartPolicy: options.restartPolicy ?? "Always",
    },
    status: { ...base.status, containerStatuses: [status] },
  };
}

function event(reason: string, message: string, type = "Warning"): K8sEvent {
  return {
    namespace: "default",
    name: `web-1.${reason}`,
    type,
    reason,
    message,
    count: 3,
    firstTimestamp: "2024-05-01T09:59:00Z",
    lastTimestamp: "2024-05-01T10:00:00Z",
    involvedObject: { kind: "Pod", namespace: "default", name: "web-1" },
  };
}

function input(pod: V1Pod, overrides: Partial<RestartLoopInput> = {}): RestartLoopInput {
  return {
    pod,
    container: "app",
    previousLog: "",
    currentLog: "",
    events: [],
    owners: [],
    siblings: [pod],
    tailLines: 40,
    ...overrides,
  };
}

function text(explanation: Explanation): string {
  return [
    explanation.summary,
    ...explanation.evidence.map((item) =>
      item.kind === "table"
        ? [item.table.title, ...item.table.rows.map((row) => row.join(" | "))].join("\n")
        : `${item.title}: ${item.text}`
    ),
  ].join("\n");
}

const LIVENESS_PROBE = {
  httpGet: { path: "/healthz", port: 8080 },
  periodSeconds: 10,
  failureThreshold: 3,
};

// One row per cause, each with the real log or message it was taken from.
const CASES: readonly {
  readonly name: string;
  readonly cause: Cause;
  readonly input: RestartLoopInput;
  readonly says: readonly (string | RegExp)[];
}[] = [
  {
    name: "a Python module missing from the image (python -c 'import nosuchmodule_xyz')",
    cause: "MissingPackage",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nModuleNotFoundError: No module named 'nosuchmodule_xyz'\n",
    }),
    says: ["`nosuchmodule_xyz` is missing from the image", "exit code 1"],
  },
  {
    name: "a Node.js package missing (require('express'))",
    cause: "MissingPackage",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        "node:internal/modules/cjs/loader:1080\n  throw err;\n  ^\n\nError: Cannot find module 'express'\nRequire stack:\n- /app/server.js\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1077:15)\n",
    }),
    says: ["`express` is missing"],
  },
  {
    name: "a path it may not write (open('/proc/1/mem', 'w'))",
    cause: "PermissionDenied",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nPermissionError: [Errno 13] Permission denied: '/proc/1/mem'\n",
    }),
    says: ["may not write `/proc/1/mem`"],
  },
  {
    name: "a read-only root file system",
    cause: "PermissionDenied",
    input: input(crashed({ exitCode: 1 }), {
      previousLog: "OSError: [Errno 30] Read-only file system: '/app/cache'\n",
    }),
    says: ["`/app/cache`", "Read-only file system"],
  },
  {
    name: "a dependency refusing connections (socket.create_connection(('127.0.0.1', 1)))",
    cause: "DependencyUnreachable",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n    socket.create_connection((\'127.0.0.1\', 1))\n  File "/usr/local/lib/python3.11/socket.py", line 851, in create_connection\n    raise exceptions[0]\nConnectionRefusedError: [Errno 111] Connection refused\n',
    }),
    says: ["cannot reach `127.0.0.1:1`", "Connection refused"],
  },
  {
    name: "a database host name that does not resolve (psycopg2)",
    cause: "DependencyUnreachable",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        'psycopg2.OperationalError: could not translate host name "db" to address: Name or service not known\n',
    }),
    says: ["cannot reach `db`"],
  },
  {
    name: "an application error with a clear last line (sh -c '...; exit 3')",
    cause: "ApplicationError",
    input: input(crashed({ exitCode: 3 }), {
      previousLog: "starting shop\nFATAL: config /etc/shop/app.yaml not found\n",
    }),
    says: [
      "exits with code 3: FATAL: config /etc/shop/app.yaml not found",
      "The log line that says why",
    ],
  },
  {
    name: "a Python exception, not the traceback's frames",
    cause: "ApplicationError",
    input: input(crashed({ exitCode: 1 }), {
      previousLog:
        "Traceback (most recent call last):\n  File \"/app/main.py\", line 9, in <module>\n    url = os.environ['DATABASE_URL']\n  File \"<frozen os>\", line 679, in __getitem__\nKeyError: 'DATABASE_URL'\n",
    }),
    says: ["exits with code 1: KeyError: 'DATABASE_URL'"],
  },
  {
    name: "an application error that wrote no log (exit 1, the guides' classic)",
    cause: "ApplicationError",
    input: input(crashed({ exitCode: 1 })),
    says: ["exits with code 1 and its last run wrote no log"],
  },
  {
    name: "OOM-killed at its limit (137, OOMKilled)",
    cause: "OOMKilled",
    input: input(crashed({ exitCode: 137, reason: "OOMKilled" })),
    says: ["OOM-killed (exit code 137) at its memory limit of 256Mi", "SIGKILL"],
  },
  {
    name: "killed by a failing liveness probe (the kubelet's Unhealthy and Killing events)",
    cause: "LivenessProbeFailed",
    input: input(crashed({ exitCode: 137 }, { container: { livenessProbe: LIVENESS_PROBE } }), {
      events: [
        event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500"),
        event("Killing", "Container app failed liveness probe, will be restarted", "Normal"),
      ],
    }),
    says: [
      "liveness probe fails and the kubelet restarts it: Liveness probe failed: HTTP probe failed with statuscode: 500",
      "HTTP GET /healthz on port 8080",
    ],
  },
  {
    name: "killed by a failing startup probe",
    cause: "StartupProbeFailed",
    input: input(crashed({ exitCode: 143 }), {
      events: [event("Killing", "Container app failed startup probe, will be restarted", "Normal")],
    }),
    says: ["startup probe fails"],
  },
  {
    name: "a service that exits 0 under restartPolicy Always (sh -c 'echo done; exit 0')",
    cause: "ExitedZero",
    input: input(crashed({ exitCode: 0, reason: "Completed" }), { previousLog: "done\n" }),
    says: ["exits with code 0", "restartPolicy: Always"],
  },
  {
    name: "stopped by SIGTERM (143)",
    cause: "Terminated",
    input: input(crashed({ exitCode: 143 })),
    says: ["stopped by SIGTERM (exit code 143)"],
  },
  {
    name: "killed by SIGKILL, not by the OOM killer (137, Error)",
    cause: "Terminated",
    input: input(crashed({ exitCode: 137 })),
    says: ["killed by SIGKILL (exit code 137), not by the OOM killer"],
  },
  {
    name: "a segfault (python -c 'import ctypes; ctypes.string_at(0)')",
    cause: "Segfault",
    input: input(crashed({ exitCode: 139 })),
    says: ["segmentation fault (exit code 139, SIGSEGV)"],
  },
  {
    name: "a command the shell cannot find (sh -c 'nosuchcommand-xyz')",
    cause: "CommandNotFound",
    input: input(
      crashed({ exitCode: 127 }, { container: { command: ["sh", "-c", "nosuchcommand-xyz"] } }),
      {
        previousLog: "sh: 1: nosuchcommand-xyz: not found\n",
      },
    ),
    says: ["`nosuchcommand-xyz` does not exist in the image (exit code 127"],
  },
  {
    name: "a command the runtime cannot start (StartError)",
    cause: "CommandNotFound",
    input: input(
      crashed({
        exitCode: 128,
        reason: "StartError",
        message:
          'failed to create containerd task: failed to start container process: exec: "nosuch-binary-xyz": executable file not found in $PATH: unknown',
      }, { container: { command: ["nosuch-binary-xyz"] } }),
    ),
    says: [
      "`nosuch-binary-xyz` does not exist in the image: the runtime cannot start it (StartError)",
    ],
  },
  {
    name: "a script without its executable bit (126)",
    cause: "CommandNotFound",
    input: input(crashed({ exitCode: 126 }), {
      previousLog: "sh: 1: ./run.sh: Permission denied\n",
    }),
    says: ["`./run.sh` cannot be executed (exit code 126)"],
  },
  {
    name: "an exit code past the application's range with no log (255)",
    cause: "Unknown",
    input: input(crashed({ exitCode: 255 })),
    says: ["cause not recognised: it ends with exit code 255"],
  },
  {
    name: "no termination recorded at all",
    cause: "Unknown",
    input: input({
      ...crashed({ exitCode: 1 }),
      status: { phase: "Running", containerStatuses: [] },
    }),
    says: ["cause not recognised: the kubelet reported no termination"],
  },
];

for (const row of CASES) {
  Deno.test(`restart loop: ${row.name} → ${row.cause}`, () => {
    const explanation = analyzeRestartLoop(row.input);
    strictEqual(explanation.cause, row.cause, explanation.summary);
    const all = text(explanation);
    for (const expected of row.says) {
      if (typeof expected === "string") ok(all.includes(expected), `${expected}\nnot in\n${all}`);
      else match(all, expected);
    }
    match(explanation.summary, /^default\/web-1 \(container app\) is crash-looping: /);
    strictEqual(explanation.fix.length > 0, row.cause !== "Unknown");
  });
}

Deno.test("every log rule matches the real message it was taken from, and names its cause", () => {
  for (const rule of LOG_RULES) {
    ok(rule.pattern.test(rule.example), `${rule.pattern} does not match ${rule.example}`);
    // The command rules are asked only when the exit code says the command did not run.
    const found = classifyLog(
      rule.example,
      rule.cause === "CommandNotFound" ? [rule.cause] : undefined,
    );
    strictEqual(found?.cause, rule.cause, rule.example);
  }
  for (const rule of PROBE_RULES) ok(rule.pattern.test(rule.example), rule.example);
  for (const rule of WHY_LINE_RULES) strictEqual(whyLine(rule.example)?.ranked, true, rule.example);
});

Deno.test("the line that says why: the last exception or fatal line, else the last line", () => {
  deepStrictEqual(
    whyLine(
      "boot\npanic: runtime error: index out of range\ngoroutine 1 [running]:\nmain.main()\n",
    ),
    {
      line: "panic: runtime error: index out of range",
      ranked: true,
    },
  );
  deepStrictEqual(whyLine("one\ntwo\n"), { line: "two", ranked: false });
  strictEqual(whyLine("\n\n"), undefined);
  // A chained Java exception: its root cause is the last "Caused by".
  strictEqual(
    whyLine(
      'Exception in thread "main" java.lang.IllegalStateException: boot failed\n\tat App.main(App.java:9)\nCaused by: java.io.FileNotFoundException: /etc/app.conf (No such file or directory)\n\t... 1 more\n',
    )?.line,
    "Caused by: java.io.FileNotFoundException: /etc/app.conf (No such file or directory)",
  );
});

Deno.test("the evidence: termination decoded, timeline, both log tails, events, owner", () => {
  const pod = crashed({ exitCode: 3 }, {
    state: { running: { startedAt: "2024-05-01T10:00:41Z" } },
  });
  const explanation = analyzeRestartLoop(input(pod, {
    previousLog: "a\nb\nc\nFATAL: boom\n",
    currentLog: "a\nb\n",
    tailLines: 2,
    events: [
      event("BackOff", "Back-off restarting failed container app in pod web-1_default(0b9c)"),
    ],
    owners: [fakeReplicaSet(), fakeDeployment()] as unknown as KubeObject[],
    notes: ["the pod's events: refused"],
  }));
  const titles = explanation.evidence.map((item) =>
    item.kind === "table" ? item.table.title : item.title
  );
  deepStrictEqual(titles, [
    "Last termination",
    "The log line that says why",
    "Restart timeline of container app",
    "Previous run, last 2 lines",
    "Current run, last 2 lines",
    "Recent events of web-1",
    "Owner",
    "Crash-looping pods of Deployment/default/web (1)",
    "Not read",
  ]);
  const previous = explanation.evidence[3];
  strictEqual(previous?.kind === "log" ? previous.text : "", "c\nFATAL: boom");
  const all = text(explanation);
  ok(
    all.includes(
      "exit code 3: exited with code 3 (the application's own error code); reason Error",
    ),
    all,
  );
  ok(all.includes("after running 3s"), all);
  ok(
    all.includes("Deployment/default/web (Pod web-1 → ReplicaSet web-5d8f7c9b4 → Deployment web)"),
    all,
  );
  ok(all.includes("back-offs | 3 times"), all);
});

// -- the workflow, with the SDK's fake cluster -------------------------------------------------

const LOG = "starting shop\nFATAL: config /etc/shop/app.yaml not found\n";

function cluster(pods: readonly V1Pod[]): TestObject[] {
  return [fakeDeployment(), fakeReplicaSet(), ...pods];
}

function crashEvent(pod: V1Pod) {
  return fakeEvent("pod.crashLoop", {
    pod: fakePod({ name: pod.metadata?.name ?? "web-1", labels: LABELS }),
    object: pod,
  });
}

const RESPONSES = {
  "k8s.podLogs": { text: LOG },
  "k8s.events": { items: [] },
} as const;

Deno.test("ten replicas crashing the same way: one finding naming all ten, under one dedupe key", async () => {
  const replicas = Array.from(
    { length: 10 },
    (_, i) => crashed({ exitCode: 3 }, { name: `web-${i}` }),
  );
  const healthy = crashed({ exitCode: 3 }, {
    name: "web-ok",
    state: { running: { startedAt: FINISHED } },
  });
  const otherWay = crashed({ exitCode: 137, reason: "OOMKilled" }, { name: "web-oom" });
  const keys = new Set<string | undefined>();
  for (const pod of [replicas[0], replicas[7]]) {
    if (pod === undefined) continue;
    const run = await runWorkflow(workflow, crashEvent(pod), {
      params: { groupSeconds: 0 },
      objects: cluster([
        ...replicas,
        {
          ...healthy,
          status: {
            ...healthy.status,
            containerStatuses: (healthy.status?.containerStatuses ?? []).map((s) => ({
              ...s,
              lastState: {},
            })),
          },
        },
        otherWay,
      ]),
      responses: RESPONSES,
    });
    strictEqual(run.findings.length, 1);
    const [finding] = run.findings;
    deepStrictEqual(finding?.labels, {
      container: "app",
      cause: "ApplicationError",
      workload: "Deployment/default/web",
      namespace: "default",
    });
    keys.add(finding?.dedupeKey);
    match(
      finding?.title ?? "",
      /^10 pods of Deployment\/default\/web \(container app\) are crash-looping: /,
    );
    const table = finding?.tables?.find((t) => t.title?.startsWith("Crash-looping pods"));
    deepStrictEqual(table?.rows.map((row) => row[0]), replicas.map((p) => p.metadata?.name).sort());
  }
  deepStrictEqual([...keys], ["ApplicationError/Deployment/default/web/app"]);
});

Deno.test("a pod gone or being deleted by the time it runs (a rollout, a scale-down): no finding", async () => {
  const pod = crashed({ exitCode: 143 });
  const gone = await runWorkflow(workflow, crashEvent(pod), {
    params: { groupSeconds: 0 },
    objects: cluster([]),
    responses: RESPONSES,
  });
  deepStrictEqual(gone.findings, []);
  const deleting = crashed({ exitCode: 143 }, { deleting: true });
  const run = await runWorkflow(workflow, crashEvent(deleting), {
    params: { groupSeconds: 0 },
    objects: cluster([deleting]),
    responses: RESPONSES,
  });
  deepStrictEqual(run.findings, []);
});

Deno.test("reads what it can: unreadable logs and events are said, not fatal; the reads it makes", async () => {
  const pod = crashed({ exitCode: 139 });
  const run = await runWorkflow(workflow, crashEvent(pod), {
    params: { groupSeconds: 0, tailLines: 7 },
    objects: cluster([pod]),
    responses: {
      "k8s.podLogs": new Error('previous terminated container "app" in pod "web-1" not found'),
      "k8s.events": { items: [] },
    },
  });
  const [finding] = run.findings;
  strictEqual(finding?.labels?.["cause"], "Segfault");
  ok(
    finding?.body?.includes("**Not read:** the previous run's log: previous terminated container"),
    finding?.body,
  );
  const logCalls = run.calls.filter((call) => call.method === "k8s.podLogs").map((call) =>
    call.params
  );
  deepStrictEqual(logCalls.map((p) => [p["previous"], p["tailLines"], p["container"]]), [
    [true, 7, "app"],
    [false, 7, "app"],
  ]);
});

Deno.test("a bare pod is its own workload", async () => {
  const owned = crashed({ exitCode: 1 });
  const pod: V1Pod = { ...owned, metadata: { ...owned.metadata, ownerReferences: [] } };
  const run = await runWorkflow(workflow, crashEvent(pod), {
    params: { groupSeconds: 0 },
    objects: [pod],
    responses: RESPONSES,
  });
  strictEqual(run.findings[0]?.labels?.["workload"], "Pod/default/web-1");
  strictEqual(run.findings[0]?.dedupeKey, "ApplicationError/Pod/default/web-1/app");
});

Deno.test("waits groupSeconds after the crash loop began before listing the replicas", async () => {
  const pod = crashed({ exitCode: 1 });
  const began = Date.now();
  await runWorkflow(workflow, { ...crashEvent(pod), time: new Date().toISOString() }, {
    params: { groupSeconds: 0.3 },
    objects: cluster([pod]),
    responses: RESPONSES,
  });
  ok(Date.now() - began >= 250, `${Date.now() - began} ms`);
});
