"""Benchmark: pod updates through the local cluster -> watch -> classification -> dispatch, in events/s.

Two measurements, both through the real HTTP watch of `host.sources.pods.PodSource`, each event
handed to the host's real `Dispatcher` (trigger index, rate limiter, bounded per-workflow queue)
as `wfhost run` does; one workflow is bound to `pod.update`, so every event is matched and queued:

- backlog: the watcher is held off (429 + Retry-After) while N updates are written, then resumes
  from its last version and the server replays all N at once. Events/s from the first to the last
  emitted event is the pipeline's own ceiling (read, parse, classify, normalize, build the Event).
- live: N updates written while the source watches; events/s from the first write to the last
  emit, which the writers' HTTP round trips usually bound.

Run: `.venv/bin/python bench/watch_throughput.py [--updates 5000] [--pods 50] [--writers 4]`
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from host.config import Backoff, ClusterConfig
from host.findings.service import FindingsService
from host.kube.client import KubeClient
from host.localcluster import LocalCluster, LocalClusterSettings
from host.logs import configure_logging
from host.metrics import Metrics
from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.runtime.dispatcher import Dispatcher
from host.sources.pods import PodSource
from host.triggers.index import RateLimiter, TriggerIndex


class _Registry:
    """What the dispatcher reads of a registry: one workflow bound to pod.update (never run here)."""

    def __init__(self) -> None:
        spec = TriggerSpec(on="pod.update")
        self._wf = SimpleNamespace(name="bench-observer", triggers=[spec])

    def workflows(self) -> list[Any]:
        return [self._wf]

    def statuses(self) -> list[Any]:
        return []

    def get(self, name: str) -> None:
        return None  # queued items are drained as "rejected" without starting a child


def make_dispatcher(queue_size: int) -> Dispatcher:
    dispatcher = Dispatcher(
        registry=_Registry(),  # type: ignore[arg-type]
        index=TriggerIndex(), limiter=RateLimiter(0), findings=FindingsService([]), metrics=Metrics(),
        queue_size=queue_size, concurrency=1,
    )
    dispatcher.refresh()
    return dispatcher


class Meter:
    """Dispatches each event, counts pod.update ones and notes when the first and the target-th arrived."""

    def __init__(self, dispatcher: Dispatcher | None = None) -> None:
        self.dispatcher = dispatcher
        self.queued = 0
        self.count = 0
        self.target = 0
        self.first = 0.0
        self.last = 0.0
        self.done = asyncio.Event()

    def arm(self, target: int) -> None:
        self.count, self.target, self.first, self.last = 0, target, 0.0, 0.0
        self.done.clear()

    async def __call__(self, event: Event) -> None:
        if self.dispatcher is not None:
            self.queued += len(await self.dispatcher.submit(event))
        if event.kind != "pod.update" or self.target == 0:
            return
        now = time.perf_counter()
        self.count += 1
        if self.count == 1:
            self.first = now
        if self.count == self.target:
            self.last = now
            self.done.set()


async def until(check: Callable[[], bool], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.005)


def write_updates(cluster: LocalCluster, *, updates: int, pods: int, writers: int, offset: int) -> float:
    """Patch pod labels `updates` times from `writers` threads; returns the seconds it took."""

    def work(worker: int) -> None:
        api = cluster.core_v1()
        for i in range(worker, updates, writers):
            api.patch_namespaced_pod(
                f"bench-{i % pods}", "default", {"metadata": {"labels": {"seq": str(offset + i)}}}
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


async def main(updates: int, pods: int, writers: int) -> dict[str, Any]:
    settings = LocalClusterSettings.for_tests(history_window=max(10_000, updates * 2))
    config = ClusterConfig(watch_timeout_seconds=600, backoff=Backoff(initial_seconds=0.05, max_seconds=1))
    with LocalCluster(settings, kubelet=False) as cluster:
        api = cluster.core_v1()
        for i in range(pods):
            api.create_namespaced_pod(
                "default",
                {
                    "metadata": {"name": f"bench-{i}"},
                    "spec": {"containers": [{"name": "app", "image": "bench:1"}]},
                },
            )
        kube = KubeClient.from_config(cluster.kubeconfig_path)
        source = PodSource(kube, config)
        dispatcher = make_dispatcher(queue_size=updates * 3)
        meter = Meter(dispatcher)
        task = asyncio.create_task(source.run(meter))
        try:
            await until(lambda: cluster.open_watches() >= 1)
            watcher = source.watchers[None]

            # Calibrate the write rate, so the hold below outlasts the writing.
            meter.arm(0)
            calibration = min(500, updates)
            seconds = await asyncio.to_thread(
                write_updates, cluster, updates=calibration, pods=pods, writers=writers, offset=-calibration
            )
            retry_after = math.ceil(updates * seconds / calibration * 1.5) + 1
            # Let the calibration events drain first.
            await until(lambda: watcher.resource_version == str(cluster.resource_version()))

            # Backlog: hold the watcher off while the updates pile up in the server's history.
            meter.arm(updates)
            cluster.throttle_next(1, retry_after=retry_after)
            cluster.drop_watches()
            await until(lambda: watcher.stats.throttled >= 1)
            held_at = time.perf_counter()
            write_seconds = await asyncio.to_thread(
                write_updates, cluster, updates=updates, pods=pods, writers=writers, offset=0
            )
            if time.perf_counter() - held_at > retry_after:
                print(f"warning: writing took longer than the {retry_after}s hold; backlog is partly live")
            await asyncio.wait_for(meter.done.wait(), timeout=300)
            backlog_rate = (updates - 1) / (meter.last - meter.first)

            # Live: the source follows while the writers write.
            meter.arm(updates)
            started = time.perf_counter()
            live_write_seconds = await asyncio.to_thread(
                write_updates, cluster, updates=updates, pods=pods, writers=writers, offset=updates
            )
            await asyncio.wait_for(meter.done.wait(), timeout=300)
            live_rate = updates / (meter.last - started)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await dispatcher.close()
            kube.close()
    return {
        "updates": updates,
        "pods": pods,
        "writers": writers,
        "backlog_events_per_s": round(backlog_rate),
        "live_events_per_s": round(live_rate),
        "write_rate_per_s": round(updates / ((write_seconds + live_write_seconds) / 2)),
        "dispatched": meter.queued,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    configure_logging(format="console", level="warning")
    result = asyncio.run(main(args.updates, args.pods, args.writers))
    for key, value in result.items():
        print(f"{key}: {value}")
