"""The local cluster as one asyncio object: API server, watch hub, optional kubelet, and the test hooks.

`ClusterServer` runs inside an existing event loop (`await server.start()` / `await
server.stop()`); `host.localcluster.harness.LocalCluster` runs one in a background thread for
synchronous callers. The middleware here is the single place where an `ApiError` becomes a
`Status` response, and where throttling (429 with Retry-After) is injected.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web

from host.localcluster import resources, status
from host.localcluster.api import ApiHandlers
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.kubelet.local_api import RegistryNodeApi
from host.localcluster.registry import Registry
from host.localcluster.settings import LocalClusterSettings
from host.localcluster.store import Store, encode
from host.localcluster.watch import WatchHub

log = structlog.get_logger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_UNTHROTTLED = ("/healthz", "/livez", "/readyz")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class _Throttle:
    remaining: int = 0
    retry_after: int = 1

    def take(self) -> int | None:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        return self.retry_after


def _status_response(error: status.ApiError) -> web.Response:
    return web.Response(
        body=encode(error.status()), status=error.code, content_type="application/json", headers=error.headers
    )


class ClusterServer:
    """API server + kubelet in the current event loop."""

    def __init__(self, settings: LocalClusterSettings | None = None) -> None:
        self.settings = settings or LocalClusterSettings()
        self.store = Store(history_window=self.settings.history_window)
        self.registry = Registry(self.store)
        self.hub = WatchHub(
            self.registry,
            queue_limit=self.settings.watch_queue_limit,
            bookmark_interval=self.settings.bookmark_interval_seconds,
        )
        self.kubelet: Kubelet | None = None
        self._throttle = _Throttle()
        self._runner: web.AppRunner | None = None
        self._log_tmp: tempfile.TemporaryDirectory[str] | None = None
        self.port = 0
        for namespace in DEFAULT_NAMESPACES:
            self.registry.create(resources.NAMESPACES, None, {"metadata": {"name": namespace}})

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes(ApiHandlers(self.registry, self.hub, self.settings, lambda: self.kubelet).routes())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # After a restart, come back on the same port so existing kubeconfigs keep working.
            sock.bind((self.settings.host, self.port or self.settings.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        if self.settings.kubelet:
            log_root = self.settings.log_dir
            if log_root is None:
                self._log_tmp = tempfile.TemporaryDirectory(prefix="wfhost-localcluster-")
                log_root = Path(self._log_tmp.name)
            self.kubelet = Kubelet(RegistryNodeApi(self.registry), self.settings, log_root)
            await self.kubelet.start()
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        log.info("localcluster.started", url=self.url, kubelet=self.settings.kubelet)

    async def stop(self) -> None:
        """Close watches, stop every container process, then the HTTP server.

        The stored objects survive: `start()` again serves them on the same port, like an API
        server restart (the kubelet then starts the containers of its pods afresh).
        """
        self.hub.drop_all(abrupt=False)
        if self.kubelet is not None:
            await self.kubelet.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._log_tmp is not None:
            self._log_tmp.cleanup()
            self._log_tmp = None
        log.info("localcluster.stopped", url=self.url)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path not in _UNTHROTTLED:
                retry_after = self._throttle.take()
                if retry_after is not None:
                    raise status.too_many_requests(retry_after)
            return await handler(request)
        except status.ApiError as error:
            return _status_response(error)
        except web.HTTPNotFound:
            return _status_response(status.no_such_resource())
        except web.HTTPMethodNotAllowed:
            return _status_response(status.method_not_allowed(request.method))
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("localcluster.internal_error", method=request.method, path=request.path)
            return _status_response(status.internal_error(f"{type(exc).__name__}: {exc}"))

    # -- test hooks (call on the server's loop) ------------------------------------------------

    def drop_watches(self, *, abrupt: bool = True) -> int:
        """End every open watch stream; abruptly (connection reset) by default. Returns how many."""
        return self.hub.drop_all(abrupt=abrupt)

    def compact(self) -> int:
        """Forget all history, so a watch or continue from any older version gets 410 Expired."""
        return self.store.compact()

    def send_bookmarks(self) -> int:
        """Send a BOOKMARK now on every watch that allows them. Returns how many got one."""
        return self.hub.bookmark_all()

    def throttle_next(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` API requests with 429 Too Many Requests and `Retry-After`."""
        self._throttle.remaining = count
        self._throttle.retry_after = retry_after

    def set_history_window(self, size: int) -> None:
        self.settings.history_window = size
        self.store.set_history_window(size)

    def set_ephemeral_containers_allowed(self, allowed: bool) -> None:
        self.settings.allow_ephemeral_containers = allowed
