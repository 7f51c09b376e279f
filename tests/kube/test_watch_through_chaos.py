"""The watch loop behind the chaos proxy (`host.localcluster.chaos`): what each injected fault does.

The proxy answers for the API server (500, 503 and 429 with Retry-After), cuts connections and
slows answers; the stand-in behind it is otherwise healthy. Each test checks one fault against
the watcher's counters and timing, so a watcher that ignored Retry-After, re-listed after a cut
or lost an event would fail here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from host.config import Backoff as BackoffSettings
from host.config import ClusterConfig
from host.errors import KubeError
from host.kube.client import KubeClient
from host.kube.watch import RELISTED, Watcher
from host.localcluster import LocalCluster, kubeconfig
from host.localcluster.chaos import ChaosProxy
from host.model.resources import PODS
from tests.kube.support import eventually, pod_manifest

FAST = ClusterConfig(watch_timeout_seconds=60, backoff=BackoffSettings(initial_seconds=0.05, max_seconds=1))


@pytest.fixture
def proxy(cluster: LocalCluster) -> Iterator[ChaosProxy]:
    with ChaosProxy(cluster.url) as chaos:
        yield chaos


@pytest.fixture
async def kube_via_proxy(proxy: ChaosProxy, tmp_path: Path) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_config(kubeconfig.write(tmp_path / "kubeconfig", proxy.url))
    yield client
    client.close()


@pytest.fixture
async def watching(
    kube_via_proxy: KubeClient, cluster: LocalCluster
) -> AsyncIterator[tuple[Watcher, list[str]]]:
    """A pod watcher through the proxy, consumed in the background: (watcher, names of changes)."""
    watcher = Watcher(kube_via_proxy, PODS, config=FAST)
    seen: list[str] = []

    async def consume() -> None:
        async with aclosing(watcher.events()) as events:
            async for kind, obj in events:
                if kind != RELISTED:
                    seen.append(f"{kind} {obj['metadata']['name']}")

    task = asyncio.create_task(consume())
    await eventually(lambda: cluster.open_watches() == 1, what="the watch through the proxy")
    yield watcher, seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_proxy_answers_injected_statuses_with_retry_after_then_forwards_again(
    kube_via_proxy: KubeClient, proxy: ChaosProxy
) -> None:
    proxy.fail_next(2, 503, retry_after=7)
    for _ in range(2):
        with pytest.raises(KubeError) as caught:
            await kube_via_proxy.list_pods("default")
        assert caught.value.status == 503
        assert caught.value.retry_after == 7.0
    assert await kube_via_proxy.list_pods("default") == []
    assert proxy.stats.injected == {503: 2}
    assert proxy.stats.forwarded == 1


async def test_a_503_with_retry_after_is_waited_out_not_retried_at_the_backoff(
    cluster: LocalCluster, proxy: ChaosProxy, watching: tuple[Watcher, list[str]]
) -> None:
    watcher, seen = watching
    proxy.fail_next(1, 503, retry_after=1)
    cut_at = time.monotonic()
    proxy.cut_connections()
    await eventually(lambda: watcher.stats.errors == 1, what="the 503")
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("after-503"))
    await eventually(lambda: seen == ["ADDED after-503"], what="the event after the wait")

    # Its own backoff would have retried after about 0.05 s: it waited the second it was told.
    assert time.monotonic() - cut_at >= 0.9
    assert proxy.stats.injected == {503: 1}
    assert watcher.stats.lists == 1


async def test_a_cut_stream_resumes_from_its_version_without_relisting_or_losing_events(
    cluster: LocalCluster, proxy: ChaosProxy, watching: tuple[Watcher, list[str]]
) -> None:
    watcher, seen = watching
    api = cluster.core_v1()
    proxy.cut_every = 0.3
    for i in range(30):
        api.create_namespaced_pod("default", pod_manifest(f"p{i:02d}"))
        await asyncio.sleep(0.05)
    await eventually(lambda: len(seen) >= 30, what="30 events")
    proxy.cut_every = None
    await asyncio.sleep(0.5)

    assert seen == [f"ADDED p{i:02d}" for i in range(30)]
    assert proxy.stats.cuts >= 3
    assert watcher.stats.drops >= 2
    assert watcher.stats.lists == 1
    assert watcher.stats.relists_after_gone == 0


async def test_a_burst_of_500s_is_backed_off_and_then_the_watch_resumes(
    cluster: LocalCluster, proxy: ChaosProxy, watching: tuple[Watcher, list[str]]
) -> None:
    watcher, seen = watching
    proxy.fail_next(4, 500)
    proxy.cut_connections()
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("after-500s"))
    await eventually(lambda: seen == ["ADDED after-500s"], what="the event after the burst")

    assert watcher.stats.errors == 4
    assert proxy.stats.injected == {500: 4}
    assert watcher.stats.lists == 1


async def test_slow_answers_slow_the_watch_down_but_lose_nothing(
    cluster: LocalCluster, proxy: ChaosProxy, watching: tuple[Watcher, list[str]]
) -> None:
    watcher, seen = watching
    proxy.delay = 0.5
    began = time.monotonic()
    proxy.cut_connections()
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("slow"))
    await eventually(lambda: seen == ["ADDED slow"], what="the event through the slow proxy")

    assert time.monotonic() - began >= 0.45
    assert watcher.stats.lists == 1
