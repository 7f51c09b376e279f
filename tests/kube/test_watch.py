"""The watch loop in tiers, over real HTTP: relist on 410, resume after drops, bookmarks, throttling."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from contextlib import aclosing
from typing import Any

import kubernetes.client
import pytest
import structlog.testing

from host.backoff import Backoff
from host.config import Backoff as BackoffSettings
from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.kube.watch import RELISTED, Watcher
from host.localcluster import LocalCluster
from host.model.resources import PODS
from tests.kube.fake_api import Answer, FakeApi, pod, status
from tests.kube.support import eventually, pod_manifest

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=BackoffSettings(initial_seconds=0.05, max_seconds=1))


class Collector:
    """Consumes a watcher in a background task, keeping every (type, obj) it yields."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with aclosing(self.watcher.events()) as events:
            async for pair in events:
                self.items.append(pair)

    def listings(self) -> list[list[str]]:
        return [sorted(_name(item) for item in obj["items"]) for kind, obj in self.items if kind == RELISTED]

    def changes(self) -> list[tuple[str, str]]:
        return [(kind, _name(obj)) for kind, obj in self.items if kind != RELISTED]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


@pytest.fixture
async def collectors() -> Any:
    started: list[Collector] = []

    def start(watcher: Watcher) -> Collector:
        collector = Collector(watcher)
        started.append(collector)
        return collector

    yield start
    for collector in started:
        await collector.stop()


