"""Every capability fails closed under a namespaced grant: a missing, null or cluster-scoped target is refused.

Each case calls the real router with a workflow granted every capability but only in `shop`,
and checks that the call is refused before any request reaches the cluster or the debug agent,
and that no finding is published. Before the fix a finding whose subject had no namespace (or
was a Node) was accepted: the namespace check ran only when a namespace was present.
"""

from __future__ import annotations

from typing import Any

import pytest

from host.capabilities.context import CallContext
from host.capabilities.policy import METHOD_CAPABILITY, Grant, Policy
from host.capabilities.routes import build_router
from host.config import SandboxConfig
from host.model.events import Event, Subject
from host.model.findings import Finding
from host.rpc import ErrorCode, RpcError


class Recorder:
    """Stands in for the Kubernetes client and the debug backend: records every request it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            if name == "run":
                return {"processes": []}
            if name == "get_pod":
                return {"metadata": {"name": args[1], "namespace": args[0]}}
            if name == "get_object":
                return {"metadata": {"name": args[2], "namespace": args[1]}}
            if name == "list_page":
                return {"items": []}
            return [] if name.startswith("list") else ""

        return call


def _ctx(findings: list[Finding], *, event_subject: Subject | None, namespaces: frozenset[str]) -> CallContext:
    async def on_finding(f: Finding) -> None:
        findings.append(f)

    caps = frozenset(METHOD_CAPABILITY.values())
    policy = Policy(workflow="scoped", declared=caps, granted=Grant(capabilities=caps, namespaces=namespaces))
    return CallContext(invocation_id="inv-1", workflow="scoped", event=Event(kind="manual", subject=event_subject),
                       params={}, policy=policy, limits=SandboxConfig(), on_finding=on_finding)


POD_METHODS = ["k8s.getPod", "k8s.podLogs", "debug.processList", "debug.pythonProfile", "debug.pythonStackTrace",
               "debug.pythonMemory", "debug.pythonInspect", "debug.pythonDebugger", "debug.goProfile",
               "debug.nodeProfile", "debug.networkCheck", "debug.javaThreadDump", "debug.javaHeapHistogram",
               "debug.javaProfile"]
TARGET_KEY = {"k8s.getPod": "pod", "k8s.podLogs": "pod"}  # debug.* name it `target`


def _object(target: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", **target}


def _params(method: str, target: dict[str, Any] | None) -> dict[str, Any]:
    """The params of `method` acting on `target` (None: the target key left out)."""
    if method == "k8s.get":
        return {"apiVersion": "v1", "kind": "Pod"} if target is None else _object(target)
    if method == "k8s.list":
        return {"apiVersion": "v1", "kind": "Pod", **({} if target is None else {
            k: v for k, v in _object(target).items() if k != "name"})}
    if method == "k8s.owners":
        return {} if target is None else {"object": _object(target)}
    extra: dict[str, Any] = {"pid": 1} if method.startswith("debug.") and method != "debug.processList" else {}
    if method in POD_METHODS:
        key = TARGET_KEY.get(method, "target")
        return {**extra, **({key: target} if target is not None else {})}
    if method == "k8s.listPods":
        return {} if target is None else {k: v for k, v in target.items() if k == "namespace"}
    if method == "k8s.events":
        return {} if target is None else {"subject": target}
    assert method == "findings.report"
    return {"title": "about something", **({"subject": target} if target is not None else {})}


TARGETS: dict[str, dict[str, Any] | None] = {
    "missing-namespace": {"name": "web-1"},
    "null-namespace": {"name": "web-1", "namespace": None},
    "empty-namespace": {"name": "web-1", "namespace": ""},
    "cluster-scoped-kind": {"name": "node-1", "kind": "Node"},
    "cluster-scoped-kind-with-namespace": {"name": "node-1", "kind": "Node", "namespace": "shop"},
    "other-namespace": {"name": "web-1", "namespace": "kube-system"},
}


@pytest.mark.parametrize("method", sorted(METHOD_CAPABILITY))
@pytest.mark.parametrize("target", sorted(TARGETS))
async def test_a_call_without_a_namespaced_target_in_the_grant_is_refused(method: str, target: str) -> None:
    if method == "k8s.listPods" and target == "cluster-scoped-kind-with-namespace":
        pytest.skip("listPods names a namespace, not a kind: its cluster-wide form is the missing namespace")
    backend = Recorder()
    router = build_router(kube=backend, debug=backend)  # type: ignore[arg-type]
    findings: list[Finding] = []
    # The event itself is cluster-scoped, so a finding cannot fall back to an in-scope subject.
    ctx = _ctx(findings, event_subject=Subject(kind="Node", name="node-1"), namespaces=frozenset({"shop"}))
    params = _params(method, TARGETS[target])
    with pytest.raises(RpcError) as info:
        await router.call(ctx, method, params)
    assert info.value.code in (ErrorCode.CAPABILITY_DENIED, ErrorCode.INVALID_PARAMS), info.value.message
    assert backend.calls == []
    assert findings == []


@pytest.mark.parametrize("method", sorted(METHOD_CAPABILITY))
async def test_a_call_with_no_target_at_all_is_refused(method: str) -> None:
    backend = Recorder()
    router = build_router(kube=backend, debug=backend)  # type: ignore[arg-type]
    findings: list[Finding] = []
    ctx = _ctx(findings, event_subject=None, namespaces=frozenset({"shop"}))
    with pytest.raises(RpcError) as info:
        await router.call(ctx, method, _params(method, None))
    assert info.value.code in (ErrorCode.CAPABILITY_DENIED, ErrorCode.INVALID_PARAMS), info.value.message
    assert backend.calls == []
    assert findings == []


async def test_the_namespaceless_finding_subject_is_denied_with_the_reason() -> None:
    findings: list[Finding] = []
    ctx = _ctx(findings, event_subject=Subject(kind="Pod", namespace="shop", name="web-1"),
               namespaces=frozenset({"shop"}))
    with pytest.raises(RpcError) as info:
        await build_router().call(ctx, "findings.report", {"title": "x", "subject": {"name": "web-1"}})
    assert info.value.code == ErrorCode.CAPABILITY_DENIED
    assert info.value.data is not None and info.value.data["reason"] == "namespace"
    assert "names no namespace" in info.value.message
    assert findings == []


@pytest.mark.parametrize("method", sorted(METHOD_CAPABILITY))
async def test_the_same_calls_in_the_granted_namespace_go_through(method: str) -> None:
    backend = Recorder()
    router = build_router(kube=backend, debug=backend)  # type: ignore[arg-type]
    findings: list[Finding] = []
    ctx = _ctx(findings, event_subject=Subject(kind="Pod", namespace="shop", name="web-1"),
               namespaces=frozenset({"shop"}))
    await router.call(ctx, method, _params(method, {"name": "web-1", "namespace": "shop"}))
    assert len(backend.calls) + len(findings) == 1


async def test_an_unrestricted_grant_still_accepts_a_finding_about_a_node() -> None:
    findings: list[Finding] = []
    ctx = _ctx(findings, event_subject=None, namespaces=frozenset())
    await build_router().call(ctx, "findings.report", {"title": "x", "subject": {"kind": "Node", "name": "n1"}})
    assert [f.subject.kind for f in findings if f.subject] == ["Node"]
