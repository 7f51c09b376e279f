"""Running a command in a container through the `pods/exec` websocket, with a hard deadline.

`kubernetes.stream.stream` swaps `call_api` on the `ApiClient` it is handed for the duration of the
call, which would reroute concurrent ordinary requests made through the same client into the
websocket path. Each exec therefore gets its own short-lived `ApiClient` over the shared
configuration. The channels are read in short slices so that the deadline and a stop request
(the awaiting task was cancelled) are noticed within a fraction of a second.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import kubernetes.client
import structlog
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL
from websocket import WebSocketException

from host.errors import KubeError
from host.kube.translate import translate

log = structlog.get_logger(__name__)

SLICE_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


def run_exec(
    configuration: kubernetes.client.Configuration,
    *,
    namespace: str,
    name: str,
    container: str,
    command: list[str],
    timeout: float,
    stop: threading.Event,
) -> ExecResult:
    """Blocking: run `command` to completion (or until `timeout` / `stop`) and collect its output."""
    what = f"exec {command[:1]} in {namespace}/{name} container {container}"
    api_client = kubernetes.client.ApiClient(configuration)
    try:
        core = kubernetes.client.CoreV1Api(api_client)
        try:
            ws: Any = stream(
                core.connect_get_namespaced_pod_exec,
                name,
                namespace,
                command=command,
                container=container,
                stdin=False,
                stdout=True,
                stderr=True,
                tty=False,
                binary=True,
                _preload_content=False,
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, what=what) from exc
        try:
            return _collect(ws, what=what, timeout=timeout, stop=stop)
        finally:
            _close(ws)
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


def _collect(ws: Any, *, what: str, timeout: float, stop: threading.Event) -> ExecResult:
    deadline = time.monotonic() + timeout
    stdout = bytearray()
    stderr = bytearray()
    error = bytearray()
    try:
        while True:
            if stop.is_set():
                raise KubeError(f"{what}: cancelled", reason="Cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KubeError(f"{what}: still running after {timeout:g}s", reason="ExecTimeout")
            ws.update(timeout=min(remaining, SLICE_SECONDS))
            stdout += _drain(ws, STDOUT_CHANNEL)
            stderr += _drain(ws, STDERR_CHANNEL)
            error += _drain(ws, ERROR_CHANNEL)
            if not ws.is_open():
                break
    except (WebSocketException, OSError) as exc:
        raise KubeError(f"{what}: stream failed: {exc}", reason="ConnectionError") from exc
    return ExecResult(bytes(stdout), bytes(stderr), _exit_code(bytes(error), what=what))


def _close(ws: Any) -> None:
    """Close the websocket and its socket. After the server's close frame the websocket library
    thinks it is closed already and `close()` would leave the socket open."""
    try:
        ws.close(timeout=1)
    except (WebSocketException, OSError) as exc:
        log.debug("exec stream close failed", error=str(exc))
    finally:
        sock = getattr(ws, "sock", None)
        if sock is not None:
            sock.shutdown()


def _drain(ws: Any, channel: int) -> bytes:
    # timeout=0: take what update() buffered, never wait on the socket again here.
    data = ws.read_channel(channel, timeout=0)
    return data if isinstance(data, bytes) else str(data).encode()


def _exit_code(error_channel: bytes, *, what: str) -> int:
    """The exit code from the error channel's `Status`: Success is 0, NonZeroExitCode carries it."""
    if not error_channel.strip():
        raise KubeError(f"{what}: the stream closed without an exit status", reason="ExecIncomplete")
    try:
        status = json.loads(error_channel)
    except ValueError as exc:
        raise KubeError(
            f"{what}: unreadable exit status {error_channel[:200]!r}", reason="InvalidResponse"
        ) from exc
    if not isinstance(status, dict):
        raise KubeError(f"{what}: unreadable exit status {error_channel[:200]!r}", reason="InvalidResponse")
    if status.get("status") == "Success":
        return 0
    details = status.get("details") or {}
    for cause in details.get("causes") or []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                break
    message = status.get("message") or status.get("reason") or "exec failed"
    raise KubeError(f"{what}: {message}", status=None, reason=str(status.get("reason") or "ExecFailed"))
