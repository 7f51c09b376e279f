"""`SourceManager`: only the kinds loaded workflows want are watched, one watch per kind, stopped
when no workflow wants it; generic change events carry the object, the previous one and the paths."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import kubernetes

from host.config import Backoff, ClusterConfig
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event
from host.sources.demand import ALL_EVENTS, SourceManager, Wants, wants_of
from tests.kube.support import eventually

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=Backoff(initial_seconds=0.05, max_seconds=1))


def trigger(on: str, resource: str | None = None) -> Any:
    return SimpleNamespace(on=on, resource=resource)


def test_triggers_name_the_feeds_they_need() -> None:
    wants = wants_of(
        [
            trigger("pod.crashLoop"),
            trigger("pod.pending"),
            trigger("pod.probeFailing"),
            trigger("job.failed"),
            trigger("k8s.update", "apps/v1/Deployment"),
            trigger("k8s.delete", "apps/v1/Deployment"),
            trigger("k8s.create", "example.com/v1/Widget"),
            trigger("manual"),
            trigger("schedule"),
        ]
    )
    assert wants.feeds() == {
        "v1/Pod",
        "v1/Event",
        "batch/v1/Job",
        "apps/v1/Deployment",
        "example.com/v1/Widget",
    }
    assert wants.wants("apps/v1/Deployment", "k8s.update") and wants.wants("apps/v1/Deployment", "k8s.delete")
    assert not wants.wants("apps/v1/Deployment", "k8s.create")
    assert not wants.wants("v1/Pod", "pod.create")  # the pod feed runs, but nobody wants creates
    assert wants.wants("v1/Pod", "pod.pending")
    assert wants_of([trigger("manual"), trigger("alert")]).feeds() == set()
    # Changes of core Events come from a feed of all Events, not the Warning feed.
    assert wants_of([trigger("k8s.create", "v1/Event")]).feeds() == {ALL_EVENTS}


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "app", "image": "python:3.11", "command": ["sleep", "600"]}]
                },
            },
        },
    }


async def test_watches_follow_what_is_wanted(cluster: LocalCluster, kube: KubeClient) -> None:
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    manager = SourceManager(kube, FAST, record)
    manager.want(Wants())
    task = asyncio.create_task(manager.run())
    try:
        await asyncio.sleep(0.5)
        assert cluster.open_watches() == 0  # nothing wanted: nothing watched
        manager.want(wants_of([trigger("pod.crashLoop")]))
        await eventually(lambda: cluster.open_watches() == 1, what="the pod watch")
        manager.want(wants_of([trigger("pod.crashLoop"), trigger("k8s.update", "apps/v1/Deployment")]))
        await eventually(lambda: cluster.open_watches() == 2, what="the deployment watch")
        # A second workflow wanting the same kind shares the watch.
        manager.want(
            wants_of(
                [
                    trigger("pod.crashLoop"),
                    trigger("k8s.update", "apps/v1/Deployment"),
                    trigger("k8s.delete", "apps/v1/Deployment"),
                ]
            )
        )
        await asyncio.sleep(0.5)
        assert cluster.open_watches() == 2
        await eventually(lambda: bool(manager.sources["apps/v1/Deployment"].watchers), what="the baseline")
        await asyncio.sleep(0.3)
        apps.create_namespaced_deployment("default", deployment("web"))
        await asyncio.sleep(0.5)
        assert seen == []  # creates are not wanted
        apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
        await eventually(lambda: len(seen) == 1, what="the k8s.update")
        [update] = seen
        assert update.kind == "k8s.update" and update.resource == "apps/v1/Deployment"
        assert update.changes is not None and "spec.replicas" in update.changes
        assert update.object is not None and update.object["spec"]["replicas"] == 3
        assert update.old_object is not None and update.old_object["spec"]["replicas"] == 1
        assert "managedFields" not in update.object["metadata"]
        assert update.subject is not None and (update.subject.kind, update.subject.namespace) == (
            "Deployment",
            "default",
        )
        apps.delete_namespaced_deployment("web", "default")
        await eventually(
            lambda: [e.kind for e in seen] == ["k8s.update", "k8s.delete"], what="the k8s.delete"
        )
        # No workflow wants Deployments any more: the watch is closed, the pod watch stays.
        manager.want(wants_of([trigger("pod.crashLoop")]))
        await eventually(lambda: cluster.open_watches() == 1, what="the deployment watch to close")
        assert set(manager.tasks) == {"v1/Pod"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await eventually(lambda: cluster.open_watches() == 0, what="every watch to close")
