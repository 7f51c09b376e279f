"""The process kubelet as a node of a real API server: its API client, its endpoints, its lifecycle.

`ProcessNode` runs in one event loop: `HttpNodeApi` (the node's client certificate), the
`Kubelet` that runs the pods bound to the node, and the private endpoints (`endpoints.py`) that
the Go `kubelet-server` front relays `containerLogs` and `exec` to.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from aiohttp import web

from host.localcluster.kubelet.endpoints import kubelet_app
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.kubelet.remote_api import HttpNodeApi, NodeCredentials
from host.localcluster.settings import LocalClusterSettings

log = structlog.get_logger(__name__)


class ProcessNode:
    """One node: `start()` registers it and serves its endpoints on 127.0.0.1:`backend_port`."""

    def __init__(
        self,
        credentials: NodeCredentials,
        settings: LocalClusterSettings,
        log_root: Path,
        *,
        kubelet_port: int,
        backend_port: int,
        token: str,
    ) -> None:
        self.api = HttpNodeApi(credentials, settings.node_name)
        self.kubelet = Kubelet(self.api, settings, log_root, port=kubelet_port)
        self._backend_port = backend_port
        self._token = token
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = kubelet_app(self.kubelet, self.api, self._token)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._backend_port).start()
        await self.kubelet.start()
        log.info("node.started", node=self.kubelet.node_name, backend_port=self._backend_port)

    async def stop(self) -> None:
        """Stop every container, flush the last status writes, stop serving."""
        try:
            await self.kubelet.stop()
        finally:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
