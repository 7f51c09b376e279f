"""`WarningEventSource` against the local cluster: baseline, once per uid + count, pod attached."""

from __future__ import annotations

import asyncio
from typing import Any

from host.config import Backoff, ClusterConfig
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event
from host.sources.k8s_events import WarningEventSource, WarningTracker
from host.sources.pods import PodSource
from tests.kube.support import eventually, pod_manifest

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=Backoff(initial_seconds=0.05, max_seconds=1))


def k8s_event(
    name: str, *, kind: str = "Warning", count: int = 1, pod: str = "web-1", reason: str = "BackOff"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "type": kind,
        "reason": reason,
        "message": f"{reason} on {pod}",
        "count": count,
        "firstTimestamp": "2024-05-01T10:00:00Z",
        "lastTimestamp": "2024-05-01T10:00:00Z",
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": pod},
    }


async def test_new_warnings_are_reported_once_per_occurrence(cluster: LocalCluster, kube: KubeClient) -> None:
    api = cluster.core_v1()
    api.create_namespaced_pod("default", pod_manifest("web-1"))
    api.create_namespaced_event("default", k8s_event("old-warning"))
    pods = PodSource(kube, FAST)
    warnings = WarningEventSource(kube, FAST, pods=pods.tracker)
    seen: list[Event] = []

    async def ignore(event: Event) -> None:
        return None

    async def record(event: Event) -> None:
        seen.append(event)

    tasks = [asyncio.create_task(pods.run(ignore)), asyncio.create_task(warnings.run(record))]
    try:
        await eventually(lambda: cluster.open_watches() == 2, what="both watches")
        api.create_namespaced_event("default", k8s_event("normal", kind="Normal"))
        api.create_namespaced_event("default", k8s_event("crash", count=1))
        await eventually(lambda: len(seen) == 1, what="the first warning")
        api.patch_namespaced_event("crash", "default", {"message": "same occurrence, new text"})
        api.patch_namespaced_event("crash", "default", {"count": 2})
        await eventually(lambda: len(seen) == 2, what="the repeated warning")
        api.create_namespaced_event("default", k8s_event("marker", reason="Marker"))
        await eventually(lambda: len(seen) == 3, what="the marker")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    assert [(e.k8s_event or {}).get("name") for e in seen] == ["crash", "crash", "marker"]
    assert [(e.k8s_event or {}).get("count") for e in seen] == [1, 2, 1]
    first = seen[0]
    assert first.kind == "k8s.warningEvent"
    assert first.subject is not None
    assert (first.subject.kind, first.subject.namespace, first.subject.name) == ("Pod", "default", "web-1")
    assert first.pod is not None
    assert first.pod["name"] == "web-1"
    assert first.reason == "BackOff"
    assert warnings.counts == {"k8s.warningEvent": 3}


def test_a_relist_reports_only_occurrences_not_seen_before() -> None:
    tracker = WarningTracker()
    seen = {"metadata": {"uid": "1", "namespace": "a"}, "type": "Warning", "count": 3}
    bumped = {**seen, "count": 4}
    fresh = {"metadata": {"uid": "2", "namespace": "a"}, "type": "Warning", "count": 1}
    normal = {"metadata": {"uid": "3", "namespace": "a"}, "type": "Normal", "count": 1}

    assert tracker.relist([seen, normal], namespace=None, baseline=True) == []
    assert tracker.relist([seen, fresh, normal], namespace=None, baseline=False) == [fresh]
    assert tracker.relist([bumped, fresh], namespace=None, baseline=False) == [bumped]
    assert tracker.apply("MODIFIED", bumped) is False
    assert tracker.apply("DELETED", bumped) is False
    assert tracker.apply("ADDED", bumped) is True


def test_the_warning_reaches_workflows_under_the_key_the_sdk_reads() -> None:
    # `to_camel("k8s_event")` is `k8SEvent`: the SDK, its types and docs/protocol.md say `k8sEvent`.
    wire = Event(kind="k8s.warningEvent", k8s_event={"reason": "BackOff"}).wire()
    assert wire["k8sEvent"] == {"reason": "BackOff"} and "k8SEvent" not in wire
