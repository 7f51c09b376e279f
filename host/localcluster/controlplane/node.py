"""Our process kubelet joined to the real control plane: the Python node plus its Go HTTPS front end.

`LocalNode.start()` writes a token only the two halves share, starts `controlplane
kubelet-server` (TLS with the node's serving certificate, client certificates checked against
the cluster CA, kubectl's SPDY and the client's WebSocket exec terminated there) and a
`ProcessNode` in its own event-loop thread, then waits until the Node reports Ready. The
kubelet's Node object advertises the front end's port, so kube-apiserver's `pods/log` and
`pods/exec` reach it as they would reach any kubelet.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import threading
from pathlib import Path

import structlog

from host.localcluster.harness import cancel_leftovers
from host.localcluster.kubelet.node import ProcessNode
from host.localcluster.kubelet.remote_api import NodeCredentials
from host.localcluster.settings import LocalClusterSettings

log = structlog.get_logger(__name__)

_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 30.0


class LocalNode:
    """The node `settings.node_name` of the control plane at `server`, with the PKI in `pki`."""

    def __init__(
        self,
        *,
        exe: Path,
        server: str,
        pki: Path,
        work_dir: Path,
        settings: LocalClusterSettings,
        kubelet_port: int,
        backend_port: int,
    ) -> None:
        self._exe = exe
        self._pki = pki
        self._work_dir = work_dir
        self.settings = settings
        self.kubelet_port = kubelet_port
        self._backend_port = backend_port
        self._credentials = NodeCredentials(
            server=server, ca_file=pki / "ca.crt", cert_file=pki / "kubelet.crt", key_file=pki / "kubelet.key"
        )
        self.node: ProcessNode | None = None
        self.front: subprocess.Popen[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def front_log(self) -> Path:
        return self._work_dir / "logs" / "kubelet-server.log"

    def start(self) -> None:
        token = secrets.token_urlsafe(32)
        token_file = self._work_dir / "kubelet-backend.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        self.front_log.parent.mkdir(parents=True, exist_ok=True)
        with self.front_log.open("wb") as out:
            self.front = subprocess.Popen(
                [
                    str(self._exe),
                    "kubelet-server",
                    f"-listen=127.0.0.1:{self.kubelet_port}",
                    f"-tls-cert-file={self._pki / 'kubelet-serving.crt'}",
                    f"-tls-private-key-file={self._pki / 'kubelet-serving.key'}",
                    f"-client-ca-file={self._pki / 'ca.crt'}",
                    f"-backend=http://127.0.0.1:{self._backend_port}",
                    f"-backend-token-file={token_file}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        log_root = self._work_dir / "containers"
        log_root.mkdir(exist_ok=True)
        self.node = ProcessNode(
            self._credentials,
            self.settings,
            log_root,
            kubelet_port=self.kubelet_port,
            backend_port=self._backend_port,
            token=token,
        )
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="process-node", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.node.start(), loop).result(_START_TIMEOUT_SECONDS)

    def call(self, function: object) -> object:
        """Run `function()` on the node's loop and return its result (tests read kubelet state so)."""
        assert self._loop is not None and callable(function)

        async def run() -> object:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and self.node is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.node.stop(), loop).result(_STOP_TIMEOUT_SECONDS)
                asyncio.run_coroutine_threadsafe(cancel_leftovers(), loop).result(_STOP_TIMEOUT_SECONDS)
                asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(
                    _STOP_TIMEOUT_SECONDS
                )
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(_STOP_TIMEOUT_SECONDS)
                loop.close()
                self._loop = None
                self._thread = None
        if self.front is not None and self.front.poll() is None:
            self.front.terminate()
            try:
                self.front.wait(10)
            except subprocess.TimeoutExpired:
                self.front.kill()
                self.front.wait()
        self.front = None
