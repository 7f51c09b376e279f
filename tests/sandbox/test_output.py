"""Hostile workflows that attack the channel itself: broken framing, floods on stdout and stderr.

The host treats stdout as untrusted: one line that is not a valid JSON-RPC 2.0 message, is too
long, or is not UTF-8 kills that child (a protocol fault) and fails only its invocation. Valid
but unwanted traffic (floods of requests or logs) is bounded: backpressure on the reader, the
per-invocation log cap, and a cap on how much stderr is logged.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from tests.sandbox.conftest import Arena, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


def fd1(expr: str) -> str:
    """Raw-SDK guest code writing the bytes of `expr` (a Uint8Array) straight to fd 1."""
    return f"Deno.stdout.writeSync({expr}); await new Promise((r) => setTimeout(r, 3000));"


def text(s: str) -> str:
    return f"new TextEncoder().encode({json.dumps(s)})"


FRAMING = {
    "garbage": (text("garbage on stdout\n"), "not JSON"),
    "empty-line": (text("\n"), "not JSON"),
    "nul-bytes": ("new Uint8Array([0, 0, 0, 10])", "not JSON"),
    "json-array": (text("[1, 2, 3]\n"), "not a JSON object"),
    "json-string": (text('"hello"\n'), "not a JSON object"),
    "batch": (text('[{"jsonrpc":"2.0","id":9,"method":"findings.report","params":{}}]\n'), "not a JSON object"),
    "jsonrpc-1.0": (text('{"jsonrpc":"1.0","id":9,"method":"findings.report"}\n'), '"jsonrpc": "2.0"'),
    "no-jsonrpc": (text('{"id":9,"method":"findings.report"}\n'), '"jsonrpc": "2.0"'),
    "response-without-result": (text('{"jsonrpc":"2.0","id":9}\n'), "not a JSON-RPC"),
    "result-and-error": (text('{"jsonrpc":"2.0","id":9,"result":1,"error":{"code":1,"message":"x"}}\n'), "not a JSON-RPC"),
    "null-request-id": (text('{"jsonrpc":"2.0","id":null,"method":"findings.report"}\n'), "invalid JSON-RPC"),
    "float-request-id": (text('{"jsonrpc":"2.0","id":1.5,"method":"findings.report"}\n'), "invalid JSON-RPC"),
    "empty-method": (text('{"jsonrpc":"2.0","id":3,"method":""}\n'), "invalid JSON-RPC"),
    "params-scalar": (text('{"jsonrpc":"2.0","id":3,"method":"findings.report","params":7}\n'), "invalid JSON-RPC"),
    "extra-member": (text('{"jsonrpc":"2.0","method":"log","params":{},"evil":1}\n'), "invalid JSON-RPC"),
    "nan": (text('{"jsonrpc":"2.0","method":"log","params":{"message":NaN}}\n'), "not JSON"),
    "deep-nesting": (text("[" * 60_000 + "\n"), "not JSON"),
    "huge-integer": (text('{"jsonrpc":"2.0","method":"log","params":{"n":' + "9" * 10_000 + "}}\n"), "not JSON"),
    "non-utf8": ("new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a])", "not UTF-8"),
    "overlong-utf8": ("new Uint8Array([0xc0, 0xaf, 0x0a])", "not UTF-8"),
    "oversized-line": (text("x" * (100 << 10) + "\n"), "exceeds the limit"),
    "endless-line": ("new Uint8Array(4 << 20).fill(0x61)", "exceeds the limit"),
}


@pytest.mark.parametrize("case", list(FRAMING))
async def test_a_line_that_breaks_framing_kills_only_that_child(arena: Arena, case: str) -> None:
    expr, words = FRAMING[case]
    wf = await arena.load(hostile("framing", fd1(expr)), raw=True)
    (pid,) = wf.pool.worker_pids()
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert words in (result.error or ""), result.error
    await arena.healthy(wf)
    assert wf.pool.worker_pids() != [pid]


async def test_a_stream_that_ends_inside_a_message_is_a_fault(arena: Arena) -> None:
    wf = await arena.load(hostile("cut", 'Deno.stdout.writeSync(new TextEncoder().encode("{\\"jsonrpc\\":")); Deno.exit(0);'),
                          raw=True)
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert "stream ended inside a message" in (result.error or ""), result.error
    await arena.healthy(wf)


BYPASSES = {
    # the SDK removes the `process` global; node:process (a computed import needs no permission) remains
    "process.stdout.write": '(await import("node:" + "process")).default.stdout.write("bypassing the sdk\\n");',
    "node-fs-writeSync-fd1": 'const fs: any = await import("node:" + "fs"); fs.writeSync(1, "bypassing the sdk\\n");',
    "internal-core-writeSync": "(Deno as any)[(Deno as any).internal].core.writeSync(1, new TextEncoder().encode('bypass\\n'));",
}


@pytest.mark.parametrize("how", list(BYPASSES))
async def test_writes_to_fd1_that_bypass_the_real_sdk_are_caught_by_the_host(arena: Arena, how: str) -> None:
    wf = await arena.load(hostile("bypass", BYPASSES[how] + " await new Promise((r) => setTimeout(r, 3000));"))
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert "not JSON" in (result.error or ""), result.error
    await arena.healthy(wf)


async def test_a_valid_reply_to_an_unknown_id_is_dropped_harmlessly(arena: Arena) -> None:
    wf = await arena.load(hostile("stray", """
    Deno.stdout.writeSync(new TextEncoder().encode('{"jsonrpc":"2.0","id":424242,"result":{"ok":true}}\\n'));
    Deno.stdout.writeSync(new TextEncoder().encode('{"jsonrpc":"2.0","id":"str-id","error":{"code":1,"message":"x"}}\\n'));
    await ctx.report({ title: "still here" });
    """), raw=True)
    result = await arena.run(wf)
    assert result.outcome == "ok", result.error
    assert [f.title for f in result.findings] == ["still here"]
    await arena.healthy(wf)


FLOOD_REQUESTS = """
const line = new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "findings.report",
  params: { invocationId: "inv-nobody", title: "x" } }) + "\\n");
