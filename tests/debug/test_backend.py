"""The debug backend through the local cluster: ephemeral container added once, agent run by exec, errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from host.config import DebugConfig
from host.debug.backend import DebugBackend, DebugError
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from tests.clusters import RealCluster

pytestmark = pytest.mark.timeout(180)

APP = ["python", "-c", "import time\nwhile True:\n    sum(range(10000))\n    time.sleep(0.01)"]


async def _running_pod(cluster: LocalCluster, kube: KubeClient, name: str, *, image: str = "python:3.11") -> None:
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": image, "command": APP}]}}
    await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, "default", body)
    for _ in range(200):
        pod = await kube.get_pod("default", name)
        st = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
        if "running" in (st.get("state") or {}):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("pod did not start")


def _backend(kube: KubeClient, **kw: Any) -> DebugBackend:
    return DebugBackend(kube, DebugConfig(image="wfhost-debug:test", container_start_timeout_seconds=20, **kw))


async def test_the_agent_runs_in_an_ephemeral_container_and_its_result_comes_back(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    await _running_pod(cluster, kube, "web")
    backend = _backend(kube)
    result = await backend.run("default", "web", None, ["ps"])
    pythons = [p for p in result["processes"] if p["python"]]
    assert pythons, result
    pod = await kube.get_pod("default", "web")
    (ec,) = pod["spec"]["ephemeralContainers"]
    assert ec["targetContainerName"] == "app"
    assert ec["image"] == "wfhost-debug:test"
    assert ec["securityContext"]["capabilities"] == {"add": ["SYS_PTRACE"], "drop": ["ALL"]}
    assert ec["securityContext"]["privileged"] is False
    # a real action against the real process: a stack dump names the loop's frame
    dump = await backend.run("default", "web", "app", ["stacktrace", "--pid", str(pythons[0]["pid"])])
    frames = [f["function"] for s in dump["snapshots"] for t in s["threads"] for f in t["frames"]]
    assert "<module>" in frames


async def test_twenty_actions_add_one_ephemeral_container(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "busy")
    backend = _backend(kube, max_ephemeral_containers_per_pod=1)
    results = await asyncio.gather(*(backend.run("default", "busy", None, ["ps"]) for _ in range(20)))
    assert len(results) == 20
    pod = await kube.get_pod("default", "busy")
    assert len(pod["spec"]["ephemeralContainers"]) == 1
    assert backend.containers_added == 1


async def test_the_bound_holds_when_the_debug_container_has_ended(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "ended")
    backend = _backend(kube, max_ephemeral_containers_per_pod=1)
    await backend.run("default", "ended", None, ["ps"])
    # The debug container's main process ends: it cannot be restarted, and no second one may be added.
    pod = await kube.get_pod("default", "ended")
    name = pod["spec"]["ephemeralContainers"][0]["name"]
    pids = cluster.container_pids("default", "ended")
    import os
    import signal

    os.kill(pids[name], signal.SIGKILL)
    for _ in range(100):
        pod = await kube.get_pod("default", "ended")
        st = pod["status"]["ephemeralContainerStatuses"][0]
        if "terminated" in (st.get("state") or {}):
            break
        await asyncio.sleep(0.05)
    with pytest.raises(DebugError) as info:
        await backend.run("default", "ended", None, ["ps"])
    assert info.value.code == "limit_reached"
    assert "maxEphemeralContainersPerPod" in str(info.value)


async def test_a_pod_deleted_mid_action_gives_an_error_not_a_hang(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "doomed")
    backend = _backend(kube)
    ps = await backend.run("default", "doomed", None, ["ps"])
    pid = next(p["pid"] for p in ps["processes"] if p["python"])
    began = time.monotonic()
    action = asyncio.create_task(backend.run("default", "doomed", None, ["profile", "--pid", str(pid), "--duration", "20"]))
    await asyncio.sleep(2)
    await asyncio.to_thread(cluster.core_v1().delete_namespaced_pod, "doomed", "default", grace_period_seconds=0)
    with pytest.raises(DebugError) as info:
        await asyncio.wait_for(action, 30)
    assert time.monotonic() - began < 20
    assert info.value.code in ("pod_gone", "process_exited", "no_such_process", "kube_error", "agent_failed")


# The stand-in only: its switch stands for a cluster whose policy refuses ephemeral containers.
@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
async def test_a_cluster_that_forbids_ephemeral_containers_gets_a_clear_error(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    await _running_pod(cluster, kube, "locked")
    cluster.set_ephemeral_containers_allowed(False)
    with pytest.raises(DebugError) as info:
        await _backend(kube).run("default", "locked", None, ["ps"])
    assert info.value.code == "ephemeral_forbidden"
    assert "forbids" in str(info.value)


async def test_an_unpullable_debug_image_gets_a_clear_error(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "pull")
    backend = DebugBackend(kube, DebugConfig(image="invalid.example/wfhost-debug:nope", container_start_timeout_seconds=20))
    with pytest.raises(DebugError) as info:
        await backend.run("default", "pull", None, ["ps"])
    assert info.value.code == "image_pull"
    assert "invalid.example/wfhost-debug:nope" in str(info.value)


async def test_a_missing_pod_or_container_is_named(cluster: LocalCluster, kube: KubeClient) -> None:
    await _running_pod(cluster, kube, "named")
    backend = _backend(kube)
    with pytest.raises(DebugError) as gone:
        await backend.run("default", "nope", None, ["ps"])
    assert gone.value.code == "pod_gone"
    with pytest.raises(DebugError) as bad:
        await backend.run("default", "named", "sidecar", ["ps"])
    assert bad.value.code == "bad_target"
    assert "app" in str(bad.value)


@pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)
async def test_pod_security_baseline_refuses_the_debug_container_with_a_clear_reason(
    cluster: RealCluster, kube: KubeClient
) -> None:
    cluster.ensure_namespace("baseline", {"pod-security.kubernetes.io/enforce": "baseline"})
    body = {"metadata": {"name": "guarded"}, "spec": {"containers": [{"name": "app", "image": "python:3.11", "command": APP}]}}
    await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, "baseline", body)
    for _ in range(200):
        pod = await kube.get_pod("baseline", "guarded")
        if "running" in ((pod.get("status", {}).get("containerStatuses") or [{}])[0].get("state") or {}):
            break
        await asyncio.sleep(0.05)
    with pytest.raises(DebugError) as info:
        await _backend(kube).run("baseline", "guarded", None, ["ps"])
    assert info.value.code == "pod_security"
    message = str(info.value)
    assert 'violates PodSecurity "baseline:latest"' in message  # the server's own words
    assert "SYS_PTRACE" in message
    assert "pod-security.kubernetes.io/enforce=privileged" in message  # what the operator can do
    pod = await kube.get_pod("baseline", "guarded")
    assert not pod["spec"].get("ephemeralContainers")


# The stand-in only: a refusal that is not Pod Security's never sends `auto` to a node pod.
@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
async def test_auto_does_not_fall_back_when_the_refusal_is_not_pod_securitys(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    from host.config import NodePodConfig
    from host.debug.mechanism import Debugger

    await _running_pod(cluster, kube, "other-refusal")
    cluster.set_ephemeral_containers_allowed(False)
    debugger = Debugger(kube, DebugConfig(image="wfhost-debug:test", mechanism="auto",
                                          node_pod=NodePodConfig(namespace="default")))
    with pytest.raises(DebugError) as info:
        await debugger.run("default", "other-refusal", None, ["ps"])
    assert info.value.code == "ephemeral_forbidden"
    assert debugger.fallbacks == 0 and debugger.node_pods.pods_created == 0
    assert [p["metadata"]["name"] for p in await kube.list_pods("default")] == ["other-refusal"]
