// Unit tests of the pod-troubleshooting built-ins with the SDK's test helpers: the cases the
// local cluster cannot produce (the debug agent's own processes in the pid namespace, alerts,
// a failing agent) and the process selection rules. Run by tests/builtins/test_workflow_units.py.

import { deepStrictEqual, match, ok, rejects, strictEqual } from "node:assert/strict";
import {
  type GoProfileResult,
  type JavaProfileResult,
  type JavaThreadDumpResult,
  type NetworkCheckResult,
  type NodeProfileResult,
  type ProcessInfo,
  type PythonDebuggerResult,
  type PythonStackTraceResult,
  UpstreamError,
} from "@wfhost/sdk";
import { fakeEvent, fakePod, runWorkflow, type TestResponses } from "@wfhost/sdk/testing";
import debuggerWorkflow from "../../builtin_workflows/pod_troubleshooting/python-debugger.ts";
import processListWorkflow from "../../builtin_workflows/pod_troubleshooting/pod-process-list.ts";
import profilerWorkflow from "../../builtin_workflows/pod_troubleshooting/python-profiler.ts";
import stackWorkflow from "../../builtin_workflows/pod_troubleshooting/debugger-stack-trace.ts";
import goWorkflow from "../../builtin_workflows/pod_troubleshooting/go-profiler.ts";
import nodeWorkflow from "../../builtin_workflows/pod_troubleshooting/node-profiler.ts";
import javaWorkflow from "../../builtin_workflows/pod_troubleshooting/java-profiler.ts";
import networkWorkflow, {
  sortTargets,
} from "../../builtin_workflows/pod_troubleshooting/network-check.ts";

function proc(pid: number, cmdline: string[], overrides: Partial<ProcessInfo> = {}): ProcessInfo {
  const python = cmdline[0]?.startsWith("python") ?? false;
  return {
    pid,
    ppid: 1,
    user: "app",
    exe: null,
    cmdline,
    threads: 1,
    rssBytes: 1 << 20,
    cpuPercent: 1,
    startTime: "2024-05-01T10:00:00Z",
    python,
    pythonVersion: python ? "3.11" : null,
    runtime: python ? "python" : "native",
    runtimeVersion: python ? "3.11" : null,
    runtimeDetail: null,
    ...overrides,
  };
}

function goProc(pid: number, cmdline: string[]): ProcessInfo {
  return proc(pid, cmdline, { runtime: "go", runtimeVersion: "go1.22.3" });
}

function listing(...processes: ProcessInfo[]): TestResponses {
  return { "debug.processList": { scopePid: null, processes } };
}

function stacks(pid: number): PythonStackTraceResult {
  return {
    pid,
    count: 1,
    intervalSeconds: 1,
    snapshots: [{
      takenAt: "2024-05-01T10:00:00Z",
      threads: [{
        threadId: 1,
        osThreadId: pid,
        name: "MainThread",
        active: true,
        ownsGil: true,
        frames: [{ function: "serve", file: "/app/app.py", line: 10, locals: null }],
      }],
    }],
  };
}

function debuggerResult(pid: number, port: number): PythonDebuggerResult {
  return {
    pid,
    host: "127.0.0.1",
    port,
    debugpyVersion: "1.8.0",
    debugpySource: "agent",
    portForwardCommand: `kubectl port-forward --namespace <namespace> pod/<pod> ${port}:${port}`,
    launchJson: { name: "Attach", type: "debugpy", request: "attach" },
    injection: { strategy: "pending-call", threadId: pid, gdbSeconds: 0.4 },
  };
}

const MANUAL = fakeEvent("manual", {
  target: { namespace: "shop", pod: "web-1", container: "app" },
  pod: fakePod({ namespace: "shop", name: "web-1" }),
});

