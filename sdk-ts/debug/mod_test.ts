import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import type {
  DebugClient,
  GoProfileResult,
  JavaHeapHistogramResult,
  JavaProfileResult,
  JavaThreadDumpResult,
  NetworkCheckResult,
  NodeProfileResult,
  ProcessInfo,
  ProcessListResult,
  PythonDebuggerResult,
  PythonInspectResult,
  PythonMemoryResult,
  PythonProfileResult,
  PythonStackTraceResult,
} from "./mod.ts";
import { InvalidParamsError, UpstreamError } from "../errors.ts";
import { isArtifactRef } from "../finding.ts";
import type { HostMethods } from "../protocol.ts";
import { createTestContext } from "../testing.ts";
import { assertType, type IsExact } from "../_type_assert.ts";

const TARGET = { namespace: "shop", name: "web-1", container: "app" };

function process(overrides: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    pid: 7,
    ppid: 1,
    user: "app",
    exe: "/usr/local/bin/python3.11",
    cmdline: ["python", "app.py"],
    threads: 2,
    rssBytes: 16_297_984,
    cpuPercent: 4,
    startTime: "2024-05-01T10:00:00Z",
    python: true,
    pythonVersion: "3.11",
    runtime: "python",
    runtimeVersion: "3.11",
    runtimeDetail: null,
    ...overrides,
  };
}

const PROFILE: PythonProfileResult = {
  pid: 7,
  durationSeconds: 2,
  rate: 100,
  samples: 11,
  samplingErrors: 0,
  options: { idle: false, subprocesses: false, native: false },
  topFunctions: [{
    function: "checksum_catalogue",
    file: "/app/shop.py",
    line: 24,
    selfSamples: 3,
    selfShare: 0.2727,
    totalSamples: 3,
    totalShare: 0.2727,
  }],
  artifacts: [{
    artifactId: "art-1",
    name: "flamegraph.svg",
    mediaType: "image/svg+xml",
    size: 2210,
  }],
};

Deno.test("types each debug method's wire result as its own result type", () => {
  assertType<IsExact<HostMethods["debug.processList"]["result"], ProcessListResult>>(true);
  assertType<IsExact<HostMethods["debug.pythonProfile"]["result"], PythonProfileResult>>(true);
  assertType<IsExact<HostMethods["debug.pythonStackTrace"]["result"], PythonStackTraceResult>>(
    true,
  );
  assertType<IsExact<HostMethods["debug.pythonMemory"]["result"], PythonMemoryResult>>(true);
  assertType<IsExact<HostMethods["debug.pythonInspect"]["result"], PythonInspectResult>>(true);
  assertType<IsExact<HostMethods["debug.pythonDebugger"]["result"], PythonDebuggerResult>>(true);
  assertType<
    IsExact<Awaited<ReturnType<DebugClient["pythonDebugger"]>>, PythonDebuggerResult>
  >(true);
  assertType<IsExact<HostMethods["debug.goProfile"]["result"], GoProfileResult>>(true);
  assertType<IsExact<HostMethods["debug.nodeProfile"]["result"], NodeProfileResult>>(true);
  assertType<IsExact<HostMethods["debug.networkCheck"]["result"], NetworkCheckResult>>(true);
  assertType<
    IsExact<Awaited<ReturnType<DebugClient["networkCheck"]>>, NetworkCheckResult>
  >(true);
  assertType<IsExact<HostMethods["debug.javaThreadDump"]["result"], JavaThreadDumpResult>>(true);
  assertType<IsExact<HostMethods["debug.javaHeapHistogram"]["result"], JavaHeapHistogramResult>>(
    true,
  );
  assertType<IsExact<HostMethods["debug.javaProfile"]["result"], JavaProfileResult>>(true);
  assertType<
    IsExact<Awaited<ReturnType<DebugClient["javaProfile"]>>, JavaProfileResult>
  >(true);
});

Deno.test("requires pid on the wire for every action but processList, as the options do", () => {
  type Pid<M extends keyof HostMethods> = HostMethods[M]["params"] extends { readonly pid: infer P }
    ? P
    : never;
  assertType<IsExact<Pid<"debug.pythonProfile">, number>>(true);
  assertType<IsExact<Pid<"debug.pythonStackTrace">, number>>(true);
  assertType<IsExact<Pid<"debug.pythonMemory">, number>>(true);
  assertType<IsExact<Pid<"debug.pythonInspect">, number>>(true);
  assertType<IsExact<Pid<"debug.pythonDebugger">, number>>(true);
  assertType<IsExact<Pid<"debug.goProfile">, number>>(true);
  assertType<IsExact<Pid<"debug.nodeProfile">, number>>(true);
  assertType<IsExact<Pid<"debug.javaThreadDump">, number>>(true);
  assertType<IsExact<Pid<"debug.javaHeapHistogram">, number>>(true);
  assertType<IsExact<Pid<"debug.javaProfile">, number>>(true);
  // @ts-expect-error the host refuses a debug action without a pid
  const missing: HostMethods["debug.pythonInspect"]["params"] = { target: TARGET };
  strictEqual(missing.target, TARGET);
});

Deno.test("keeps nullable agent fields present and nullable rather than optional", () => {
  assertType<IsExact<ProcessInfo["pythonVersion"], string | null>>(true);
  assertType<IsExact<ProcessInfo["user"], string | null>>(true);
  assertType<IsExact<PythonMemoryResult["fallbackReason"], string | null>>(true);
  assertType<IsExact<PythonMemoryResult["method"], "memray" | "tracemalloc">>(true);
  assertType<
    IsExact<PythonStackTraceResult["snapshots"][number]["threads"][number]["name"], string | null>
  >(true);
  // @ts-expect-error pythonVersion is always sent (null for other processes)
  const missing: ProcessInfo = { ...process(), pythonVersion: undefined };
  strictEqual(missing.pid, 7);
});

