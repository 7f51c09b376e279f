"""The server pushes thousands of watch events per second to one client."""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3

from host.localcluster import LocalCluster, resources
from host.localcluster.server import ClusterServer
from host.localcluster.testing import WatchRecorder, sleeping_pod

UPDATES = 5000
PODS = 50


def _write_updates(server: ClusterServer) -> None:
    for i in range(UPDATES):
        server.registry.patch(
            resources.PODS,
            "default",
            f"b{i % PODS}",
            "application/merge-patch+json",
            {"metadata": {"labels": {"seq": str(i)}}},
        )


def _prepare(cluster: LocalCluster, api: Any) -> str:
    for i in range(PODS):
        api.create_namespaced_pod("default", sleeping_pod(f"b{i}"))
    start: str = api.list_namespaced_pod("default").metadata.resource_version
    cluster.call(_write_updates)
    return start


def test_a_backlog_of_thousands_of_events_streams_at_several_thousand_per_second(
    cluster: LocalCluster, api: Any
) -> None:
    start = _prepare(cluster, api)
    http = urllib3.PoolManager()
    try:
        began = time.perf_counter()
        response = http.request(
            "GET",
            f"{cluster.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={start}&timeoutSeconds=30",
            preload_content=False,
        )
        seen: list[int] = []
        pending = b""
        for chunk in response.stream(amt=None):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            seen += [int(json.loads(line)["object"]["metadata"]["labels"]["seq"]) for line in lines]
            if len(seen) >= UPDATES:
                break
        elapsed = time.perf_counter() - began
        response.release_conn()
    finally:
        http.clear()
    assert seen == list(range(UPDATES)), "every update exactly once, in order"
    rate = UPDATES / elapsed
    print(f"\nraw watch replay: {rate:,.0f} events/s")
    assert rate > 3000, f"only {rate:,.0f} events/s"


def test_the_official_client_keeps_up_with_a_live_burst(cluster: LocalCluster, api: Any) -> None:
    for i in range(PODS):
        api.create_namespaced_pod("default", sleeping_pod(f"b{i}"))
    start = api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(api.list_namespaced_pod, "default", resource_version=start, deserialize=False)
    began = time.perf_counter()
    cluster.call(_write_updates)
    events = recorder.take(UPDATES, timeout=120)
    elapsed = time.perf_counter() - began
    recorder.stop()
    assert [int(e["object"]["metadata"]["labels"]["seq"]) for e in events] == list(range(UPDATES))
    print(f"\nlive burst through kubernetes.watch (dicts): {UPDATES / elapsed:,.0f} events/s")