Deno.test("leaves out the debug agent and every process it started", async () => {
  const run = await runWorkflow(stackWorkflow, MANUAL, {
    responses: {
      ...listing(
        proc(1, ["python", "app.py"]),
        proc(40, ["/usr/local/bin/python3", "/usr/local/bin/wfhost-agent", "wait"]),
        proc(41, ["python", "-m", "host.agent", "stacktrace", "--pid", "1"], { ppid: 40 }),
        proc(42, ["gdb", "-p", "1"], { ppid: 41, python: true, pythonVersion: "3.11" }),
      ),
      "debug.pythonStackTrace": (params) => stacks(params.pid ?? 0),
    },
  });
  deepStrictEqual(
    run.calls.filter((c) => c.method === "debug.pythonStackTrace").map((c) => c.params["pid"]),
    [1],
  );
  strictEqual(run.findings.length, 1);
  match(run.findings[0]?.body ?? "", /It is the only Python process in the container/);
});

Deno.test("lists processes with the agent's left out and says so", async () => {
  const run = await runWorkflow(processListWorkflow, MANUAL, {
    responses: listing(
      proc(1, ["python", "app.py"]),
      proc(40, ["wfhost-agent", "wait"], { python: true, pythonVersion: "3.12" }),
    ),
  });
  const finding = run.findings[0];
  strictEqual(
    finding?.title,
    "1 process in shop/web-1 (container app), 1 Python: pid 1 (python app.py)",
  );
  match(finding?.body ?? "", /1 process of the debug agent is left out/);
});

Deno.test("takes the pod of an alert from its labels, and the container from the pod", async () => {
  const alert = fakeEvent("alert", {
    subject: null,
    alert: {
      status: "firing",
      labels: { alertname: "HighLatency", namespace: "shop", pod: "web-2" },
      annotations: {},
      startsAt: "2024-05-01T10:00:00Z",
    },
  });
  const run = await runWorkflow(stackWorkflow, alert, {
    responses: {
      "k8s.getPod": fakePod({
        namespace: "shop",
        name: "web-2",
        containers: [{ name: "web", image: "shop:1" }, { name: "proxy", image: "envoy" }],
      }),
      ...listing(proc(7, ["python", "app.py"])),
      "debug.pythonStackTrace": stacks(7),
    },
  });
  deepStrictEqual(run.calls[1]?.params["target"], {
    namespace: "shop",
    name: "web-2",
    container: "web",
  });
  match(run.findings[0]?.title ?? "", /^Stack trace of shop\/web-2 pid 7 \(python app\.py\)/);
});

Deno.test("fails clearly on an event that names no pod", async () => {
  await rejects(
    runWorkflow(profilerWorkflow, fakeEvent("schedule"), { responses: {} }),
    /acts on a pod, and the schedule event names none/,
  );
});

Deno.test("reports a process that is not Python, asked for by pid, without acting", async () => {
  const run = await runWorkflow(profilerWorkflow, MANUAL, {
    params: { pid: 3 },
    responses: listing(proc(1, ["python", "app.py"]), proc(3, ["nginx", "-g", "daemon off;"])),
  });
  strictEqual(
    run.findings[0]?.title,
    "Process pid 3 (nginx -g daemon off;) in shop/web-1 (container app) is not Python",
  );
  strictEqual(run.findings[0]?.severity, "low");
  ok(!run.calls.some((c) => c.method === "debug.pythonProfile"));
});

