"""Tier one of the watch loop: a single HTTP watch stream, read by a thread, consumed with `async for`.

The official client blocks in socket reads, so a daemon thread opens the stream, splits the
chunked body into lines, parses each line's JSON and hands batches of `(type, object)` pairs to the
event loop (one wake-up per batch, not per event). The thread is a daemon and the response is shut
down from the loop when the stream is closed, so a read blocked on an idle connection neither
delays cancellation nor keeps the process alive; a read timeout slightly longer than the server's
`timeoutSeconds` catches connections that die silently.

What ends a stream:
- the server closes it (its `timeoutSeconds` passed) or the connection drops while reading:
  iteration simply stops, `dropped` tells which, and the caller re-watches from its last version;
- an HTTP error when opening (410, 429, 5xx ...) or an `ERROR` event in the stream: iteration raises
  the translated `KubeError` (`Gone` for an expired version either way).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
import urllib3

from host import wirejson
from host.errors import KubeError
from host.kube.client import CLIENT_ERRORS, KubeClient
from host.kube.translate import error_from_status_object
from host.model.resources import Resource

log = structlog.get_logger(__name__)

WatchPair = tuple[str, dict[str, Any]]

READ_CHUNK = 256 * 1024
READ_TIMEOUT_SLACK = 30.0
DEFAULT_MAX_BUFFERED = 50_000


@dataclass(frozen=True, slots=True)
class _End:
    error: KubeError | None
    dropped: bool


class WatchStream:
    """One watch request. Use as `async with WatchStream(...) as s: async for type, obj in s`."""

    def __init__(
        self,
        kube: KubeClient,
        resource: Resource,
        *,
        namespace: str | None,
        resource_version: str | None,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.namespace = namespace
        self.resource_version = resource_version
        self.timeout_seconds = timeout_seconds
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.dropped = False
        self.drop_reason: str | None = None
        self.what = f"watch {resource.describe(namespace)}"
        self._items: deque[WatchPair | _End] = deque()
        self._space = threading.Semaphore(max_buffered)
        self._ready = asyncio.Event()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._response_lock = threading.Lock()
        self._finished = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._run, name=f"watch-{self.resource.plural}-{self.namespace or 'all'}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop reading now: the blocked read returns, the thread exits on its own."""
        self._stopping.set()
        with self._response_lock:
            response = self._response
        if response is not None:
            _shutdown(response)

    async def __aenter__(self) -> WatchStream:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- consuming ---------------------------------------------------------------------------

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchPair:
        if self._finished:
            raise StopAsyncIteration
        while not self._items:
            self._ready.clear()
            if self._items:
                break
            await self._ready.wait()
        item = self._items.popleft()
        self._space.release()
        if isinstance(item, _End):
            self._finished = True
            self.dropped = item.dropped
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        return item

    # -- the reader thread -------------------------------------------------------------------

    def _run(self) -> None:
        end = _End(error=None, dropped=False)
        try:
            end = self._read()
        except KubeError as exc:
            end = _End(error=exc, dropped=False)
        except Exception as exc:
            # A thread's exception would only reach stderr; hand it to the consumer as an error
            # (logged there, then retried with backoff) and keep the traceback in our log.
            log.exception("watch reader failed", watch=self.what)
            error = KubeError(f"{self.what}: reader failed: {type(exc).__name__}: {exc}", reason="InternalError")
            error.__cause__ = exc
            end = _End(error=error, dropped=False)
        finally:
            self._push([end], force=True)

    def _read(self) -> _End:
        response = self.kube.open_watch(
            self.resource,
            self.namespace,
            resource_version=self.resource_version,
            timeout_seconds=self.timeout_seconds,
            read_timeout=self.timeout_seconds + READ_TIMEOUT_SLACK,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        with self._response_lock:
            self._response = response
        try:
            if self._stopping.is_set():
                return _End(error=None, dropped=False)
            return self._read_lines(response)
        finally:
            with self._response_lock:
                self._response = None
            response.close()

    def _read_lines(self, response: urllib3.BaseHTTPResponse) -> _End:
        pending = b""
        while not self._stopping.is_set():
            try:
                chunk = response.read1(READ_CHUNK)
            except CLIENT_ERRORS as exc:
                if self._stopping.is_set():
                    break
                self.drop_reason = f"{type(exc).__name__}: {exc}"
                return _End(error=None, dropped=True)
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            batch: list[WatchPair] = []
            for line in lines:
                if not line.strip():
                    continue
                pair = self._parse(line)
                if isinstance(pair, KubeError):
                    self._push(batch)
                    return _End(error=pair, dropped=False)
                batch.append(pair)
            if batch and not self._push(batch):
                break
        return _End(error=None, dropped=False)

    def _parse(self, line: bytes) -> WatchPair | KubeError:
        try:
            event = wirejson.loads(line)
        except ValueError as exc:
            return KubeError(f"{self.what}: invalid JSON in the stream: {exc}", reason="InvalidResponse")
        if not isinstance(event, dict):
            return KubeError(f"{self.what}: a stream line is not an object", reason="InvalidResponse")
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(kind, str) or not isinstance(obj, dict):
            return KubeError(f"{self.what}: a stream event lacks type or object", reason="InvalidResponse")
        if kind == "ERROR":
            return error_from_status_object(obj, what=self.what)
        return kind, obj

    def _push(self, items: list[WatchPair] | list[_End], *, force: bool = False) -> bool:
        """Hand items to the loop, waiting for buffer space; False when the stream is closing.

        `force` is for the end marker: once the stream is closing it skips the wait for space.
        """
        for item in items:
            while not self._stopping.is_set() and not self._space.acquire(timeout=0.5):
                pass
            if self._stopping.is_set() and not force:
                return False
            self._items.append(item)
        if items and not self._wake_pending:
            self._wake_pending = True
            loop = self._loop
            if loop is None or loop.is_closed():
                return False
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:
                # The loop closed between the check and the call: nobody is left to read.
                return False
        return True

    def _wake(self) -> None:
        self._wake_pending = False
        self._ready.set()


def _shutdown(response: urllib3.BaseHTTPResponse) -> None:
    """Interrupt a read blocked in another thread (SHUT_RD makes it return at once)."""
    shutdown = getattr(response, "shutdown", None)
    if shutdown is None:
        return
    try:
        shutdown()
    except (ValueError, RuntimeError, OSError) as exc:
        # Already released or closed: the reader has finished or is about to.
        log.debug("watch stream already closed", error=str(exc))


__all__ = ["WatchPair", "WatchStream"]
