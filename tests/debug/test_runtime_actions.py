"""The Go profile and the network check through the capability router, the debug backend and the
local cluster: params checked and turned into the agent's command line, run in the pod's debug
container, artifacts kept host-side; the new capabilities are privileged, so audited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from host.capabilities.context import CallContext
from host.capabilities.debug_actions import GoProfile, NetworkCheck
from host.capabilities.policy import PRIVILEGED, Grant, Policy
from host.capabilities.routes import build_router
from host.config import DebugConfig, SandboxConfig
from host.debug.backend import DebugBackend
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event, Subject
from host.rpc import ErrorCode, RpcError
from tests.agent.conftest import build_go

pytestmark = pytest.mark.timeout(240)

NEW = ("debug.goProfile", "debug.nodeProfile", "debug.networkCheck")


async def _running_pod(cluster: LocalCluster, kube: KubeClient, name: str, command: list[str]) -> None:
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "go:test", "command": command}]}}
    await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, "default", body)
    for _ in range(400):
        pod = await kube.get_pod("default", name)
        st = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
        if "running" in (st.get("state") or {}):
            await asyncio.sleep(0.5)  # let it reach its listen()
            return
        await asyncio.sleep(0.05)
    raise AssertionError("pod did not start")


def _ctx() -> CallContext:
    caps = frozenset({"findings.report", *NEW})
    policy = Policy(workflow="t", declared=caps, granted=Grant(capabilities=caps, namespaces=frozenset({"default"})))
    return CallContext(invocation_id="inv-1", workflow="t", event=Event(kind="manual", subject=Subject(
        kind="Pod", namespace="default", name="go")), params={}, policy=policy, limits=SandboxConfig())


def test_the_new_capabilities_are_privileged_so_every_call_is_audited() -> None:
    assert set(NEW) <= PRIVILEGED


def test_params_become_the_agents_command_line_and_values_can_never_be_options() -> None:
    target = {"namespace": "default", "name": "go"}
    assert GoProfile.model_validate({"target": target, "pid": 7, "port": 6060}).agent_args() == [
        "goprofile", "--pid", "7", "--duration", "5", "--port", "6060"
    ]
    check = NetworkCheck.model_validate({"target": target, "names": ["db.shop"], "connect": ["db.shop:5432"],
                                         "http": ["http://api/health"], "timeoutSeconds": 2, "sockets": False})
    assert check.agent_args() == [
        "network", "--timeout", "2", "--resolve=db.shop", "--connect=db.shop:5432", "--http=http://api/health",
        "--no-sockets",
    ]
    for bad in ({"names": ["--help"]}, {"connect": ["db"]}, {"http": ["file:///etc/passwd"]},
                {"nameservers": ["dns.google"]}, {"names": [f"n{i}" for i in range(21)]}):
        with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError
            NetworkCheck.model_validate({"target": target, **bad})


async def test_a_go_profile_and_a_network_check_run_in_the_pods_debug_container(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    await _running_pod(cluster, kube, "go", [str(build_go("go_pprof"))])
    backend = DebugBackend(kube, DebugConfig(image="wfhost-debug:test", container_start_timeout_seconds=20))
    router = build_router(debug=backend)
    ctx = _ctx()
    listing = await backend.run("default", "go", None, ["ps"])
    (go,) = [p for p in listing["processes"] if p["runtime"] == "go"]
    assert go["runtimeDetail"] == "wfhost.test/gopprof"

    profile: dict[str, Any] = await router.call(
        ctx, "debug.goProfile", {"target": {"namespace": "default", "name": "go"}, "pid": go["pid"], "duration": 1}
    )
    assert profile["topFunctions"][0]["function"] == "main.burnCPU"
    assert {a["name"] for a in profile["artifacts"]} == {"flamegraph.svg", "cpu.pb.gz", "goroutines.txt"}
    assert all("artifactId" in a and "data" not in a for a in profile["artifacts"])  # kept host-side

    network: dict[str, Any] = await router.call(
        ctx, "debug.networkCheck",
        {"target": {"namespace": "default", "name": "go"}, "connect": ["127.0.0.1:1"], "names": ["localhost"]},
    )
    assert network["pid"] == go["pid"]  # the scope's process: the pod's network namespace locally
    assert network["connects"][0]["outcome"] == "refused"
    assert network["dns"][0]["addresses"] == ["127.0.0.1"]
    assert any(s["pid"] == go["pid"] for s in network["listening"])

    with pytest.raises(RpcError) as info:
        await router.call(ctx, "debug.nodeProfile", {"target": {"namespace": "default", "name": "go"}, "pid": go["pid"]})
    assert info.value.code == ErrorCode.UPSTREAM_ERROR
    assert info.value.data is not None and info.value.data["reason"] == "wrong_runtime"
    assert "is a go process, not node" in info.value.message