const chunk = new Uint8Array(line.length * 500);
for (let i = 0; i < 500; i++) chunk.set(line, i * line.length);
while (true) Deno.stdout.writeSync(chunk);   // never reads stdin again: every reply stays unread
"""


async def test_a_request_flood_that_never_reads_replies_costs_the_host_bounded_memory(arena: Arena) -> None:
    wf = await arena.load(hostile("req-flood", FLOOD_REQUESTS), raw=True)
    baseline = len(asyncio.all_tasks())
    run = asyncio.create_task(arena.run(wf, timeout=3))
    peak = 0
    while not run.done():
        peak = max(peak, len(asyncio.all_tasks()) - baseline)
        await asyncio.sleep(0.05)
    result = await run
    assert result.outcome == "timeout", (result.outcome, result.error)
    # 64 requests in flight plus 64 refusals waiting to be written, then the reader waits.
    assert peak <= 2 * 64 + 10, peak
    await arena.healthy(wf)


LOG_FLOOD = """
const line = new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", method: "log",
  params: { invocationId: null, level: "error", message: "flood" } }) + "\\n");
const chunk = new Uint8Array(line.length * 500);
for (let i = 0; i < 500; i++) chunk.set(line, i * line.length);
const end = Date.now() + 1500;
while (Date.now() < end) Deno.stdout.writeSync(chunk);
await ctx.report({ title: "flooded" });
"""


async def test_a_log_notification_flood_is_capped_and_does_not_starve_other_workflows(arena: Arena) -> None:
    wf = await arena.load(hostile("log-flood", LOG_FLOOD), raw=True)
    good = await arena.good()
    with structlog.testing.capture_logs() as logs:
        flood = asyncio.create_task(arena.run(wf))
        latencies = []
        while not flood.done():
            began = asyncio.get_running_loop().time()
            assert (await arena.run(good)).outcome == "ok"
            latencies.append(asyncio.get_running_loop().time() - began)
        result = await flood
    assert result.outcome == "ok", result.error
    flood_logs = [e for e in logs if e.get("event") == "workflow.log" and e.get("message") == "flood"]
    cap = arena.config.sandbox.max_log_bytes_per_invocation
    assert 0 < len(flood_logs) * len("flood") <= cap + len("flood")
    assert not [e for e in logs if e.get("event") == "rpc.notification_dropped"]
    assert latencies and max(latencies) < 2.0, latencies
    await arena.healthy(wf)


async def test_a_stderr_flood_is_drained_without_blocking_the_guest_and_logged_only_in_part(arena: Arena) -> None:
    body = """
    const chunk = new TextEncoder().encode("e".repeat(1 << 16) + "\\n");
    for (let i = 0; i < 320; i++) Deno.stderr.writeSync(chunk);   // 20 MiB, far past any pipe buffer
    await ctx.report({ title: "wrote stderr" });
    """
    wf = await arena.load(hostile("stderr-flood", body))
    with structlog.testing.capture_logs() as logs:
        result = await arena.run(wf)
        await wf.pool.close(drain=False)  # the drain task reports what it dropped when the pipe ends
    assert result.outcome == "ok", result.error
    dropped = [e for e in logs if e.get("event") == "sandbox.child_stderr_dropped"]
    assert len(dropped) == 1, [e for e in logs if "stderr" in str(e.get("event"))]
    assert dropped[0]["bytes"] > 19 << 20
    arena.pools.remove(wf)
    await arena.healthy()


async def test_a_console_flood_through_the_real_sdk_is_capped_per_invocation(arena: Arena) -> None:
    body = """
    for (let i = 0; i < 5000; i++) console.error("line " + i + " " + "z".repeat(90));
    await ctx.report({ title: "logged" });
    """
    wf = await arena.load(hostile("console-flood", body))
    with structlog.testing.capture_logs() as logs:
        result = await arena.run(wf)
    assert result.outcome == "ok", result.error
    lines = [e for e in logs if e.get("event") == "workflow.log"]
    cap = arena.config.sandbox.max_log_bytes_per_invocation
    assert sum(len(e["message"]) for e in lines) <= cap
    assert len(lines) < 5000
    assert [e["limit"] for e in logs if e.get("event") == "sandbox.log_limit_reached"] == [cap]
    await arena.healthy(wf)
