"""Hostile workflows that talk to the host directly: calls outside policy, forged ids, floods of calls.

These run on the raw SDK (no guest-side checks at all), so every refusal here is the host's:
declared ∩ granted per method, namespace scope, the invocation named by the call, per-invocation
caps. `raw_call` smuggles the host's reply out through the run's error message.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from host.capabilities.policy import Grant, custom_grant
from host.model.events import Event, Subject
from host.rpc import ErrorCode
from tests.sandbox.conftest import Arena, hostile, raw_call, reply_of

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]

REPORT = '{ invocationId: ctx.inv, title: "forged" }'


def raw(name: str, body: str, *, caps: str = '"findings.report"') -> str:
    """A raw-SDK workflow that knows its own invocation id as `ctx.inv` (the raw ctx does not say)."""
    return hostile(name, body, caps=caps, prelude="", after="").replace(
        "async run(ctx: any, event: any) {", "async run(ctx: any, event: any) {\n    ctx.inv = ctx.params.arg;"
    )


async def test_a_call_the_workflow_did_not_declare_is_denied(arena: Arena) -> None:
    wf = await arena.load(raw("undeclared", raw_call("findings.report", REPORT), caps=""), raw=True)
    with structlog.testing.capture_logs() as logs:
        result = await arena.run(wf, invocation_id="inv-u1", arg="inv-u1")
    reply = reply_of(result)
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"] == {"capability": "findings.report", "reason": "not_declared"}
    assert result.findings == []
    assert [e["method"] for e in logs if e["event"] == "capability.denied"] == ["findings.report"]
    await arena.healthy(wf)


@pytest.mark.parametrize(
    "method",
    ["debug.processList", "debug.pythonProfile", "debug.pythonStackTrace", "debug.pythonMemory", "debug.pythonInspect",
     "debug.pythonDebugger"],
)
async def test_a_declared_but_ungranted_debug_action_is_denied(arena: Arena, method: str) -> None:
    params = '{ invocationId: ctx.inv, target: { namespace: "shop", name: "web-1" }, pid: 1, duration: 1, port: 5678 }'
    wf = await arena.load(raw("ungranted", raw_call(method, params), caps=f'"findings.report", "{method}"'), raw=True,
                          grant=Grant(capabilities=frozenset({"findings.report"}), source="test"))
    assert wf.manifest.capabilities == ["findings.report", method]
    reply = reply_of(await arena.run(wf, invocation_id="inv-g1", arg="inv-g1"))
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"]["reason"] == "not_granted"
    await arena.healthy(wf)


@pytest.mark.parametrize(
    "method",
    ["k8s.deletePod", "k8s.exec", "debug.exec", "initialize", "run", "$/cancel", "__proto__", "constructor", "log"],
)
async def test_methods_outside_the_capability_table_do_not_exist(arena: Arena, method: str) -> None:
    wf = await arena.load(raw("unknown", raw_call(method, "{ invocationId: ctx.inv }")), raw=True)
    reply = reply_of(await arena.run(wf, invocation_id="inv-m1", arg="inv-m1"))
    assert reply["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
    await arena.healthy(wf)


async def test_a_finding_about_a_namespace_outside_the_grant_is_denied(arena: Arena) -> None:
    body = raw_call("findings.report", '{ invocationId: ctx.inv, title: "ok here", subject: { kind: "Pod", namespace: "shop", name: "web-1" } }',
                    then="""
    const other: any = await ctx.call("findings.report", { invocationId: ctx.inv, title: "elsewhere",
      subject: { kind: "Pod", namespace: "kube-system", name: "coredns" } });
    throw new Error("REPLY " + JSON.stringify(other));
    """)
    wf = await arena.load(raw("scoped", body), raw=True,
                          grant=Grant(capabilities=frozenset({"findings.report"}), namespaces=frozenset({"shop"})))
    event = Event(kind="manual", subject=Subject(kind="Pod", namespace="shop", name="web-1"))
    result = await arena.run(wf, invocation_id="inv-n1", arg="inv-n1", event=event)
    reply = reply_of(result)
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"] == {"capability": "findings.report", "reason": "namespace", "namespace": "kube-system"}
    assert [f.title for f in result.findings] == ["ok here"]  # the in-scope call went through
    await arena.healthy(wf)


async def test_an_event_outside_the_granted_namespaces_never_reaches_the_workflow(arena: Arena) -> None:
    wf = await arena.load(raw("scoped", 'await ctx.report({ title: "ran" });'), raw=True,
                          grant=Grant(capabilities=frozenset({"findings.report"}), namespaces=frozenset({"shop"})))
    event = Event(kind="manual", subject=Subject(kind="Pod", namespace="kube-system", name="etcd"))
    result = await arena.run(wf, event=event)
    assert result.outcome == "rejected"
    assert "may not act in namespace 'kube-system'" in (result.error or "")
    assert wf.pool.stats.invocations == 0
    await arena.healthy(wf)


@pytest.mark.parametrize(
    "inv",
    ['"inv-forged"', '""', "42", "null", '{ "$ne": "" }', '["inv-i1"]', "undefined", '"inv-i1 "', '"INV-I1"'],
    ids=["unknown", "empty", "number", "null", "object", "array", "missing", "trailing-space", "case-changed"],
)
async def test_a_call_naming_no_running_invocation_is_refused(arena: Arena, inv: str) -> None:
    wf = await arena.load(raw("forger", raw_call("findings.report", f'{{ invocationId: {inv}, title: "forged" }}')), raw=True)
    result = await arena.run(wf, invocation_id="inv-i1", arg="inv-i1")
    reply = reply_of(result)
    assert reply["error"]["code"] == ErrorCode.INVOCATION_NOT_ACTIVE
    assert result.findings == []
    await arena.healthy(wf)


async def test_a_call_after_run_returned_is_refused_and_produces_nothing(arena: Arena) -> None:
    body = """
    const g = globalThis as any;
    if (g.late) throw new Error("REPLY " + JSON.stringify(g.late));
    setTimeout(async () => { g.late = await ctx.call("findings.report", { invocationId: ctx.inv, title: "too late" }); }, 200);
    """
    wf = await arena.load(raw("late", body), raw=True)
    first = await arena.run(wf, invocation_id="inv-l1", arg="inv-l1")
    assert first.outcome == "ok" and first.findings == [], first
    await asyncio.sleep(0.6)
    second = await arena.run(wf, invocation_id="inv-l2", arg="inv-l2")
    reply = reply_of(second)
    assert reply["error"]["code"] == ErrorCode.INVOCATION_NOT_ACTIVE
    assert "inv-l1" in reply["error"]["message"]
    assert first.findings == [] and second.findings == []
    await arena.healthy(wf)


async def test_the_id_of_another_workflows_running_invocation_is_useless(arena: Arena) -> None:
    victim = await arena.load(hostile("victim", """
    await ctx.report({ title: "victim's own" });
    await new Promise((r) => setTimeout(r, 1500));
    """))
    attacker = await arena.load(raw("attacker", """
    for (let i = 0; i < 20; i++) {
      const reply: any = await ctx.call("findings.report", { invocationId: "inv-victim", title: "planted" });
      if (!reply.error) throw new Error("ACCEPTED " + JSON.stringify(reply));
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new Error("REPLY " + JSON.stringify(await ctx.call("findings.report", { invocationId: "inv-victim", title: "planted" })));
    """), raw=True)
    victim_run = asyncio.create_task(arena.run(victim, invocation_id="inv-victim"))
    await asyncio.sleep(0.2)
    reply = reply_of(await arena.run(attacker, invocation_id="inv-attacker", arg="inv-attacker"))
    assert reply["error"]["code"] == ErrorCode.INVOCATION_NOT_ACTIVE
    result = await victim_run
    assert result.outcome == "ok", result.error
    assert [(f.title, f.workflow, f.invocation_id) for f in result.findings] == [("victim's own", "victim", "inv-victim")]
    await arena.healthy(victim, attacker)


async def test_the_id_of_a_sibling_invocation_of_the_same_workflow_is_useless(arena_factory: object) -> None:
    arena = arena_factory(concurrencyPerWorkflow=2)  # type: ignore[operator]
    body = """
    if (ctx.inv === "inv-a") { await new Promise((r) => setTimeout(r, 1500)); await ctx.call("findings.report", { invocationId: "inv-a", title: "a's own" }); return; }
    await new Promise((r) => setTimeout(r, 300));
    throw new Error("REPLY " + JSON.stringify(await ctx.call("findings.report", { invocationId: "inv-a", title: "planted by b" })));
    """
    wf = await arena.load(raw("siblings", body), raw=True)
    a = asyncio.create_task(arena.run(wf, invocation_id="inv-a", arg="inv-a"))
    b = await arena.run(wf, invocation_id="inv-b", arg="inv-b")
    assert reply_of(b)["error"]["code"] == ErrorCode.INVOCATION_NOT_ACTIVE
    result_a = await a
    assert [(f.title, f.invocation_id) for f in result_a.findings] == [("a's own", "inv-a")]
    assert b.findings == []
    await arena.healthy(wf)


async def test_a_forged_reply_to_the_hosts_run_request_only_ends_the_guests_own_invocation(arena: Arena) -> None:
    # The host's first `run` on a fresh connection has request id 2 (initialize was 1).
    body = """
    Deno.stdout.writeSync(new TextEncoder().encode('{"jsonrpc":"2.0","id":2,"result":{"ok":true}}\\n'));
    await new Promise((r) => setTimeout(r, 100));
    const g = globalThis as any;
    g.after = await ctx.call("findings.report", { invocationId: ctx.inv, title: "after the forged end" });
    """
    wf = await arena.load(raw("forged-end", body), raw=True)
    result = await arena.run(wf, invocation_id="inv-f1", arg="inv-f1")
    assert result.outcome == "ok" and result.findings == [], result
    await arena.healthy(wf)


@pytest.mark.parametrize(
    "extra",
    ['workflow: "good"', 'invocation_id: "inv-health-check"', 'id: "f-chosen"', 'time: "2000-01-01T00:00:00Z"',
     "__proto__: { polluted: true }"],
    ids=["workflow", "invocation_id", "finding-id", "time", "proto-key"],
)
async def test_a_finding_cannot_claim_another_author_or_identity(arena: Arena, extra: str) -> None:
    if "__proto__" in extra:  # an own "__proto__" key on the wire, as only JSON.parse makes it
        params = """JSON.parse('{"invocationId":"' + ctx.inv + '","title":"impostor","__proto__":{"polluted":true}}')"""
    else:
        params = f'{{ invocationId: ctx.inv, title: "impostor", {extra} }}'
    wf = await arena.load(raw("impostor", raw_call("findings.report", params)), raw=True)
    result = await arena.run(wf, invocation_id="inv-p1", arg="inv-p1")
    reply = reply_of(result)
    assert reply["error"]["code"] == ErrorCode.INVALID_PARAMS, reply
    assert result.findings == []
    await arena.healthy(wf)


async def test_an_artifact_id_from_nowhere_cannot_be_attached(arena: Arena) -> None:
    wf = await arena.load(raw("artifacts", raw_call("findings.report",
                                                  '{ invocationId: ctx.inv, title: "t", attachments: [{ artifactId: "art-1" }] }')),
                          raw=True)
    result = await arena.run(wf, invocation_id="inv-a1", arg="inv-a1")
    assert reply_of(result)["error"]["code"] == ErrorCode.NOT_FOUND
    await arena.healthy(wf)


async def test_calls_past_the_per_invocation_budget_are_refused(arena: Arena) -> None:
    body = """
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const r: any = await ctx.call("k8s.getPod", { invocationId: ctx.inv, pod: { namespace: "shop", name: "web-1" } });
      codes.push(r.error ? r.error.code : 0);
    }
    throw new Error("REPLY " + JSON.stringify({ codes }));
    """
    wf = await arena.load(raw("budget", body, caps='"findings.report"'), raw=True)
    codes = reply_of(await arena.run(wf, invocation_id="inv-b1", arg="inv-b1"))["codes"]
    cap = arena.config.sandbox.max_calls_per_invocation
    assert codes[:cap] == [ErrorCode.CAPABILITY_DENIED] * cap  # counted even when denied
    assert set(codes[cap:]) == {ErrorCode.LIMIT_EXCEEDED}
    await arena.healthy(wf)


async def test_findings_past_the_per_invocation_cap_are_refused(arena: Arena) -> None:
    body = """
    const codes: number[] = [];
    for (let i = 0; i < 15; i++) {
      const r: any = await ctx.call("findings.report", { invocationId: ctx.inv, title: "f" + i });
      codes.push(r.error ? r.error.code : 0);
    }
    throw new Error("REPLY " + JSON.stringify({ codes }));
    """
    wf = await arena.load(raw("many-findings", body), raw=True)
    result = await arena.run(wf, invocation_id="inv-c1", arg="inv-c1")
    cap = arena.config.sandbox.max_findings_per_invocation
    assert reply_of(result)["codes"] == [0] * cap + [ErrorCode.LIMIT_EXCEEDED] * (15 - cap)
    assert len(result.findings) == cap
    await arena.healthy(wf)


async def test_more_concurrent_calls_than_the_host_serves_get_limit_exceeded_not_a_crash(arena_factory: object) -> None:
    arena = arena_factory(maxCallsPerInvocation=1000, maxFindingsPerInvocation=1000)  # type: ignore[operator]
    body = """
    const replies: any[] = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      ctx.call("findings.report", { invocationId: ctx.inv, title: "c" + i })));
    const codes = replies.map((r) => (r.error ? r.error.code : 0));
    throw new Error("REPLY " + JSON.stringify({ ok: codes.filter((c) => c === 0).length, limited: codes.filter((c) => c === -32003).length }));
    """
    wf = await arena.load(raw("concurrent", body), raw=True)
    result = await arena.run(wf, invocation_id="inv-k1", arg="inv-k1")
    counts = reply_of(result)
    assert counts["ok"] + counts["limited"] == 300
    assert counts["ok"] >= 64
    assert len(result.findings) == counts["ok"]
    await arena.healthy(wf)


async def test_widening_the_manifest_after_initialize_changes_nothing(arena: Arena) -> None:
    body = """
    definition.capabilities.push("debug.pythonDebugger");
    """ + raw_call("debug.pythonDebugger", '{ invocationId: ctx.inv, target: { namespace: "shop", name: "web-1" }, pid: 1 }')
    source = raw("widen", body).replace("export default defineWorkflow({", "const definition: any = defineWorkflow({")
    wf = await arena.load(source + "export default definition;\n", raw=True)
    reply = reply_of(await arena.run(wf, invocation_id="inv-w1", arg="inv-w1"))
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"]["reason"] == "not_declared"
    assert wf.policy.effective == frozenset({"findings.report"})
    await arena.healthy(wf)


def test_a_custom_workflow_no_grant_names_gets_no_debug_action(arena: Arena) -> None:
    # (What built-ins are granted: tests/builtins, which loads them.)
    # A custom workflow no grant names gets the configured defaults: no debug action at all.
    default = custom_grant(arena.config, "anything")
    assert default.capabilities == frozenset({"k8s.read", "findings.report"})
    assert not [c for c in default.capabilities if c.startswith("debug.")]
    assert json.dumps(sorted(default.namespaces)) == "[]"
