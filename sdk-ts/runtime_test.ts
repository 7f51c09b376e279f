// End-to-end tests of the guest runtime: each test spawns `deno run` on an
// entry file in testdata/ with the host's flags (no permissions at all) and
// speaks JSON-RPC over the child's real stdin and stdout.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HostPeer, type Message } from "./testdata/host_peer.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);

// These tests spawn `deno run`: they need --allow-run. Under a plain
// `deno test --doc` (the doc-test gate) they are reported as ignored.
const canSpawn = (await Deno.permissions.query({ name: "run" })).state === "granted";

/** Declares a test that spawns guests, ignored without --allow-run. */
function spawnTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: !canSpawn, fn });
}

interface Guest {
  readonly peer: HostPeer;
  readonly child: Deno.ChildProcess;
  /** Closes stdin, waits for the exit and returns the exit code and stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

function spawnGuest(entry: string): Guest {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-remote",
      "--no-npm",
      "--no-config",
      "--no-prompt",
      "--deny-read",
      "--deny-write",
      "--deny-net",
      "--deny-env",
      "--deny-run",
      "--deny-ffi",
      "--deny-sys",
      `--import-map=${new URL("import_map.json", TESTDATA).pathname}`,
      "--v8-flags=--max-old-space-size=64",
      new URL(entry, TESTDATA).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const peer = new HostPeer(child.stdout, child.stdin);
  let stopped: Promise<{ code: number; stderr: string }> | undefined;
  return {
    peer,
    child,
    stop() {
      stopped ??= (async () => {
        await peer.close().catch(() => {});
        const status = await child.status;
        await peer.closed;
        return { code: status.code, stderr: await stderr };
      })();
      return stopped;
    },
  };
}

/** Runs `body` against a fresh guest, always stopping it (and failing on stray stdout bytes). */
async function withGuest(entry: string, body: (guest: Guest) => Promise<void>): Promise<void> {
  const guest = spawnGuest(entry);
  try {
    await body(guest);
  } finally {
    const { stderr } = await guest.stop();
    deepStrictEqual(guest.peer.garbage, [], `stdout carried non-JSON lines; stderr: ${stderr}`);
  }
}

function manualEvent(mode: string): Record<string, unknown> {
  return {
    id: `evt-${mode}`,
    kind: "manual",
    time: "2024-05-01T10:00:00Z",
    subject: { kind: "Pod", namespace: "shop", name: "web-1" },
    target: { namespace: "shop", pod: "web-1" },
    requestedBy: mode,
  };
}

function run(peer: HostPeer, id: number, invocationId: string, mode: string): Promise<void> {
  return peer.request(id, "run", {
    invocationId,
    event: manualEvent(mode),
    params: { tailLines: 7 },
  });
}

async function initialize(peer: HostPeer): Promise<Message> {
  await peer.request(1, "initialize", {
    protocolVersion: 1,
    hostVersion: "0.1.0",
    workflowPath: "/w/echo.ts",
  });
  return await peer.response(1);
}

spawnTest("answers initialize with the workflow's manifest", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    const reply = await initialize(peer);
    deepStrictEqual(reply.result, {
      name: "echo",
      description: "Test double for the runtime tests",
      triggers: [{ on: "manual" }],
      capabilities: ["k8s.read", "findings.report"],
      params: { tailLines: { type: "integer", default: 10 } },
    });
  });
});

spawnTest(
  "runs a workflow whose capability calls the host answers, then exits on end of input",
  async () => {
    const guest = spawnGuest("echo_entry.ts");
    const { peer } = guest;
    await initialize(peer);
    await run(peer, 2, "inv-1", "report");

    const logs = await peer.guestRequest("k8s.podLogs");
    deepStrictEqual(logs.params, {
      invocationId: "inv-1",
      pod: { namespace: "shop", name: "web-1" },
      tailLines: 7,
    });
    await peer.send({ jsonrpc: "2.0", id: logs.id, result: { text: "panic: boom" } });

    const report = await peer.guestRequest("findings.report");
    deepStrictEqual(report.params, {
      invocationId: "inv-1",
      title: "logs of web-1",
      body: "panic: boom",
      severity: "low",
    });
    await peer.send({ jsonrpc: "2.0", id: report.id, result: { id: "f-9" } });

    deepStrictEqual((await peer.response(2)).result, { ok: true });
    const printed = await peer.log("reported f-9");
    strictEqual(printed.params?.["invocationId"], "inv-1");
    strictEqual(printed.params?.["level"], "info");

    const { code, stderr } = await guest.stop();
    strictEqual(code, 0, stderr);
    deepStrictEqual(peer.garbage, []);
  },
);