async def test_first_yield_is_the_complete_list_then_changes(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    api = cluster.core_v1()
    for name in ("a", "b", "c", "d", "e"):
        api.create_namespaced_pod("default", pod_manifest(name))
    watcher = Watcher(kube, PODS, config=FAST, page_size=2)
    collector = collectors(watcher)

    await eventually(lambda: collector.listings() == [["a", "b", "c", "d", "e"]], what="the paginated list")
    api.create_namespaced_pod("default", pod_manifest("f"))
    api.delete_namespaced_pod("a", "default")

    await eventually(lambda: collector.changes() == [("ADDED", "f"), ("DELETED", "a")], what="the changes")
    assert watcher.resource_version == str(cluster.resource_version())


async def test_resumes_after_a_dropped_stream_without_relisting(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    api = cluster.core_v1()
    api.create_namespaced_pod("default", pod_manifest("before"))
    watcher = Watcher(kube, PODS, config=FAST)
    collector = collectors(watcher)
    await eventually(lambda: cluster.open_watches() == 1, what="the watch to open")

    assert cluster.drop_watches() == 1
    api.create_namespaced_pod("default", pod_manifest("during"))
    cluster.drop_watches()
    api.create_namespaced_pod("default", pod_manifest("after"))

    await eventually(lambda: ("ADDED", "after") in collector.changes(), what="the event after the drops")
    assert collector.changes() == [("ADDED", "during"), ("ADDED", "after")]
    assert collector.listings() == [["before"]]
    assert watcher.stats.lists == 1
    assert watcher.stats.drops >= 1


async def test_relists_quietly_after_410_gone(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    api = cluster.core_v1()
    api.create_namespaced_pod("default", pod_manifest("old"))
    with structlog.testing.capture_logs() as logs:
        watcher = Watcher(kube, PODS, config=FAST)
        collector = collectors(watcher)
        await eventually(lambda: cluster.open_watches() == 1, what="the watch to open")
        # Hold the watcher off (429, Retry-After 1 s) while the cluster moves on and forgets history.
        cluster.throttle_next(1, retry_after=1)
        cluster.drop_watches()
        await eventually(lambda: watcher.stats.throttled == 1, what="the re-watch to be throttled")
        api.create_namespaced_pod("default", pod_manifest("new"))
        api.delete_namespaced_pod("old", "default")
        cluster.compact()

        await eventually(lambda: len(collector.listings()) == 2, what="the re-list")
        api.create_namespaced_pod("default", pod_manifest("later"))
        await eventually(lambda: ("ADDED", "later") in collector.changes(), what="watching after the re-list")

    assert collector.listings() == [["old"], ["new"]]
    assert collector.changes() == [("ADDED", "later")]
    assert watcher.stats.relists_after_gone == 1
    assert [entry for entry in logs if entry["log_level"] in ("warning", "error", "critical")] == []


async def test_carries_the_bookmark_version_forward(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    api = cluster.core_v1()
    watcher = Watcher(kube, PODS, config=FAST)
    collector = collectors(watcher)
    await eventually(lambda: cluster.open_watches() == 1, what="the watch to open")
    for i in range(3):  # other resources move the cluster's version; the pod watch sees nothing
        api.create_namespace({"metadata": {"name": f"ns-{i}"}})
    assert watcher.resource_version != str(cluster.resource_version())

    assert cluster.send_bookmarks() == 1
    await eventually(lambda: watcher.resource_version == str(cluster.resource_version()), what="the bookmark")
    # The bookmark's version is still within history after compaction: resuming needs no re-list.
    cluster.compact()
    cluster.drop_watches()
    api.create_namespaced_pod("default", pod_manifest("p"))

    await eventually(lambda: collector.changes() == [("ADDED", "p")], what="the event after resuming")
    assert watcher.stats.bookmarks == 1
    assert watcher.stats.lists == 1
    assert watcher.stats.relists_after_gone == 0


async def test_honours_retry_after_when_throttled(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    api = cluster.core_v1()
    watcher = Watcher(kube, PODS, config=FAST)  # its own backoff would retry after ~0.05 s
    collector = collectors(watcher)
    await eventually(lambda: cluster.open_watches() == 1, what="the watch to open")

    cluster.throttle_next(1, retry_after=1)
    throttled_at = time.monotonic()
    cluster.drop_watches()
    await eventually(lambda: watcher.stats.throttled == 1, what="the 429")
    api.create_namespaced_pod("default", pod_manifest("p"))
    await eventually(lambda: collector.changes() == [("ADDED", "p")], what="the event after the wait")

    assert time.monotonic() - throttled_at >= 0.9
    assert watcher.stats.lists == 1


async def test_throttled_first_list_is_retried_after_the_wait(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("p"))
    cluster.throttle_next(2, retry_after=1)
    started = time.monotonic()
    collector = collectors(Watcher(kube, PODS, config=FAST))

    await eventually(lambda: collector.listings() == [["p"]], what="the list")

    assert time.monotonic() - started >= 1.8


async def test_cancelling_the_consumer_stops_the_stream_promptly(
    cluster: LocalCluster, kube: KubeClient, collectors: Any
) -> None:
    collector = collectors(Watcher(kube, PODS, config=FAST))
    await eventually(lambda: cluster.open_watches() == 1, what="the watch to open")

    started = time.monotonic()
    await collector.stop()

    assert time.monotonic() - started < 1.0
    await eventually(lambda: cluster.open_watches() == 0, what="the server to see the stream closed")
    await eventually(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("watch-")],
        what="the reader thread",
    )


# -- answers only a scripted server gives ------------------------------------------------------


def _fake_client(api: FakeApi) -> KubeClient:
    configuration = kubernetes.client.Configuration(host=api.url)
    return KubeClient(kubernetes.client.ApiClient(configuration))


async def test_relists_after_an_http_410_answer_to_a_watch(collectors: Any) -> None:
    api = await FakeApi(
        [
            Answer(status=410, body=status(410, "Expired", "too old resource version: 10 (20)")),
            Answer(lines=[{"type": "ADDED", "object": pod("x", "11")}], hold=True),
        ]
    ).start()
    kube = _fake_client(api)
    try:
        watcher = Watcher(kube, PODS, config=FAST)
        collector = collectors(watcher)
        await eventually(lambda: collector.changes() == [("ADDED", "x")], what="the event after the re-list")
        assert len(collector.listings()) == 2
        assert watcher.stats.relists_after_gone == 1
        assert watcher.resource_version == "11"
    finally:
        await collector.stop()
        kube.close()
        await api.stop()


async def test_backs_off_exponentially_on_server_errors_and_resumes_from_its_version(collectors: Any) -> None:
    failure = Answer(status=500, body=status(500, "InternalError", "etcd is sad"))
    api = await FakeApi(
        [failure, failure, failure, Answer(lines=[{"type": "ADDED", "object": pod("x", "11")}], hold=True)]
    ).start()
    kube = _fake_client(api)
    try:
        watcher = Watcher(kube, PODS, config=FAST)
        collector = collectors(watcher)
        await eventually(lambda: collector.changes() == [("ADDED", "x")], what="the event after the errors")
    finally:
        await collector.stop()
        kube.close()
        await api.stop()

    times = [when for when, _ in api.watch_requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Equal jitter: the n-th wait is at least half of initial * 2**n.
    assert gaps[0] >= 0.025
    assert gaps[1] >= 0.05
    assert gaps[2] >= 0.1
    assert {version for _, version in api.watch_requests} == {"10"}
    assert api.list_requests == 1
    assert watcher.stats.errors == 3


def test_backoff_delays_grow_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(BackoffSettings(initial_seconds=0.5, max_seconds=4))

    delays = [backoff.next_delay() for _ in range(6)]
    backoff.reset()

    for delay, ceiling in zip(delays, [0.5, 1, 2, 4, 4, 4], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.next_delay() <= 0.5
