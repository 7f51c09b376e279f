"""The node-pod mechanism on the real control plane: real Pod Security Admission, real pods/exec,
our process kubelet naming each container's cgroup by pod UID and container ID, real py-spy.

`baseline` enforces Pod Security baseline, which rejects the ephemeral container's SYS_PTRACE;
`wfhost-system` is wfhost's own namespace, labelled `privileged` as the operator is told to.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from host.config import DebugConfig, NodePodConfig, parse_config
from host.debug.mechanism import Debugger
from host.debug.nodepod import SELECTOR, NodePodBackend
from host.debug.podsecurity import rejection
from host.errors import DebugError, Forbidden
from host.kube.client import KubeClient
from host.model.events import Event, Target
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from tests.clusters import RealCluster

pytestmark = [pytest.mark.timeout(240), pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)]

HOME = "wfhost-system"
BASELINE = "baseline"
HOT = "def burn_cpu():\n    total = 0\n    for i in range(20000):\n        total += i * i\n    return total\n"
APP = ["python", "-c", f"{HOT}while True:\n    burn_cpu()\n"]


def _config(mechanism: str) -> DebugConfig:
    return DebugConfig(image="wfhost-debug:test", container_start_timeout_seconds=30, mechanism=mechanism,  # type: ignore[arg-type]
                       node_pod=NodePodConfig(namespace=HOME))


async def _target(cluster: RealCluster, kube: KubeClient, namespace: str, name: str,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    cluster.ensure_namespace(HOME, {"pod-security.kubernetes.io/enforce": "privileged"})
    cluster.ensure_namespace(namespace, labels)
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "python:3.11", "command": APP}]}}
    await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, namespace, body)
    for _ in range(400):
        pod = await kube.get_pod(namespace, name)
        if "running" in ((pod.get("status", {}).get("containerStatuses") or [{}])[0].get("state") or {}):
            return pod
        await asyncio.sleep(0.05)
    raise AssertionError(f"{namespace}/{name} did not start")


async def _node_pods(kube: KubeClient) -> list[dict[str, Any]]:
    return await kube.list_pods(HOME, label_selector=SELECTOR)


async def _no_node_pods_left(kube: KubeClient) -> None:
    deadline = time.monotonic() + 15
    while await _node_pods(kube):
        assert time.monotonic() < deadline, [p["metadata"]["name"] for p in await _node_pods(kube)]
        await asyncio.sleep(0.1)


async def _watching(kube: KubeClient, action: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the action, noting every node pod seen meanwhile."""
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        while True:
            seen.extend(await _node_pods(kube))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        result: dict[str, Any] = await action
    finally:
        watcher.cancel()
    return result, seen