Deno.test("matches a process pattern that is not a valid expression as plain text", async () => {
  const run = await runWorkflow(stackWorkflow, MANUAL, {
    params: { process: "worker[" },
    responses: {
      ...listing(proc(1, ["python", "app.py"]), proc(2, ["python", "worker[1].py"])),
      "debug.pythonStackTrace": stacks(2),
    },
  });
  strictEqual(run.calls[1]?.params["pid"], 2);
  match(run.findings[0]?.body ?? "", /Its command line matches `process=worker\[` \(1 of 2/);
});

Deno.test("handles at most eight processes, the busiest, and says so", async () => {
  const many = Array.from(
    { length: 10 },
    (_, i) => proc(i + 1, ["python", `w${i}.py`], { cpuPercent: i }),
  );
  const run = await runWorkflow(stackWorkflow, MANUAL, {
    responses: {
      ...listing(...many),
      "debug.pythonStackTrace": (params) => stacks(params.pid ?? 0),
    },
  });
  const pids = run.calls.filter((c) => c.method === "debug.pythonStackTrace").map((c) =>
    c.params["pid"]
  );
  deepStrictEqual([...pids].sort((a, b) => Number(a) - Number(b)), [3, 4, 5, 6, 7, 8, 9, 10]);
  match(run.findings[0]?.body ?? "", /Only the 8 busiest of the 10 are handled/);
});

Deno.test("gives each Python process its own debugger port and fills in the pod", async () => {
  const run = await runWorkflow(debuggerWorkflow, MANUAL, {
    params: { port: 6000 },
    responses: {
      ...listing(proc(1, ["python", "a.py"]), proc(2, ["python", "b.py"])),
      "debug.pythonDebugger": (params) => debuggerResult(params.pid ?? 0, params.port),
    },
  });
  const ports = run.calls.filter((c) => c.method === "debug.pythonDebugger").map((
    c,
  ) => [c.params["pid"], c.params["port"]]);
  deepStrictEqual(ports, [[1, 6000], [2, 6001]]);
  match(run.findings[0]?.body ?? "", /kubectl port-forward --namespace shop pod\/web-1 6000:6000/);
  strictEqual(run.findings[1]?.attachments?.length, 1);
});

Deno.test("reports a process already being debugged and goes on with the others", async () => {
  const run = await runWorkflow(debuggerWorkflow, MANUAL, {
    responses: {
      ...listing(proc(1, ["python", "a.py"]), proc(2, ["python", "b.py"])),
      "debug.pythonDebugger": (params) => {
        if (params.pid === 1) {
          throw new UpstreamError("debugpy is already listening in process 1", {
            data: { reason: "already_debugging" },
          });
        }
        return debuggerResult(params.pid ?? 0, params.port);
      },
    },
  });
  const titles = run.findings.map((f) => f.title).sort();
  match(titles[0] ?? "", /^Could not start a debugger in shop\/web-1 pid 1 \(python a\.py\)/);
  match(titles[1] ?? "", /^Debugger listening in shop\/web-1 pid 2 \(python b\.py\) on port 5679$/);
});

Deno.test("fails the run on an agent failure that is not about one process, after the others", async () => {
  let finished = 0;
  await rejects(
    runWorkflow(stackWorkflow, MANUAL, {
      responses: {
        ...listing(proc(1, ["python", "a.py"]), proc(2, ["python", "b.py"])),
        "debug.pythonStackTrace": (params) => {
          if (params.pid === 1) {
            throw new UpstreamError("py-spy is not installed", {
              data: { reason: "tool_missing" },
            });
          }
          finished += 1;
          return stacks(params.pid ?? 0);
        },
      },
    }),
    UpstreamError,
  );
  strictEqual(finished, 1);
});

// --- go-profiler, node-profiler, network-check ------------------------------------------------

const STATS = [{
  function: "main.burnCPU",
  file: "/src/main.go",
  line: 21,
  selfSamples: 90,
  selfShare: 0.9,
  totalSamples: 95,
  totalShare: 0.95,
}];

function goProfile(pid: number, waitMinutes: number | null): GoProfileResult {
  return {
    pid,
    goVersion: "go1.22.3",
    mainPackage: "example.com/shop",
    endpoint: "http://127.0.0.1:6060/debug/pprof/",
    probedPorts: [6060],
    durationSeconds: 5,
    samples: 100,
    cpuSeconds: 1,
    topFunctions: STATS,
    goroutines: {
      total: 4,
      byState: [{ state: "chan receive", count: 3 }, { state: "running", count: 1 }],
      longestBlocked: [{
        id: 20,
        state: "chan receive",
        waitMinutes,
        lockedToThread: false,
        function: "main.waitForOrders",
        file: "/src/main.go",
        line: 29,
        createdBy: "main.main (/src/main.go:49)",
      }],
    },
    artifacts: [],
  };
}

Deno.test("profiles only the Go processes and calls out goroutines waiting for long", async () => {
  const run = await runWorkflow(goWorkflow, MANUAL, {
    responses: {
      ...listing(proc(1, ["python", "app.py"]), goProc(2, ["/app/server"])),
      "debug.goProfile": (params) => goProfile(params.pid, 42),
    },
  });
  deepStrictEqual(run.calls.filter((c) => c.method === "debug.goProfile").map((c) => c.params), [
    { target: { namespace: "shop", name: "web-1", container: "app" }, pid: 2, duration: 5 },
  ]);
  const finding = run.findings[0];
  match(
    finding?.title ?? "",
    /^Go profile of shop\/web-1 pid 2 \(\/app\/server\): main\.burnCPU 90%/,
  );
  match(finding?.body ?? "", /It is the only Go process in the container/);
  match(finding?.body ?? "", /1 goroutine has waited 10 minutes or more\*\*, the longest 42 min/);
  match(finding?.body ?? "", /Go go1\.22\.3, /);
});

Deno.test("says there is no Go process, naming the runtimes it saw", async () => {
  const run = await runWorkflow(goWorkflow, MANUAL, {
    responses: listing(proc(1, ["python", "app.py"]), proc(2, ["sleep", "300"])),
  });
  strictEqual(run.findings[0]?.title, "No Go process in shop/web-1 (container app)");
  match(
    run.findings[0]?.body ?? "",
    /none of them a Go program.*Runtimes seen: python 1, native 1/,
  );
});

Deno.test("turns a Go program without pprof into a finding with the fix", async () => {
  const run = await runWorkflow(goWorkflow, MANUAL, {
    responses: {
      ...listing(goProc(2, ["/app/server"])),
      "debug.goProfile": new UpstreamError("not available: this Go program does not serve pprof", {
        data: { reason: "pprof_unavailable" },
      }),
    },
  });
  const finding = run.findings[0];
  match(finding?.title ?? "", /^Could not profile shop\/web-1 pid 2/);
  match(finding?.body ?? "", /import _ "net\/http\/pprof"/);
});

Deno.test("flags a Node.js inspector that did not close", async () => {
  const result: NodeProfileResult = {
    pid: 3,
    nodeVersion: "20.11.1",
    inspectorPort: 9229,
    inspectorWasOpen: false,
    inspectorClosed: false,
    durationSeconds: 5,
    samplingIntervalMicros: 1000,
    samples: 4000,
    topFunctions: [{ ...STATS[0]!, function: "burnCpu", file: "/app/index.js" }],
    artifacts: [],
  };
  const run = await runWorkflow(nodeWorkflow, MANUAL, {
    responses: {
      ...listing(proc(3, ["node", "index.js"], { runtime: "node", runtimeVersion: "20.11.1" })),
      "debug.nodeProfile": result,
    },
  });
  const finding = run.findings[0];
  strictEqual(finding?.severity, "medium");
  match(
    finding?.title ?? "",
    /^Node\.js profile of shop\/web-1 pid 3 \(node index\.js\): burnCpu 90%/,
  );
  match(finding?.body ?? "", /did not close/);
});

Deno.test("sorts network targets into connects, GETs and the ones it cannot check", () => {
  deepStrictEqual(sortTargets(["db:5432", "https://api.example.com/x", "[::1]:80", "nonsense"]), {
    connect: ["db:5432", "[::1]:80"],
    http: ["https://api.example.com/x"],
    bad: ["nonsense"],
  });
});

Deno.test("reports a refused port, a name that does not resolve and a slow answer", async () => {
  const timings = { dnsMs: null, connectMs: 0.3, tlsMs: null, firstByteMs: null, totalMs: 0.4 };
  const result: NetworkCheckResult = {
    pid: null,
    netnsShared: true,
    resolvConf: "/proc/1/root/etc/resolv.conf (the target's)",
    nameservers: ["10.96.0.10"],
    search: ["shop.svc.cluster.local"],
    ndots: 5,
    listening: [{
      family: "ipv4",
      localAddress: "0.0.0.0",
      localPort: 8080,
      remoteAddress: null,
      remotePort: null,
      state: "LISTEN",
      pid: 1,
      process: "server",
      sendQueue: 0,
      receiveQueue: 0,
    }],
    established: [],
    establishedTotal: 0,
    otherSockets: { TIME_WAIT: 3 },
    dns: [{
      name: "db.invalid",
      outcome: "nxdomain",
      addresses: [],
      canonicalName: null,
      answeredName: null,
      server: null,
      tried: ["db.invalid: NXDOMAIN"],
      error: "db.invalid does not exist",
      ms: 1,
    }],
    connects: [{
      target: "db:5432",
      ok: false,
      outcome: "refused",
      address: null,
      error: "connect to 10.0.0.5:5432: Connection refused",
      timings,
    }],
    http: [{
      url: "http://api/slow",
      ok: true,
      outcome: "answered",
      phase: null,
      status: 200,
      reason: "OK",
      address: "10.0.0.6:80",
      headers: {},
      bodyBytes: 2,
      bodyPreview: "ok",
      tls: null,
      error: null,
      timings: { ...timings, firstByteMs: 2500, totalMs: 2501 },
    }],
    seconds: 2.6,
  };
  const run = await runWorkflow(networkWorkflow, MANUAL, {
    params: { names: "db.invalid", targets: "db:5432, http://api/slow, oops" },
    responses: { "debug.networkCheck": result },
  });
  const call = run.calls.find((c) => c.method === "debug.networkCheck");
  deepStrictEqual(call?.params, {
    target: { namespace: "shop", name: "web-1", container: "app" },
    names: ["db.invalid"],
    connect: ["db:5432"],
    http: ["http://api/slow"],
    timeoutSeconds: 5,
    insecure: false,
  });
  const finding = run.findings[0];
  strictEqual(finding?.severity, "medium");
  strictEqual(
    finding?.title,
    "Network from shop/web-1: 2 of 3 checks failed, 1 slow: db.invalid nxdomain, db:5432 refused, " +
      "http://api/slow slow (2500 ms)",
  );
  match(finding?.body ?? "", /Not checked, neither a URL nor `host:port`: `oops`/);
  match(finding?.body ?? "", /slow \(over 1 s to the first byte\)/);
  match(finding?.body ?? "", /3 TIME_WAIT/);
});

// --- java-profiler --------------------------------------------------------------------------

function javaProc(pid: number): ProcessInfo {
  return proc(pid, ["java", "-jar", "/app/shop.jar"], {
    runtime: "jvm",
    runtimeVersion: "17.0.15",
    runtimeDetail: "/usr/lib/jvm/java-17-openjdk-amd64",
  });
}

const LOCKER_FRAME = {
  method: "com.shop.Ledger.transfer",
  location: "Ledger.java:42",
  locks: ["waiting to lock <0x01> (a java.lang.Object)", "locked <0x02> (a java.lang.Object)"],
};

function javaDump(pid: number, deadlocked: boolean): JavaThreadDumpResult {
  const locker = (name: string) => ({
    name,
    number: 20,
    daemon: false,
    state: "BLOCKED",
    stateDetail: "on object monitor",
    cpuMillis: 3,
    frames: [LOCKER_FRAME],
  });
  return {
    pid,
    javaVersion: "17.0.15",
    vm: "OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode)",
    threadCount: 3,
    byState: [{ state: "BLOCKED", count: 2 }, { state: "RUNNABLE", count: 1 }],
    deadlocks: deadlocked
      ? [{
        threads: [
          {
            name: "ledger-a",
            waitingFor: "waiting to lock monitor 0x7f (object 0x01, a java.lang.Object)",
            heldBy: "ledger-b",
            frames: [LOCKER_FRAME],
          },
          {
            name: "ledger-b",
            waitingFor: "waiting to lock monitor 0x7e (object 0x02, a java.lang.Object)",
            heldBy: "ledger-a",
            frames: [LOCKER_FRAME],
          },
        ],
      }]
      : [],
    threads: [locker("ledger-a"), locker("ledger-b")],
    attachSeconds: 0.01,
    artifacts: [],
  };
}

function javaProfile(pid: number, duration: number): JavaProfileResult {
  return {
    pid,
    javaVersion: "17.0.15",
    durationSeconds: duration,
    settings: "profile",
    samples: 200,
    topFunctions: [{ ...STATS[0]!, function: "com.shop.Pricing.quote", file: null }],
    allocationSamples: 50,
    topAllocations: [{
      className: "byte[]",
      bytes: 1 << 30,
      share: 0.8,
      samples: 40,
      topSite: "com.shop.Order.<init>",
    }],
    recordingBytes: 200_000,
    artifacts: [],
  };
}

Deno.test("reports a JVM's deadlock first and raises the severity", async () => {
  const run = await runWorkflow(javaWorkflow, MANUAL, {
    responses: {
      ...listing(proc(1, ["python", "app.py"]), javaProc(2)),
      "debug.javaThreadDump": (params) => javaDump(params.pid, true),
      "debug.javaProfile": (params) => javaProfile(params.pid, params.duration ?? 0),
    },
  });
  deepStrictEqual(run.calls.filter((c) => c.method.startsWith("debug.java")).map((c) => c.method), [
    "debug.javaThreadDump",
    "debug.javaProfile",
  ]);
  const finding = run.findings[0];
  strictEqual(finding?.severity, "high");
  match(
    finding?.title ?? "",
    /^Java profile of shop\/web-1 pid 2 \(java -jar \/app\/shop\.jar\): 1 deadlock, com\.shop\.Pricing\.quote 90%/,
  );
  match(finding?.body ?? "", /\*\*The JVM found 1 deadlock\*\*/);
  match(
    finding?.body ?? "",
    /`ledger-a` waiting to lock monitor .* held by `ledger-b` at `com\.shop\.Ledger\.transfer`/,
  );
  match(
    finding?.body ?? "",
    /`byte\[\]` takes 80% of the sampled allocation, mostly in `com\.shop\.Order\.<init>`/,
  );
  match(finding?.body ?? "", /JVM 17\.0\.15, /);
  match(
    finding?.body ?? "",
    /`com\.shop\.Pricing\.quote` \(line 21\) was the innermost frame in 90%/,
  );
});

Deno.test("takes the heap histogram only when asked, and says when there is no deadlock", async () => {
  const responses: TestResponses = {
    ...listing(javaProc(2)),
    "debug.javaThreadDump": (params) => javaDump(params.pid, false),
    "debug.javaProfile": (params) => javaProfile(params.pid, params.duration ?? 0),
    "debug.javaHeapHistogram": (params) => ({
      pid: params.pid,
      javaVersion: "17.0.15",
      liveOnly: true,
      totalInstances: 100,
      totalBytes: 4096,
      classCount: 1,
      topClasses: [{
        className: "com.shop.Order",
        module: null,
        instances: 100,
        bytes: 4096,
        share: 1,
      }],
      attachSeconds: 0.2,
      artifacts: [],
    }),
  };
  const plain = await runWorkflow(javaWorkflow, MANUAL, { responses });
  strictEqual(plain.calls.some((c) => c.method === "debug.javaHeapHistogram"), false);
  strictEqual(plain.findings[0]?.severity, "info");
  match(plain.findings[0]?.body ?? "", /The JVM's deadlock detection found no deadlock/);
  const withHeap = await runWorkflow(javaWorkflow, MANUAL, {
    params: { heapHistogram: true, duration: 3 },
    responses,
  });
  strictEqual(
    withHeap.findings[0]?.tables?.at(-1)?.title,
    "Heap by class (live objects, 4.0 KiB in 100 objects)",
  );
  deepStrictEqual(
    withHeap.calls.filter((c) => c.method === "debug.javaProfile").map((c) => c.params),
    [{ target: { namespace: "shop", name: "web-1", container: "app" }, pid: 2, duration: 3 }],
  );
});

Deno.test("turns a JVM that refuses attach into a finding with the fix", async () => {
  const run = await runWorkflow(javaWorkflow, MANUAL, {
    responses: {
      ...listing(javaProc(2)),
      "debug.javaThreadDump": new UpstreamError(
        "not available: the JVM of pid 2 refuses attach (-XX:+DisableAttachMechanism in its command line)",
        { data: { reason: "attach_unavailable" } },
      ),
    },
  });
  match(run.findings[0]?.title ?? "", /^Could not profile shop\/web-1 pid 2/);
  match(run.findings[0]?.body ?? "", /-XX:\+DisableAttachMechanism` \(drop it\)/);
});
