"""The semantic events end to end through `SourceManager` on the stand-in: each fires once when the
object enters the state (status written as a controller, the kubelet or the scheduler would)."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace
from typing import Any

import kubernetes

from host.config import Backoff, ClusterConfig, HostConfig
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event
from host.sources.demand import SourceManager, wants_of
from host.sources.hooks import semantic_hooks
from tests.kube.support import eventually, pod_manifest

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=Backoff(initial_seconds=0.05, max_seconds=1))
NOW = "2026-12-03T10:00:00Z"
KINDS = ["job.failed", "node.notReady", "node.pressure", "deployment.rolloutStuck", "pod.pending",
         "pod.containerConfigError", "pod.probeFailing"]


def cond(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": NOW}


async def test_each_semantic_event_fires_once_per_episode(cluster: LocalCluster, kube: KubeClient) -> None:
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    core = cluster.core_v1()
    api = cluster.api_client()
    apps, batch = kubernetes.client.AppsV1Api(api), kubernetes.client.BatchV1Api(api)
    core.create_node({"metadata": {"name": "n1"}})
    core.patch_node_status("n1", {"status": {"conditions": [
        cond("Ready", "True", "KubeletReady"), cond("MemoryPressure", "False", "KubeletHasSufficientMemory")]}})
    config = HostConfig.model_validate({"triggers": {"podPendingSeconds": 0}})
    manager = SourceManager(kube, FAST, record, **semantic_hooks(config))
    manager.want(wants_of(SimpleNamespace(on=kind, resource=None) for kind in KINDS))
    task = asyncio.create_task(manager.run())
    try:
        await eventually(lambda: cluster.open_watches() == 5, what="pods, events, jobs, nodes, deployments")
        await asyncio.sleep(0.5)  # past every baseline
        # Node: memory pressure, then not ready; each written twice (kubelet heartbeats).
        for _ in range(2):
            core.patch_node_status("n1", {"status": {"conditions": [
                cond("Ready", "True", "KubeletReady"),
                cond("MemoryPressure", "True", "KubeletHasInsufficientMemory", "memory available < 100Mi")]}})
        core.patch_node_status("n1", {"status": {"conditions": [
            cond("Ready", "False", "KubeletNotReady", "PLEG is not healthy"),
            cond("MemoryPressure", "True", "KubeletHasInsufficientMemory")]}})
        # Job: failed by its controller.
        batch.create_namespaced_job("default", {"metadata": {"name": "migrate"}, "spec": {
            "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "job", "image": "python:3.11"}]}}}})
        failed = cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        for _ in range(2):
            batch.patch_namespaced_job_status("migrate", "default", {"status": {
                "startTime": NOW, "failed": 1, "conditions": [{**failed, "type": "FailureTarget"}, failed]}})
        # Deployment: rollout past its deadline.
        labels = {"app": "web"}
        apps.create_namespaced_deployment("default", {"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "app", "image": "web:broken"}]}}}})
        apps.patch_namespaced_deployment_status("web", "default", {"status": {"observedGeneration": 1, "conditions": [
            cond("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "web-1" has timed out progressing.')]}})
        # Pods: one unschedulable, one whose container cannot start, one failing its probe.
        for name in ("greedy", "configless", "sick"):
            core.create_namespaced_pod("default", pod_manifest(name))
        core.patch_namespaced_pod_status("greedy", "default", {"status": {"conditions": [
            cond("PodScheduled", "False", "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu.")]}})
        waiting = {"waiting": {"reason": "CreateContainerConfigError",
                               "message": 'configmap "app-config" not found'}}
        for _ in range(2):
            core.patch_namespaced_pod_status("configless", "default", {"status": {"containerStatuses": [{
                "name": "app", "ready": False, "restartCount": 0, "image": "python:3.11", "imageID": "",
                "state": waiting}]}})
        sick = core.read_namespaced_pod("sick", "default")
        for i in range(2):
            core.create_namespaced_event("default", {
                "metadata": {"name": f"sick.probe{i}"}, "type": "Warning", "reason": "Unhealthy",
                "message": "Liveness probe failed: HTTP probe failed with statuscode: 500",
                "count": 1, "firstTimestamp": NOW, "lastTimestamp": NOW,
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "sick", "uid": sick.metadata.uid,
                                   "fieldPath": "spec.containers{app}"}})
        await eventually(lambda: len({e.kind for e in seen}) == len(KINDS), timeout=30,
                         what=f"every semantic kind (seen {sorted({e.kind for e in seen})})")
        await asyncio.sleep(1.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    counts = Counter((e.kind, e.subject.name if e.subject else None) for e in seen)
    assert counts == {
        ("node.pressure", "n1"): 1, ("node.notReady", "n1"): 1, ("job.failed", "migrate"): 1,
        ("deployment.rolloutStuck", "web"): 1, ("pod.pending", "greedy"): 1,
        ("pod.containerConfigError", "configless"): 1, ("pod.probeFailing", "sick"): 1,
    }, counts
    by_kind = {e.kind: e for e in seen}
    assert by_kind["node.pressure"].reason == "MemoryPressure"
    assert by_kind["node.notReady"].reason == "KubeletNotReady"
    assert by_kind["node.notReady"].subject is not None and by_kind["node.notReady"].subject.namespace is None
    assert by_kind["job.failed"].reason == "BackoffLimitExceeded" and by_kind["job.failed"].resource == "batch/v1/Job"
    assert by_kind["job.failed"].object is not None and by_kind["job.failed"].object["spec"]["backoffLimit"] == 0
    assert by_kind["pod.pending"].message == "0/1 nodes are available: 1 Insufficient cpu."
    config_error = by_kind["pod.containerConfigError"]
    assert (config_error.container, config_error.reason) == ("app", "CreateContainerConfigError")
    assert config_error.message is not None and "app-config" in config_error.message
    probe = by_kind["pod.probeFailing"]
    assert probe.container == "app" and probe.pod is not None and probe.pod["name"] == "sick"
    assert getattr(probe, "probe", None) == "liveness"
