"""The Java actions through the capability router, the debug backend and the local cluster: params
checked and turned into the agent's command line, run in the JVM pod's debug container (a thread
dump with the deadlock, the live heap histogram, a JFR recording with the hot method), artifacts
kept host-side; the capabilities are privileged, so audited."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from host.capabilities.context import CallContext
from host.capabilities.debug_actions import JavaHeapHistogram, JavaProfile, JavaThreadDump
from host.capabilities.policy import PRIVILEGED, Grant, Policy
from host.capabilities.routes import build_router
from host.config import DebugConfig, SandboxConfig
from host.debug.backend import DebugBackend
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event, Subject
from host.rpc import ErrorCode, RpcError
from tests.agent.conftest import build_go, build_java

pytestmark = pytest.mark.timeout(300)

JAVA = ("debug.javaThreadDump", "debug.javaHeapHistogram", "debug.javaProfile")
TARGET = {"namespace": "default", "name": "jvm"}


async def _running_pod(cluster: LocalCluster, kube: KubeClient, name: str, command: list[str]) -> None:
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "jvm:test", "command": command}]}}
    await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, "default", body)
    for _ in range(400):
        pod = await kube.get_pod("default", name)
        st = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
        if "running" in (st.get("state") or {}):
            await asyncio.sleep(1.0)  # let the JVM start its threads
            return
        await asyncio.sleep(0.05)
    raise AssertionError("pod did not start")


def _ctx(name: str) -> CallContext:
    caps = frozenset({"findings.report", *JAVA})
    policy = Policy(workflow="t", declared=caps, granted=Grant(capabilities=caps, namespaces=frozenset({"default"})))
    return CallContext(invocation_id="inv-1", workflow="t", event=Event(kind="manual", subject=Subject(
        kind="Pod", namespace="default", name=name)), params={}, policy=policy, limits=SandboxConfig())


def test_the_java_capabilities_are_privileged_so_every_call_is_audited() -> None:
    assert set(JAVA) <= PRIVILEGED


def test_params_become_the_agents_command_line() -> None:
    assert JavaThreadDump.model_validate({"target": TARGET, "pid": 7}).agent_args() == ["javathreads", "--pid", "7"]
    assert JavaHeapHistogram.model_validate({"target": TARGET, "pid": 7}).agent_args() == [
        "javaheap", "--pid", "7", "--top", "30"
    ]
    assert JavaHeapHistogram.model_validate({"target": TARGET, "pid": 7, "top": 5, "liveOnly": False}).agent_args() == [
        "javaheap", "--pid", "7", "--top", "5", "--all"
    ]
    assert JavaProfile.model_validate({"target": TARGET, "pid": 7}).agent_args() == [
        "javaprofile", "--pid", "7", "--duration", "10"
    ]
    for model, bad in ((JavaProfile, {"duration": 301}), (JavaHeapHistogram, {"top": 0}), (JavaThreadDump, {"pid": 0})):
        with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError
            model.model_validate({"target": TARGET, "pid": 7, **bad})


async def test_thread_dump_heap_histogram_and_profile_run_in_the_jvm_pods_debug_container(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    classes = build_java("JavaHot")
    await _running_pod(cluster, kube, "jvm", [java, "-Xmx128m", "-cp", str(classes), "JavaHot", "deadlock"])
    backend = DebugBackend(kube, DebugConfig(image="wfhost-debug:test", container_start_timeout_seconds=20))
    router = build_router(debug=backend)
    ctx = _ctx("jvm")
    listing = await backend.run("default", "jvm", None, ["ps"])
    (jvm,) = [p for p in listing["processes"] if p["runtime"] == "jvm"]

    dump: dict[str, Any] = await router.call(ctx, "debug.javaThreadDump", {"target": TARGET, "pid": jvm["pid"]})
    (cycle,) = dump["deadlocks"]
    assert {t["name"] for t in cycle["threads"]} == {"locker-a", "locker-b"}
    assert "wfhost-burner" in {t["name"] for t in dump["threads"]}
    assert [a["name"] for a in dump["artifacts"]] == ["threads.txt"] and "artifactId" in dump["artifacts"][0]

    heap: dict[str, Any] = await router.call(
        ctx, "debug.javaHeapHistogram", {"target": TARGET, "pid": jvm["pid"], "top": 10}
    )
    assert "JavaHot$Order" in {c["className"] for c in heap["topClasses"]}

    profile: dict[str, Any] = await router.call(
        ctx, "debug.javaProfile", {"target": TARGET, "pid": jvm["pid"], "duration": 2}
    )
    assert profile["topFunctions"][0]["function"] == "JavaHot.burnCpu"
    assert {a["name"] for a in profile["artifacts"]} == {"flamegraph.svg", "recording.jfr"}
    assert all("artifactId" in a and "data" not in a for a in profile["artifacts"])  # kept host-side


async def test_a_go_process_gets_the_clear_wrong_runtime_error(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "go", [str(build_go("go_pprof"))])
    backend = DebugBackend(kube, DebugConfig(image="wfhost-debug:test", container_start_timeout_seconds=20))
    router = build_router(debug=backend)
    listing = await backend.run("default", "go", None, ["ps"])
    (go,) = [p for p in listing["processes"] if p["runtime"] == "go"]

    with pytest.raises(RpcError) as info:
        await router.call(
            _ctx("go"), "debug.javaThreadDump", {"target": {"namespace": "default", "name": "go"}, "pid": go["pid"]}
        )
    assert info.value.code == ErrorCode.UPSTREAM_ERROR
    assert info.value.data is not None and info.value.data["reason"] == "wrong_runtime"
    assert "is a go process, not jvm" in info.value.message