async def test_the_pod_security_recogniser_reads_the_real_servers_403(cluster: RealCluster, kube: KubeClient) -> None:
    await _target(cluster, kube, BASELINE, "probe", {"pod-security.kubernetes.io/enforce": "baseline"})
    container = {"name": "dbg", "image": "wfhost-debug:test", "targetContainerName": "app",
                 "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}
    with pytest.raises(Forbidden) as refused:
        await kube.patch_pod_ephemeral_containers(BASELINE, "probe", [container])
    found = rejection(refused.value)
    assert found is not None, str(refused.value)
    assert (found.level, found.version) == ("baseline", "latest")
    assert "SYS_PTRACE" in found.message
    # Another 403 is not a Pod Security rejection: no fallback for RBAC.
    assert rejection(Forbidden('pods "x" is forbidden: User "u" cannot patch resource', status=403)) is None


async def test_auto_falls_back_to_a_node_pod_and_the_python_profile_names_the_hot_function(
    cluster: RealCluster, kube: KubeClient
) -> None:
    await _target(cluster, kube, BASELINE, "guarded", {"pod-security.kubernetes.io/enforce": "baseline"})
    debugger = Debugger(kube, _config("auto"))
    listing = await debugger.run(BASELINE, "guarded", None, ["ps"])
    pythons = [p for p in listing["processes"] if p["python"]]
    assert len(pythons) == 1, listing  # the target container only, not the node's other processes
    assert pythons[0]["pid"] == cluster.container_pids(BASELINE, "guarded")["app"]  # the node's pid
    assert "Pod Security (baseline) in namespace baseline rejected the debug container" in listing["mechanism"]["note"]
    began = time.monotonic()
    profile = await debugger.run(BASELINE, "guarded", None,
                                 ["profile", "--pid", str(pythons[0]["pid"]), "--duration", "2"])
    took = time.monotonic() - began
    assert profile["mechanism"]["name"] == "nodePod"
    assert profile["mechanism"]["fellBackFrom"] == "ephemeralContainer"
    assert profile["topFunctions"][0]["function"] == "burn_cpu", profile["topFunctions"][:3]
    (svg,) = [a for a in profile["artifacts"] if a["mediaType"] == "image/svg+xml"]
    assert svg["data"]
    assert debugger.fallbacks == 2 and debugger.node_pods.pods_created == 2
    assert debugger.ephemeral_refusals == 1  # the second action knew the namespace refuses it
    pod = await kube.get_pod(BASELINE, "guarded")
    assert not pod["spec"].get("ephemeralContainers")  # nothing was added to the target
    await _no_node_pods_left(kube)
    print(f"node-pod profile of 2 s took {took:.1f} s")


async def test_the_node_pod_runs_with_host_pid_no_token_and_only_the_capability_the_action_needs(
    cluster: RealCluster, kube: KubeClient
) -> None:
    pod = await _target(cluster, kube, "open", "plain")
    backend = NodePodBackend(kube, _config("nodePod"))
    pid = cluster.container_pids("open", "plain")["app"]
    _, seen = await _watching(kube, backend.run("open", "plain", "app", ["stacktrace", "--pid", str(pid)]))
    assert seen, "the node pod was never seen"
    spec = seen[0]["spec"]
    assert spec["hostPID"] is True and spec["automountServiceAccountToken"] is False
    assert spec["nodeName"] == pod["spec"]["nodeName"]
    assert spec["activeDeadlineSeconds"] > 0
    assert spec["containers"][0]["securityContext"]["capabilities"] == {"add": ["SYS_PTRACE"], "drop": ["ALL"]}
    assert seen[0]["metadata"]["labels"]["wfhost.io/debug-target-uid"] == pod["metadata"]["uid"]
    # A Python process outside the target container (this test's) is refused, though the node pod
    # shares the node's PID namespace and sees it.
    with pytest.raises(DebugError) as outside:
        await backend.run("open", "plain", "app", ["stacktrace", "--pid", str(os.getpid())])
    assert outside.value.code == "out_of_scope", outside.value
    await _no_node_pods_left(kube)


async def test_without_host_pid_the_agent_cannot_see_the_target_as_on_a_real_node(
    cluster: RealCluster, kube: KubeClient
) -> None:
    target = await _target(cluster, kube, "open", "seen")
    status = target["status"]["containerStatuses"][0]
    for host_pid in (False, True):
        name = f"agent-{str(host_pid).lower()}"
        body = {"metadata": {"name": name}, "spec": {
            "hostPID": host_pid, "nodeName": target["spec"]["nodeName"],
            "containers": [{"name": "agent", "image": "wfhost-debug:test", "command": ["wfhost-agent", "wait"]}]}}
        await kube.create_pod(HOME, body)
        for _ in range(200):
            pod = await kube.get_pod(HOME, name)
            if "running" in ((pod.get("status", {}).get("containerStatuses") or [{}])[0].get("state") or {}):
                break
            await asyncio.sleep(0.05)
        res = await kube.exec(HOME, name, "agent", ["wfhost-agent", "ps", "--pod-uid", target["metadata"]["uid"],
                                                    "--container-id", status["containerID"]], timeout=60)
        reply = json.loads(res.stdout)
        if host_pid:
            assert reply["ok"] and [p["pid"] for p in reply["result"]["processes"]] == [
                cluster.container_pids("open", "seen")["app"]], reply
        else:  # its own PID namespace holds none of the target's processes
            assert not reply["ok"] and reply["error"]["code"] == "no_such_process", reply


async def test_actions_on_the_pods_loopback_get_sys_admin_for_setns_and_the_debugger_is_refused(
    cluster: RealCluster, kube: KubeClient
) -> None:
    await _target(cluster, kube, "open", "net")
    backend = NodePodBackend(kube, _config("nodePod"))
    result, seen = await _watching(kube, backend.run("open", "net", None, ["network", "--resolve=localhost"]))
    assert seen and all(
        p["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] == ["SYS_PTRACE", "SYS_ADMIN"] for p in seen
    )
    assert result["dns"][0]["name"] == "localhost", result
    assert result["pid"] == cluster.container_pids("open", "net")["app"]  # the target's namespace, not the node pod's
    with pytest.raises(DebugError) as refused:
        await backend.run("open", "net", None, ["debugger", "--pid", "1", "--port", "5678"])
    assert refused.value.code == "unsupported_mechanism"
    assert backend.pods_created == 1
    await _no_node_pods_left(kube)


async def test_with_ephemeral_container_the_error_names_the_pod_security_rejection(
    cluster: RealCluster, kube: KubeClient
) -> None:
    await _target(cluster, kube, BASELINE, "strict", {"pod-security.kubernetes.io/enforce": "baseline"})
    debugger = Debugger(kube, _config("ephemeralContainer"))
    with pytest.raises(DebugError) as info:
        await debugger.run(BASELINE, "strict", None, ["ps"])
    assert info.value.code == "pod_security"
    assert 'violates PodSecurity "baseline:latest"' in str(info.value)
    assert "debug.mechanism" in str(info.value)
    assert debugger.fallbacks == 0 and debugger.node_pods.pods_created == 0
    assert not await _node_pods(kube)


async def test_a_cancelled_action_still_removes_its_node_pod(cluster: RealCluster, kube: KubeClient) -> None:
    await _target(cluster, kube, "open", "cancelled")
    backend = NodePodBackend(kube, _config("nodePod"))
    pid = cluster.container_pids("open", "cancelled")["app"]
    action = asyncio.create_task(backend.run("open", "cancelled", None, ["profile", "--pid", str(pid), "--duration", "30"]))
    deadline = time.monotonic() + 30
    while not [p for p in await _node_pods(kube) if p.get("status", {}).get("phase") == "Running"]:
        assert time.monotonic() < deadline and not action.done(), "the node pod never ran"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # the exec is under way
    action.cancel()
    with pytest.raises(asyncio.CancelledError):
        await action
    await _no_node_pods_left(kube)


async def test_a_leftover_node_pod_is_collected_at_the_first_action(cluster: RealCluster, kube: KubeClient) -> None:
    pod = await _target(cluster, kube, "open", "left")
    backend = NodePodBackend(kube, _config("nodePod"))
    stale = backend.spec(pod, "app", "ps", timeout=1)
    stale["spec"]["containers"][0]["command"] = ["false"]  # a host that died left it; it has ended
    await kube.create_pod(HOME, stale)
    for _ in range(200):
        if (await kube.get_pod(HOME, stale["metadata"]["name"])).get("status", {}).get("phase") == "Failed":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the stale pod did not end")
    await backend.run("open", "left", None, ["ps"])
    await _no_node_pods_left(kube)  # the stale one too, not only the action's own


# --- the built-in python-profiler through the whole host ---------------------------------------


async def _profile_with_host(tmp_path: Path, cluster: RealCluster, mechanism: str) -> InvocationResult:
    config = parse_config({
        "sandbox": {"stateDir": str(tmp_path / "state"), "invocationTimeoutSeconds": 90},
        "cluster": {"kubeconfig": str(cluster.kubeconfig_path), "namespaces": [BASELINE]},
        "api": {"enabled": False},
        "sinks": {"files": {"enabled": True, "directory": str(tmp_path / "findings")}, "log": {"enabled": False}},
        "debug": {"image": "wfhost-debug:test", "mechanism": mechanism, "nodePod": {"namespace": HOME},
                  "containerStartTimeoutSeconds": 30},
    })
    host = Host(config)
    await host.start(watch=False)
    try:
        event = Event(kind="manual", target=Target(namespace=BASELINE, pod="guarded", container="app"))
        _, done = host.dispatcher.trigger("python-profiler", event, {"duration": 2}, wait=True)
        assert done is not None
        return await asyncio.wait_for(done, 120)
    finally:
        await host.stop()


async def test_the_python_profiler_workflow_falls_back_with_auto_and_its_finding_says_so(
    cluster: RealCluster, kube: KubeClient, tmp_path: Path
) -> None:
    await _target(cluster, kube, BASELINE, "guarded", {"pod-security.kubernetes.io/enforce": "baseline"})
    result = await _profile_with_host(tmp_path, cluster, "auto")
    assert result.outcome == "ok", result.error
    (finding,) = result.findings
    assert "burn_cpu" in finding.title, finding.title
    svg = [a for a in finding.attachments if a.media_type == "image/svg+xml"]
    assert svg and b"burn_cpu" in svg[0].data  # the flamegraph names the hot function
    assert "Pod Security (baseline) in namespace baseline rejected the debug container; the agent ran " \
        f"from a node pod in namespace {HOME}" in finding.body
    await _no_node_pods_left(kube)


async def test_the_python_profiler_workflow_names_the_pod_security_rejection_with_ephemeral_containers(
    cluster: RealCluster, kube: KubeClient, tmp_path: Path
) -> None:
    await _target(cluster, kube, BASELINE, "guarded", {"pod-security.kubernetes.io/enforce": "baseline"})
    result = await _profile_with_host(tmp_path, cluster, "ephemeralContainer")
    assert result.outcome == "ok", result.error
    (finding,) = result.findings
    assert finding.title == "Cannot profile baseline/guarded: Pod Security rejected the debug container"
    assert finding.severity == "medium"
    assert 'violates PodSecurity "baseline:latest"' in finding.body
    assert "SYS_PTRACE" in finding.body and "debug.mechanism: auto" in finding.body
    assert not finding.attachments
    assert not await _node_pods(kube)
