"""`PodSource` end to end against the local cluster: baseline, scopes, and a burst that survives a
dropped stream and two forced `410 Gone` re-lists without losing or repeating an event."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from host.config import Backoff, ClusterConfig
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from host.model.events import Event
from host.sources.pods import PodSource
from tests.kube.support import ensure_namespace, eventually, pod_manifest

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=Backoff(initial_seconds=0.05, max_seconds=1))

RUNNING = {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
SHORT_CRASH = {
    "terminated": {
        "exitCode": 1,
        "reason": "Error",
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": "2024-05-01T10:00:02Z",
    }
}


def app_status(
    state: dict[str, Any], *, restarts: int = 0, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": "running" in state,
                    "restartCount": restarts,
                    "image": "registry.local/app:1",
                    "imageID": "",
                    "state": state,
                    "lastState": last or {},
                }
            ],
        }
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.subject.name if e.subject else "") for e in self.events]


@pytest.fixture
async def running_source(cluster: LocalCluster, kube: KubeClient) -> AsyncIterator[Any]:
    tasks: list[asyncio.Task[None]] = []

    def start(config: ClusterConfig = FAST) -> tuple[PodSource, Recorder]:
        source = PodSource(kube, config)
        recorder = Recorder()
        tasks.append(asyncio.create_task(source.run(recorder)))
        return source, recorder

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_pods_present_at_start_are_a_silent_baseline(
    cluster: LocalCluster, running_source: Any
) -> None:
    api = cluster.core_v1()
    api.create_namespaced_pod("default", pod_manifest("old"))
    api.patch_namespaced_pod_status(
        "old",
        "default",
        app_status({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=2, last=SHORT_CRASH),
    )
    source, recorder = running_source()
    await eventually(lambda: len(source.tracker) == 1, what="the baseline")

    api.create_namespaced_pod("default", pod_manifest("new"))
    api.patch_namespaced_pod_status(
        "new",
        "default",
        app_status({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=1, last=SHORT_CRASH),
    )
    await eventually(lambda: ("pod.crashLoop", "new") in recorder.kinds(), what="the crash loop")

    assert recorder.kinds() == [("pod.create", "new"), ("pod.update", "new"), ("pod.crashLoop", "new")]
    crash = recorder.events[-1]
    assert crash.container == "app"
    assert crash.restart_count == 1
    assert crash.pod is not None
    assert crash.pod["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "CrashLoopBackOff", "message": None}
    }
    assert crash.subject is not None
    assert (crash.subject.namespace, crash.subject.uid) == ("default", crash.pod["uid"])
    assert source.counts == {"pod.create": 1, "pod.update": 1, "pod.crashLoop": 1}


async def test_configured_namespaces_are_watched_one_by_one_and_others_ignored(
    cluster: LocalCluster, running_source: Any
) -> None:
    api = cluster.core_v1()
    for ns in ("team-a", "team-b", "team-c"):
        ensure_namespace(api, ns)
    source, recorder = running_source(FAST.model_copy(update={"namespaces": ["team-a", "team-b"]}))
    await eventually(lambda: cluster.open_watches() == 2, what="two watches")

    for ns in ("team-c", "team-a", "team-b"):
        api.create_namespaced_pod(ns, pod_manifest(f"p-{ns}"))

    await eventually(lambda: len(recorder.events) == 2, what="the creates")
    assert sorted(e.namespace or "" for e in recorder.events) == ["team-a", "team-b"]
    assert set(source.watchers) == {"team-a", "team-b"}


PODS = 100
TRANSITIONS = 5  # create, Running, CrashLoopBackOff, relabel, delete


def transition(api: Any, step: int, index: int) -> None:
    name = f"burst-{index:03d}"
    if step == 0:
        api.create_namespaced_pod("default", pod_manifest(name, labels={"step": "0"}))
    elif step == 1:
        api.patch_namespaced_pod_status(name, "default", app_status(RUNNING))
    elif step == 2:
        api.patch_namespaced_pod_status(
            name,
            "default",
            app_status({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=1, last=SHORT_CRASH),
        )
    elif step == 3:
        api.patch_namespaced_pod(name, "default", {"metadata": {"labels": {"step": "3"}}})
    else:
        api.delete_namespaced_pod(name, "default")


# Step-major order: every pod is at some stage of its life when the stream is disturbed.
SCHEDULE = [(step, index) for step in range(TRANSITIONS) for index in range(PODS)]


async def write(api: Any, start: int, stop: int) -> None:
    def run() -> None:
        for step, index in SCHEDULE[start:stop]:
            transition(api, step, index)

    await asyncio.to_thread(run)


async def force_gone(cluster: LocalCluster, source: PodSource, api: Any, start: int, stop: int) -> None:
    """Keep the watcher out (429 + Retry-After) while the cluster moves on and forgets its history.

    Returns once the watcher has re-listed: a pod that is created and deleted while nobody watches
    and the server keeps no history is invisible to any client, so gaps must not run together.
    """
    watcher = source.watchers[None]
    throttled, relists = watcher.stats.throttled, watcher.stats.relists_after_gone
    cluster.throttle_next(1, retry_after=2)
    cluster.drop_watches()
    await eventually(lambda: watcher.stats.throttled == throttled + 1, what="the re-watch to be throttled")
    await write(api, start, stop)
    cluster.compact()
    await eventually(lambda: watcher.stats.relists_after_gone == relists + 1, what="the re-list")


async def test_a_burst_with_a_dropped_stream_and_410s_loses_and_repeats_nothing(
    cluster: LocalCluster, running_source: Any
) -> None:
    api = cluster.core_v1()
    source, recorder = running_source()
    await eventually(lambda: cluster.open_watches() == 1, what="the watch")

    await write(api, 0, 150)
    cluster.drop_watches()
    await write(api, 150, 250)
    await force_gone(cluster, source, api, 250, 350)  # CrashLoopBackOff for half, relabel for the rest
    await write(api, 350, 420)
    await force_gone(cluster, source, api, 420, 470)  # deletes while nobody watches
    await write(api, 470, 500)

    expected = PODS * 6  # create, 3 updates, crashLoop, delete
    await eventually(lambda: len(recorder.events) >= expected, timeout=60, what=f"{expected} events")
    await eventually(
        lambda: source.watchers[None].resource_version == str(cluster.resource_version()), what="catching up"
    )

    per_pod: dict[str, Counter[str]] = {}
    for event in recorder.events:
        assert event.subject is not None
        per_pod.setdefault(event.subject.name, Counter())[event.kind] += 1
    wanted = Counter({"pod.create": 1, "pod.update": 3, "pod.crashLoop": 1, "pod.delete": 1})
    wrong = {name: dict(counts) for name, counts in per_pod.items() if counts != wanted}
    assert wrong == {}
    assert len(per_pod) == PODS
    assert len(recorder.events) == expected
    watcher = source.watchers[None]
    assert watcher.stats.relists_after_gone == 2
    assert watcher.stats.drops >= 3
    assert len(source.tracker) == 0


async def test_an_error_from_emit_ends_the_source_with_that_error(cluster: LocalCluster, kube: KubeClient) -> None:
    source = PodSource(kube, FAST.model_copy(update={"namespaces": ["default", "kube-system"]}))

    async def broken(event: Event) -> None:
        raise ValueError(f"cannot take {event.kind}")

    task = asyncio.create_task(source.run(broken))
    await eventually(lambda: cluster.open_watches() == 2, what="both watches")
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("p"))

    with pytest.raises(ValueError, match=r"cannot take pod\.create"):
        await asyncio.wait_for(task, timeout=20)
    await eventually(lambda: cluster.open_watches() == 0, what="the other scope to stop too")
