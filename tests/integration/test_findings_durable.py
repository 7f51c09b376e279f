"""`wfhost run` SIGKILLed while findings wait for a webhook: after a restart every finding reaches the
receiver at least once and, deduplicated by id, exactly once; the API still lists them all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

import pytest
from aiohttp import web

from host.localcluster import LocalCluster
from tests.integration.conftest import RunningHost, free_port, wait_for

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
PODS = 20


class Receiver:
    """A real webhook receiver (aiohttp) on its own thread and loop; records each POST's body id and
    Idempotency-Key, and answers after `delay` seconds (the POST is recorded when it arrives)."""

    def __init__(self, port: int, *, delay: float = 0.0) -> None:
        self.port = port
        self.delay = delay
        self.posts: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        doc = await request.json()
        with self._lock:
            self.posts.append((doc["id"], request.headers.get("Idempotency-Key")))
        await asyncio.sleep(self.delay)
        return web.Response(status=204)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def ids(self) -> list[str]:
        with self._lock:
            return [i for i, _ in self.posts]

    def keys_match(self) -> bool:
        with self._lock:
            return all(i == key for i, key in self.posts)


def _get(host: RunningHost, path: str) -> Any:
    request = urllib.request.Request(f"{host.url}{path}", headers={"Authorization": f"Bearer {host.token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        body = resp.read()
    return json.loads(body) if path.startswith("/api/") else body.decode()


def _reported(host: RunningHost) -> dict[str, str]:
    """Finding id -> title of the pod.create findings the host's API lists."""
    items = _get(host, "/api/v1/findings?limit=500")["items"]
    return {f["id"]: f["title"] for f in items if f["title"].startswith("pod.create p-")}


def _pending(host: RunningHost, sink: str) -> float:
    for line in _get(host, "/metrics").splitlines():
        if line.startswith(f'wfhost_findings_outbox_pending{{sink="{sink}"}}'):
            return float(line.split()[-1])
    return -1.0


def _sigkill(host: RunningHost) -> None:
    os.kill(host.proc.pid, signal.SIGKILL)
    host.proc.wait(10)


def _overrides(port: int) -> dict[str, Any]:
    return {
        "sinks": {"webhook": {"enabled": True, "url": f"http://127.0.0.1:{port}/hook", "maxRetries": 0,
                              "timeoutSeconds": 2}},
        "findings": {"delivery": {"retryBackoff": {"initialSeconds": 0.2, "maxSeconds": 1}}},
    }


def _create_pods(cluster: LocalCluster) -> None:
    api = cluster.core_v1()
    for i in range(PODS):
        api.create_namespaced_pod("default", {"metadata": {"name": f"p-{i:02d}"}, "spec": {"containers": [
            {"name": "main", "image": "python:3.11", "command": ["sleep", "600"]}]}})


@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
def test_findings_queued_for_a_down_webhook_survive_a_sigkill_and_arrive_once_each(
    cluster: LocalCluster, start_host: Any
) -> None:
    port = free_port()  # nothing listens there yet: the webhook is down
    host = start_host("a", **_overrides(port))
    _create_pods(cluster)
    wait_for(lambda: len(_reported(host)) == PODS, timeout=60, what=f"{PODS} findings")
    reported = _reported(host)
    wait_for(lambda: _pending(host, "webhook") == PODS, timeout=30, what="every finding pending for the webhook")
    _sigkill(host)

    receiver = Receiver(port)
    receiver.start()
    try:
        began = time.monotonic()
        again = start_host("a", **_overrides(port))  # the same state directory, so the same store
        wait_for(lambda: set(receiver.ids()) >= set(reported), timeout=60, what="every finding at the receiver")
        recovered_in = time.monotonic() - began
        # The page's source after the restart: everything reported before it.
        assert _reported(again) == reported
        seen = Counter(receiver.ids())
        assert set(seen) == set(reported)  # deduplicated by id: each exactly once, none unknown
        assert all(n >= 1 for n in seen.values())
        assert receiver.keys_match()  # the Idempotency-Key header is the body's id, every time
        wait_for(lambda: _pending(again, "webhook") == 0, timeout=30, what="an empty outbox")
        print(f"\nrecovery: {PODS} findings delivered {recovered_in:.2f} s after the restart began "
              f"({sum(seen.values())} POSTs)")
    finally:
        receiver.stop()


@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
def test_a_sigkill_in_the_middle_of_deliveries_repeats_some_and_loses_none(
    cluster: LocalCluster, start_host: Any
) -> None:
    port = free_port()
    receiver = Receiver(port, delay=0.5)  # slow to answer: the kill lands between a POST and its ack
    receiver.start()
    try:
        host = start_host("a", **_overrides(port))
        _create_pods(cluster)
        # Every finding stored (a pod the host had not yet seen would be baseline after the restart) ...
        wait_for(lambda: len(_reported(host)) == PODS, timeout=60, what=f"{PODS} findings")
        reported = _reported(host)
        # ... and some of them delivered, not all: 20 take 10 s at 0.5 s each.
        wait_for(lambda: len(receiver.ids()) >= 5, timeout=60, what="the first deliveries")
        _sigkill(host)
        before = len(receiver.ids())
        assert before < PODS
        again = start_host("a", **_overrides(port))
        wait_for(lambda: set(receiver.ids()) >= set(reported), timeout=90, what="every finding at the receiver")
        assert _reported(again) == reported
        seen = Counter(receiver.ids())
        assert set(seen) == set(reported)  # deduplicated by id: exactly once each
        assert sum(seen.values()) >= PODS  # at least once: a repeat is allowed (and expected here)
        assert receiver.keys_match()
        print(f"\n{before} POSTs before the kill; {sum(seen.values())} in all for {PODS} findings "
              f"({sum(seen.values()) - PODS} repeated after the restart)")
    finally:
        receiver.stop()
