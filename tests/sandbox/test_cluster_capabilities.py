"""Hostile workflows against the cluster capabilities, with a real (local) Kubernetes API server.

The host's service account can read every namespace and, with debug workflows on, attach to
any pod; a workflow must get only the namespaces and actions its grant names. The local cluster
has pods in `shop` (granted) and `kube-system` (not); every refusal is the host's, made before
any request reaches the API server, and every debug action is audited.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog

from host.capabilities.policy import Grant
from host.capabilities.routes import build_router
from host.config import DebugConfig
from host.debug.backend import DebugBackend
from host.kube.client import KubeClient
from host.localcluster import LocalCluster, LocalClusterSettings
from host.model.events import Event, Subject
from host.rpc import ErrorCode
from tests.logged import logged_at
from tests.sandbox.conftest import Arena, ArenaFactory, reply_of
from tests.sandbox.test_capabilities import raw

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]

CAPS = '"k8s.read", "findings.report", "debug.processList", "debug.pythonDebugger"'
IN_SCOPE = Event(kind="manual", subject=Subject(kind="Pod", namespace="shop", name="web-1"))


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "python:3.11", "command": ["python", "-c", "pass"]}]}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """An API server without a kubelet: pods exist, nothing runs."""
    with LocalCluster(LocalClusterSettings.for_tests(), kubelet=False) as lc:
        api = lc.core_v1()
        existing = {n.metadata.name for n in api.list_namespace().items}
        for ns in {"shop", "kube-system"} - existing:
            api.create_namespace({"metadata": {"name": ns}})
        for ns, name in (("shop", "web-1"), ("shop", "web-2"), ("kube-system", "coredns")):
            api.create_namespaced_pod(ns, _pod(name))
        yield lc


class ClusterArena:
    def __init__(self, arena: Arena, kube: KubeClient, backend: DebugBackend) -> None:
        self.arena = arena
        self.kube = kube
        self.backend = backend


@pytest.fixture
async def cluster_arena(cluster: LocalCluster, arena_factory: ArenaFactory) -> AsyncIterator[ClusterArena]:
    kube = KubeClient.from_config(cluster.kubeconfig_path)
    backend = DebugBackend(kube, DebugConfig(container_start_timeout_seconds=1, action_timeout_seconds=5))
    arena = arena_factory(router=build_router(kube=kube, debug=backend))
    try:
        yield ClusterArena(arena, kube, backend)
    finally:
        await arena.close()
        await backend.close()
        kube.close()


SHOP_ONLY = Grant(capabilities=frozenset({"k8s.read", "findings.report", "debug.processList"}),
                  namespaces=frozenset({"shop"}), source="test")


def _call(method: str, params: str) -> str:
    return f"""
    const reply: any = await ctx.call({method!r}, {{ invocationId: ctx.inv, ...{params} }});
    throw new Error("REPLY " + JSON.stringify(reply));
    """


async def test_reading_a_pod_in_a_granted_namespace_works(cluster_arena: ClusterArena) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("reader", _call("k8s.getPod", '{ pod: { namespace: "shop", name: "web-1" } }'), caps=CAPS),
                          raw=True, grant=SHOP_ONLY)
    reply = reply_of(await arena.run(wf, event=IN_SCOPE, invocation_id="inv-r1", arg="inv-r1"))
    assert reply["result"]["name"] == "web-1"
    assert reply["result"]["namespace"] == "shop"
    await arena.healthy(wf)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("k8s.getPod", '{ pod: { namespace: "kube-system", name: "coredns" } }'),
        ("k8s.listPods", '{ namespace: "kube-system" }'),
        ("k8s.podLogs", '{ pod: { namespace: "kube-system", name: "coredns" }, tailLines: 10 }'),
        ("k8s.events", '{ subject: { namespace: "kube-system", name: "coredns" } }'),
        ("debug.processList", '{ target: { namespace: "kube-system", name: "coredns" } }'),
        ("findings.report", '{ title: "x", subject: { kind: "Pod", namespace: "kube-system", name: "coredns" } }'),
    ],
    ids=["getPod", "listPods", "podLogs", "events", "debug.processList", "findings.report"],
)
async def test_every_call_outside_the_granted_namespaces_is_denied_and_logged(
    cluster_arena: ClusterArena, method: str, params: str
) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("scoped", _call(method, params), caps=CAPS), raw=True, grant=SHOP_ONLY)
    with structlog.testing.capture_logs() as logs:
        reply = reply_of(await arena.run(wf, event=IN_SCOPE, invocation_id="inv-s1", arg="inv-s1"))
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"]["reason"] == "namespace"
    denied = [e for e in logs if e["event"] == "capability.denied"]
    assert [(e["method"], e["namespace"], e["invocation"]) for e in denied] == [(method, "kube-system", "inv-s1")]
    assert cluster_arena.backend.containers_added == 0
    await arena.healthy(wf)


async def test_a_debug_action_the_operator_did_not_grant_never_touches_the_pod(
    cluster_arena: ClusterArena, cluster: LocalCluster
) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("debugger", _call("debug.pythonDebugger", '{ target: { namespace: "shop", name: "web-2" }, pid: 1 }'),
                              caps=CAPS), raw=True, grant=SHOP_ONLY)
    reply = reply_of(await arena.run(wf, event=IN_SCOPE, invocation_id="inv-d1", arg="inv-d1"))
    assert reply["error"]["code"] == ErrorCode.CAPABILITY_DENIED
    assert reply["error"]["data"]["reason"] == "not_granted"
    pod = cluster.core_v1().read_namespaced_pod("web-2", "shop")
    assert not pod.spec.ephemeral_containers
    await arena.healthy(wf)


@pytest.mark.parametrize(
    ("target", "pid"),
    [
        ('{ namespace: "shop", name: "../../secrets" }', 1),
        ('{ namespace: "shop/../kube-system", name: "coredns" }', 1),
        ('{ namespace: "shop", name: "web-2", container: "app; rm -rf /" }', 1),
        ('{ namespace: "", name: "web-2" }', 1),
        ('{ namespace: "shop", name: "web-2" }', -1),
        ('{ namespace: "shop", name: "web-2" }', "'1 --native'"),
    ],
    ids=["name-traversal", "namespace-traversal", "container-injection", "empty-namespace", "negative-pid", "pid-injection"],
)
async def test_malformed_targets_are_invalid_params_before_any_cluster_request(
    cluster_arena: ClusterArena, target: str, pid: object
) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("malformed", _call("debug.pythonInspect", f"{{ target: {target}, pid: {pid} }}"),
                              caps='"findings.report", "debug.pythonInspect"'),
                          raw=True, grant=Grant(capabilities=frozenset({"findings.report", "debug.pythonInspect"}), source="test"))
    reply = reply_of(await arena.run(wf, invocation_id="inv-x1", arg="inv-x1"))
    assert reply["error"]["code"] == ErrorCode.INVALID_PARAMS, reply
    assert cluster_arena.backend.containers_added == 0
    await arena.healthy(wf)


async def test_a_granted_debug_action_is_audited_even_when_it_fails(cluster_arena: ClusterArena) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("audited", _call("debug.processList", '{ target: { namespace: "shop", name: "no-such-pod" } }'),
                              caps=CAPS), raw=True, grant=SHOP_ONLY)
    with structlog.testing.capture_logs() as logs:
        reply = reply_of(await arena.run(wf, event=IN_SCOPE, invocation_id="inv-a1", arg="inv-a1"))
    assert reply["error"]["code"] == ErrorCode.NOT_FOUND
    audit = [e for e in logs if e["event"] == "audit.privileged_call"]
    assert [(e["workflow"], e["invocation"], e["action"], e["target"], e["result"]) for e in audit] == [
        ("audited", "inv-a1", "debug.processList", "shop/no-such-pod", "error")
    ]
    await arena.healthy(wf)


async def test_the_audit_line_is_written_even_when_the_log_level_filters_out_everything_else(
    cluster_arena: ClusterArena,
) -> None:
    arena = cluster_arena.arena
    wf = await arena.load(raw("audited-quietly", _call("debug.processList", '{ target: { namespace: "shop", name: "no-such-pod" } }'),
                              caps=CAPS), raw=True, grant=SHOP_ONLY)
    with logged_at("error") as out:
        reply = reply_of(await arena.run(wf, event=IN_SCOPE, invocation_id="inv-q1", arg="inv-q1"))
    assert reply["error"]["code"] == ErrorCode.NOT_FOUND
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    audit = [e for e in lines if e["event"] == "audit.privileged_call"]
    assert [(e["invocation"], e["action"], e["result"]) for e in audit] == [("inv-q1", "debug.processList", "error")]
    assert all(e["level"] == "error" or e["event"].startswith("audit.") for e in lines), lines
    await arena.healthy(wf)
