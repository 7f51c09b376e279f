"""Hostile workflows that tamper with the guest runtime's own objects to confuse the host.

The real SDK runs in the same isolate as the workflow, so a workflow can break it at will:
replace `JSON`, pollute prototypes, patch `Promise` or `TextEncoder`. None of that may confuse
the host: the worst a workflow gets is its own child killed (broken framing) or its own
invocation timed out, while another workflow running at the same time keeps exactly its own
findings under its own invocation id.
"""

from __future__ import annotations

import asyncio

import pytest

from host.errors import WorkflowRefused
from tests.sandbox.conftest import Arena, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]

VICTIM = """
await ctx.report({ title: "victim's own" });
await new Promise((r) => setTimeout(r, 1200));
await ctx.report({ title: "victim's second" });
"""

TAMPERING = {
    "JSON.stringify-garbage": ('JSON.stringify = (() => "garbage") as any; await ctx.report({ title: "x" });',
                               "crashed", "not JSON"),
    "JSON.stringify-rewrites-ids": ("""
        const orig = JSON.stringify;
        JSON.stringify = ((v: any, ...rest: any[]) => {
          if (v && v.params && typeof v.params === "object") { v.params.invocationId = "inv-victim"; }
          return orig(v, ...rest);
        }) as any;
        await ctx.report({ title: "planted" });
        """, "failed", "no running invocation 'inv-victim'"),
    "JSON.parse-blind": ('JSON.parse = (() => ({})) as any; await ctx.report({ title: "mine" });', "timeout", "did not finish"),
    "Object.prototype.toJSON": ('(Object.prototype as any).toJSON = function () { return "polluted"; };'
                                ' await ctx.report({ title: "x" });', "crashed", "not a JSON object"),
    "Object.prototype-identity-keys": ("""
        for (const k of ["invocationId", "workflow", "invocation_id", "id"]) (Object.prototype as any)[k] = "inv-victim";
        await ctx.report({ title: "mine" });
        """, "ok", ""),
    "Array.prototype.push-noop": ('Array.prototype.push = function () { return 0; }; await ctx.report({ title: "x" });',
                                  "timeout", "did not finish"),
    "Promise.prototype.then-stuck": ('(Promise.prototype as any).then = function () { return new Promise(() => {}); };'
                                     ' await ctx.report({ title: "mine" });', "timeout", "did not finish"),
    "TextEncoder-garbage": ("TextEncoder.prototype.encode = function () { return new Uint8Array([0xff, 10]); };"
                            ' await ctx.report({ title: "x" });', "crashed", "not UTF-8"),
    "forged-line-for-victim": ("""
        (await import("node:" + "process")).default.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: 999, method: "findings.report",
          params: { invocationId: "inv-victim", title: "planted" } }) + "\\n");
        await new Promise((r) => setTimeout(r, 300));
        await ctx.report({ title: "mine" });
        """, "ok", ""),
    "serve-a-second-time": ('const { serve } = await import("@wfhost/sdk/runtime.ts"); await serve({});', "failed",
                            "call serve() once"),
    "overwrite-ctx-report": ('ctx.report = async () => {};', "failed", "read only property 'report'"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
async def test_tampering_with_the_sdk_never_confuses_the_host(arena: Arena, how: str) -> None:
    body, outcome, words = TAMPERING[how]
    victim = await arena.load(hostile("victim", VICTIM))
    attacker = await arena.load(hostile("tamperer", body))
    victim_run = asyncio.create_task(arena.run(victim, invocation_id="inv-victim"))
    await asyncio.sleep(0.2)
    result = await arena.run(attacker, invocation_id="inv-attacker", timeout=2)
    assert result.outcome == outcome, (result.outcome, result.error)
    assert words in (result.error or ""), result.error
    # Whatever the attacker reported is its own; nothing landed on the victim.
    assert all((f.workflow, f.invocation_id) == ("tamperer", "inv-attacker") for f in result.findings)
    assert "planted" not in [f.title for f in result.findings]
    victim_result = await victim_run
    assert victim_result.outcome == "ok", victim_result.error
    assert [(f.title, f.workflow, f.invocation_id) for f in victim_result.findings] == [
        ("victim's own", "victim", "inv-victim"), ("victim's second", "victim", "inv-victim")
    ]
    # The attacker's own child may stay broken (a patched global lives as long as it does): that only
    # hurts the attacker. Everyone else is fine.
    await arena.healthy(victim)


async def test_the_sdk_module_namespace_cannot_be_rewritten(arena: Arena) -> None:
    source = hostile("rewriter", 'await ctx.report({ title: "x" });', prelude='import * as sdk from "@wfhost/sdk";',
                     after="(sdk as any).defineWorkflow = () => ({ name: 'hijacked' });\n")
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(source)
    assert "read only" in info.value.reason or "Cannot assign" in info.value.reason, info.value.reason
    await arena.healthy()


async def test_tampering_persists_only_in_the_tampering_child(arena: Arena) -> None:
    """A child is per workflow version: pollution in one never reaches another workflow's isolate."""
    attacker = await arena.load(hostile("polluter", """
    (Object.prototype as any).polluted = "yes";
    (globalThis as any).shared = "from the attacker";
    await ctx.report({ title: "done" });
    """))
    onlooker = await arena.load(hostile("onlooker", """
    await ctx.report({ title: String((({}) as any).polluted) + "/" + String((globalThis as any).shared) });
    """))
    assert (await arena.run(attacker)).outcome == "ok"
    seen = await arena.run(onlooker)
    assert [f.title for f in seen.findings] == ["undefined/undefined"]
    await arena.healthy(attacker, onlooker)
