"""`LocalCluster`: a `ClusterServer` on its own event loop in a background thread, for tests and the demo.

Synchronous code (and async code, through `async with`) gets a running cluster, a kubeconfig
file, ready-made clients of the official `kubernetes` package, and the test hooks, each of which
runs on the server's loop and returns when done.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import kubernetes

from host.localcluster import kubeconfig
from host.localcluster.loopthread import LoopThread
from host.localcluster.server import ClusterServer
from host.localcluster.settings import LocalClusterSettings

T = TypeVar("T")
_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 60.0


class KubeClients:
    """Clients bound to a cluster's kubeconfig, closed with it; needs `kubeconfig_path` and `_clients`."""

    kubeconfig_path: Path
    _clients: list[Any]

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` loaded from this cluster's kubeconfig (closed on stop)."""
        load: Any = kubernetes.config.new_client_from_config
        client = load(config_file=str(self.kubeconfig_path))
        self._clients.append(client)
        return client

    def core_v1(self) -> Any:
        """A `kubernetes.client.CoreV1Api` bound to this cluster."""
        return kubernetes.client.CoreV1Api(self.api_client())

    def coordination_v1(self) -> Any:
        """A `kubernetes.client.CoordinationV1Api` bound to this cluster."""
        return kubernetes.client.CoordinationV1Api(self.api_client())


class LocalCluster(KubeClients):
    """A local Kubernetes API server (and kubelet) serving on 127.0.0.1 in a background thread."""

    def __init__(self, settings: LocalClusterSettings | None = None, *, kubelet: bool | None = None) -> None:
        self.settings = (settings or LocalClusterSettings()).model_copy()
        if kubelet is not None:
            self.settings.kubelet = kubelet
        self.server = ClusterServer(self.settings)
        self._runner = LoopThread("localcluster")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._clients: list[Any] = []
        self.kubeconfig_path: Path = Path()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalCluster:
        """Start serving (again, after `stop()`: same port, same objects)."""
        if self._runner.running:
            return self
        self._runner.start()
        try:
            self._runner.call(self.server.start(), timeout=_START_TIMEOUT_SECONDS)
        except BaseException:
            self.close()
            raise
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wfhost-kubeconfig-")
            self.kubeconfig_path = kubeconfig.write(Path(self._tmp.name) / "kubeconfig", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and kill every process the kubelet started; objects are kept for `start()`."""
        if not self._runner.running:
            return
        try:
            self._runner.call(self.server.stop(), timeout=_STOP_TIMEOUT_SECONDS)
        finally:
            try:
                self._runner.call(cancel_leftovers(), timeout=_STOP_TIMEOUT_SECONDS)
            finally:
                self._runner.stop(timeout=_STOP_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop, close the clients handed out, and remove the kubeconfig; safe to call twice."""
        try:
            self.stop()
        finally:
            for client in self._clients:
                client.close()
            self._clients.clear()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def astart(self) -> LocalCluster:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> LocalCluster:
        return await self.astart()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- clients ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    # -- hooks -----------------------------------------------------------------------------

    def call(self, action: Callable[[ClusterServer], T]) -> T:
        """Run `action(server)` on the server's loop and return its result."""
        async def run() -> T:
            return action(self.server)

        return self._runner.call(run(), timeout=_STOP_TIMEOUT_SECONDS)

    def drop_watches(self, *, abrupt: bool = True) -> int:
        """End every open watch stream (connection reset when `abrupt`); returns how many were open."""
        return self.call(lambda server: server.drop_watches(abrupt=abrupt))

    def compact(self) -> int:
        """Forget history: watching or continuing from any older resourceVersion now gets 410 Expired."""
        return self.call(lambda server: server.compact())

    def send_bookmarks(self) -> int:
        """Send a BOOKMARK now on every watch that allows bookmarks; returns how many."""
        return self.call(lambda server: server.send_bookmarks())

    def throttle_next(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` requests with 429 Too Many Requests and `Retry-After: retry_after`."""
        self.call(lambda server: server.throttle_next(count, retry_after))

    def set_history_window(self, size: int) -> None:
        """Keep only the last `size` changes for watches (older versions answer 410)."""
        self.call(lambda server: server.set_history_window(size))

    def set_ephemeral_containers_allowed(self, allowed: bool) -> None:
        """When False, adding ephemeral containers answers 403 Forbidden."""
        self.call(lambda server: server.set_ephemeral_containers_allowed(allowed))

    def resource_version(self) -> int:
        """The cluster's current resourceVersion."""
        return self.call(lambda server: server.store.current_rv)

    def open_watches(self) -> int:
        """How many watch streams are open right now."""
        return self.call(lambda server: server.hub.open_streams)

    def container_pids(self, namespace: str, name: str) -> dict[str, int]:
        """Main process id of each running container (ephemeral ones included) of a pod."""
        return self.call(
            lambda server: server.kubelet.container_pids(namespace, name) if server.kubelet else {}
        )

    def kubelet_pids(self) -> list[int]:
        """Main process ids of every running container on the node."""
        return self.call(lambda server: server.kubelet.all_pids() if server.kubelet else [])


async def cancel_leftovers() -> None:
    """Cancel every other task of the running loop and wait (bounded) for them: run before closing it."""
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers, timeout=5)