spawnTest("routes console output and raw stdout writes into log notifications", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-c", "console");
    await peer.response(2);
    const expectations: [string, string][] = [
      ["to stdout { a: 1 }", "info"],
      ["an error", "error"],
      ["| (index) | a |", "info"],
      ["raw write", "info"],
    ];
    for (const [text, level] of expectations) {
      const message = await peer.log(text);
      strictEqual(message.params?.["level"], level, text);
      strictEqual(message.params?.["invocationId"], "inv-c", text);
    }
  });
});

spawnTest("answers a throwing workflow with WORKFLOW_ERROR and keeps serving", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-t", "throw");
    const reply = await peer.response(2);
    strictEqual(reply.error?.code, -32000);
    strictEqual(reply.error?.message, "boom");
    strictEqual(reply.error?.data?.["name"], "TypeError");
    strictEqual(reply.error?.data?.["message"], "boom");
    ok(String(reply.error?.data?.["stack"]).includes("echo_workflow.ts"));

    await run(peer, 3, "inv-t2", "plain");
    deepStrictEqual((await peer.response(3)).result, { ok: true });
  });
});

spawnTest("aborts ctx.signal on $/cancel while other invocations keep running", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-wait", "wait-for-cancel");
    await run(peer, 3, "inv-other", "plain");
    deepStrictEqual((await peer.response(3)).result, { ok: true });
    strictEqual(peer.messages.some((message) => message.id === 2), false);

    await peer.send({ jsonrpc: "2.0", method: "$/cancel", params: { invocationId: "inv-wait" } });
    const reply = await peer.response(2);
    strictEqual(reply.error?.code, -32005);
    strictEqual(reply.error?.data?.["name"], "CancelledError");
  });
});

spawnTest("answers malformed input with JSON-RPC errors and never crashes", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await peer.send("this is not json");
    await peer.sendBytes(new Uint8Array([0xff, 0xfe, 0x0a]));
    await peer.send("[]");
    await peer.send("42");
    await peer.send({ jsonrpc: "1.0", id: 5, method: "initialize" });
    await peer.send({ jsonrpc: "2.0", id: 6, method: "no.such.method", params: {} });
    await peer.send({ jsonrpc: "2.0", id: 7, method: "run", params: { invocationId: 3 } });
    await peer.send({
      jsonrpc: "2.0",
      id: 8,
      method: "initialize",
      params: { protocolVersion: 99 },
    });
    await peer.send({ jsonrpc: "2.0", id: 12345, result: { text: "a reply nobody asked for" } });
    await peer.send({ jsonrpc: "2.0", method: "$/cancel", params: { invocationId: "nobody" } });
    await peer.send({ jsonrpc: "2.0", method: "$/cancel" });

    strictEqual((await peer.response(5)).error?.code, -32600);
    strictEqual((await peer.response(6)).error?.code, -32601);
    strictEqual((await peer.response(7)).error?.code, -32602);
    strictEqual((await peer.response(8)).error?.code, -32602);
    const anonymous = await peer.waitFor(
      (message) => message.id === null && peer.messages.filter((m) => m.id === null).length >= 4,
      "four errors with a null id",
    );
    ok(anonymous.error !== undefined);
    const codes = peer.messages.filter((message) => message.id === null).map((message) =>
      message.error?.code
    );
    deepStrictEqual(codes, [-32700, -32700, -32600, -32600]);

    const reply = await initialize(peer);
    strictEqual((reply.result as Record<string, unknown>)["name"], "echo");
  });
});

spawnTest("refuses an undeclared capability without asking the host", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-u", "undeclared");
    const reply = await peer.response(2);
    strictEqual(reply.error?.code, -32000);
    strictEqual(reply.error?.data?.["name"], "CapabilityDeniedError");
    ok(String(reply.error?.message).includes('needs the "debug.processList" capability'));
    strictEqual(peer.messages.some((message) => message.method === "debug.processList"), false);
  });
});