Deno.test("refuses result literals with keys the agent never sends", () => {
  const profile: PythonProfileResult = {
    ...PROFILE,
    // @ts-expect-error the flamegraph is in artifacts, not a field of its own
    flamegraph: PROFILE.artifacts[0],
  };
  strictEqual(profile.pid, 7);
});

Deno.test("hands results through ctx.debug unchanged, artifacts ready to attach", async () => {
  const test = createTestContext({
    responses: {
      "debug.processList": {
        scopePid: null,
        processes: [
          process({ pid: 1, cmdline: ["sh"], python: false, pythonVersion: null }),
          process(),
        ],
      },
      "debug.pythonProfile": PROFILE,
    },
  });
  const { processes } = await test.ctx.debug.processList(TARGET);
  const python = processes.filter((candidate) => candidate.python);
  deepStrictEqual(python.map((candidate) => candidate.pid), [7]);
  const profile = await test.ctx.debug.pythonProfile(TARGET, { pid: 7, duration: 2 });
  const svg = profile.artifacts.find((artifact) => artifact.mediaType === "image/svg+xml");
  strictEqual(isArtifactRef(svg), true);
  strictEqual(profile.topFunctions[0]?.function, "checksum_catalogue");
  deepStrictEqual(test.calls.map((call) => call.params), [
    { target: TARGET },
    { target: TARGET, pid: 7, duration: 2 },
  ]);
});

Deno.test("rejects with the agent's reason when an action fails upstream", async () => {
  const test = createTestContext({
    responses: {
      "debug.pythonDebugger": new UpstreamError("debugpy is already listening in process 7", {
        data: { reason: "already_debugging" },
      }),
    },
  });
  const caught = await test.ctx.debug.pythonDebugger(TARGET, { pid: 7, port: 5678 }).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  strictEqual(caught instanceof UpstreamError && caught.reason, "already_debugging");
});

Deno.test("checks the target before asking the host", async () => {
  const test = createTestContext({
    responses: { "debug.pythonInspect": new Error("unreachable") },
  });
  await rejects(
    test.ctx.debug.pythonInspect({ namespace: "shop", name: "" }, { pid: 7 }),
    InvalidParamsError,
  );
  strictEqual(test.calls.length, 0);
});

Deno.test("marks each process's runtime, its version nullable", () => {
  assertType<IsExact<ProcessInfo["runtime"], "python" | "go" | "jvm" | "node" | "native">>(true);
  assertType<IsExact<ProcessInfo["runtimeVersion"], string | null>>(true);
  const go = process({
    pid: 9,
    python: false,
    pythonVersion: null,
    runtime: "go",
    runtimeVersion: "go1.22.3",
    runtimeDetail: "example.com/shop/cmd/api",
  });
  strictEqual(go.runtime, "go");
});

Deno.test("sends the new actions' options as the host reads them", async () => {
  const network: NetworkCheckResult = {
    pid: null,
    netnsShared: true,
    resolvConf: "/etc/resolv.conf",
    nameservers: ["10.96.0.10"],
    search: ["shop.svc.cluster.local"],
    ndots: 5,
    listening: [],
    established: [],
    establishedTotal: 0,
    otherSockets: {},
    dns: [],
    connects: [{
      target: "db:5432",
      ok: false,
      outcome: "refused",
      address: null,
      error: "connect to 10.0.0.5:5432: Connection refused",
      timings: { dnsMs: 1, connectMs: 0.2, tlsMs: null, firstByteMs: null, totalMs: 1.3 },
    }],
    http: [],
    seconds: 0.01,
  };
  const test = createTestContext({
    responses: {
      "debug.networkCheck": network,
      "debug.goProfile": new UpstreamError("not available: this Go program does not serve pprof", {
        data: { reason: "pprof_unavailable" },
      }),
    },
  });
  const result = await test.ctx.debug.networkCheck(TARGET, {
    connect: ["db:5432"],
    timeoutSeconds: 2,
  });
  strictEqual(result.connects[0]?.outcome, "refused");
  const caught = await test.ctx.debug.goProfile(TARGET, { pid: 1, duration: 3 }).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  strictEqual(caught instanceof UpstreamError && caught.reason, "pprof_unavailable");
  deepStrictEqual(test.calls.map((call) => call.params), [
    { target: TARGET, connect: ["db:5432"], timeoutSeconds: 2 },
    { target: TARGET, pid: 1, duration: 3 },
  ]);
});

Deno.test("sends the Java actions' options under their wire names and nothing else", async () => {
  const test = createTestContext({
    responses: {
      "debug.javaHeapHistogram": {
        pid: 7,
        javaVersion: "17.0.15",
        liveOnly: false,
        totalInstances: 10,
        totalBytes: 100,
        classCount: 1,
        topClasses: [{
          className: "[B",
          module: "java.base@17.0.15",
          instances: 10,
          bytes: 100,
          share: 1,
        }],
        attachSeconds: 0.02,
        artifacts: [],
      },
    },
  });
  const result = await test.ctx.debug.javaHeapHistogram(TARGET, {
    pid: 7,
    top: 5,
    liveOnly: false,
  });
  strictEqual(result.topClasses[0]?.className, "[B");
  const call = test.calls.find((entry) => entry.method === "debug.javaHeapHistogram");
  deepStrictEqual(call?.params, { target: TARGET, pid: 7, top: 5, liveOnly: false });
});