spawnTest("logs stray errors in workflow code instead of dying", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-s", "stray");
    deepStrictEqual((await peer.response(2)).result, { ok: true });
    strictEqual((await peer.log("nobody awaits me")).params?.["level"], "error");
    strictEqual((await peer.log("thrown in a timer")).params?.["level"], "error");
  });
});

spawnTest("keeps stdin, exit, prompts, storage and workers away from workflow code", async () => {
  await withGuest("echo_entry.ts", async ({ peer }) => {
    await run(peer, 2, "inv-e", "escape");
    deepStrictEqual((await peer.response(2)).result, { ok: true });
    for (const name of ["stdin", "exit", "close", "prompt", "worker"]) {
      ok(
        String((await peer.log(`${name}: refused`)).params?.["message"]).includes(
          "not available to workflows",
        ),
      );
    }
    await peer.log("localStorage: refused");
    strictEqual(
      peer.messages.some((message) => String(message.params?.["message"]).includes("allowed")),
      false,
    );
  });
});

spawnTest("rejects pending host calls and exits when the host closes stdin", async () => {
  const guest = spawnGuest("echo_entry.ts");
  await run(guest.peer, 2, "inv-p", "report");
  await guest.peer.guestRequest("k8s.podLogs");
  const { code, stderr } = await guest.stop();
  strictEqual(code, 0, stderr);
});

spawnTest("answers initialize with every problem of an invalid definition", async () => {
  await withGuest("invalid_entry.ts", async ({ peer }) => {
    const reply = await initialize(peer);
    strictEqual(reply.error?.code, -32000);
    strictEqual(reply.error?.data?.["name"], "WorkflowDefinitionError");
    const problems = reply.error?.data?.["problems"] as string[];
    ok(problems.some((problem) => problem.startsWith("name:")), problems.join("\n"));
    ok(
      problems.includes(
        'triggers[0].on: "pod.crashloop" is not an event kind (did you mean "pod.crashLoop"?)',
      ),
    );
    ok(problems.some((problem) => problem.startsWith("triggers[1].schedule:")));
    ok(
      problems.includes(
        'capabilities[0]: "k8s.raed" is not a capability (did you mean "k8s.read"?)',
      ),
    );
    ok(problems.includes('params.lines.default: must be a finite number, got "ten"'));

    await run(peer, 2, "inv-x", "plain");
    strictEqual((await peer.response(2)).error?.code, -32000);
  });
});

spawnTest("says so when the default export is not a defineWorkflow result", async () => {
  await withGuest("plain_object_entry.ts", async ({ peer }) => {
    const reply = await initialize(peer);
    strictEqual(reply.error?.code, -32000);
    ok(
      String(reply.error?.message).includes(
        "The default export is a plain object, not the result of defineWorkflow()",
      ),
    );
  });
});

spawnTest("says so when the workflow module has no default export", async () => {
  await withGuest("no_default_entry.ts", async ({ peer }) => {
    const reply = await initialize(peer);
    strictEqual(reply.error?.code, -32000);
    ok(String(reply.error?.message).includes("The workflow module has no default export"));
  });
});

spawnTest("serveModule serves a workflow it imports itself", async () => {
  await withGuest("echo_module_entry.ts", async ({ peer }) => {
    strictEqual(((await initialize(peer)).result as Record<string, unknown>)["name"], "echo");
    await run(peer, 2, "inv-m", "plain");
    deepStrictEqual((await peer.response(2)).result, { ok: true });
  });
});

spawnTest(
  "serveModule answers initialize with the syntax error of a module that does not parse",
  async () => {
    await withGuest("broken_syntax_entry.ts", async ({ peer }) => {
      const reply = await initialize(peer);
      strictEqual(reply.error?.code, -32000);
      const message = String(reply.error?.message);
      ok(
        message.startsWith("Invalid workflow definition: The workflow module failed to load: "),
        message,
      );
      ok(message.includes("broken_syntax_workflow.ts:5"), message);
    });
  },
);

spawnTest(
  "serveModule answers initialize with the error a module threw while loading",
  async () => {
    await withGuest("throwing_module_entry.ts", async ({ peer }) => {
      const reply = await initialize(peer);
      strictEqual(reply.error?.code, -32000);
      ok(
        String(reply.error?.message).includes(
          "failed to load: SyntaxError: Expected property name",
        ),
      );
      ok(String(reply.error?.data?.["stack"]).includes("throwing_module_workflow.ts:4"));
    });
  },
);
