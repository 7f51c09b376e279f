"""Watch streams: chunked JSON lines `{"type": ..., "object": ...}` as the API server sends them.

A stream subscribes to the store before its first byte is written, so nothing falls between
the initial events (a synthetic ADDED per object, or history replayed from a resourceVersion)
and live ones. Events queue per stream and are written in batches; selectors are applied with
the server's transition rules (an object that stops matching arrives as DELETED, one that starts
matching as ADDED). BOOKMARKs carry the store's current version and are only sent when the
queue is empty, so a client that resumes from a bookmark misses nothing. A resourceVersion older
than the retained history answers with an ERROR event holding a 410 Expired Status.

`WatchHub` keeps every open stream so the test hooks can drop them, send bookmarks now or
close them all at shutdown.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from host.localcluster import status
from host.localcluster.registry import Registry
from host.localcluster.resources import ResourceType
from host.localcluster.selectors import FieldSelector, LabelSelector
from host.localcluster.store import ADDED, DELETED, Change, Stored, encode

log = structlog.get_logger(__name__)

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True, slots=True)
class WatchParams:
    rt: ResourceType
    namespace: str | None
    label: LabelSelector
    field: FieldSelector
    resource_version: int | None  # None: start with the current state as ADDED events
    allow_bookmarks: bool
    send_initial_events: bool
    timeout: float


def event_line(kind: str, obj: Any) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + encode(obj) + b"}\n"


class WatchStream:
    """One open watch: a queue of changes fed by the store and drained into an HTTP response."""

    def __init__(
        self, registry: Registry, params: WatchParams, *, queue_limit: int, bookmark_interval: float
    ) -> None:
        self._registry = registry
        self.params = params
        self._pending: deque[Change] = deque()
        self._wakeup = asyncio.Event()
        self._queue_limit = queue_limit
        self._bookmark_interval = bookmark_interval
        self._bookmark_requested = False
        self._closing = False
        self._dropped = False
        self._filtered = not params.label.empty or not params.field.empty

    # -- called synchronously by the store and the hub -------------------------------------

    def offer(self, change: Change) -> None:
        namespace = self.params.namespace
        if namespace is not None and change.key[0] != namespace:
            return
        self._pending.append(change)
        if len(self._pending) > self._queue_limit and not self._closing:
            log.warning("watch.overflow", resource=self.params.rt.plural, queued=len(self._pending))
            self._closing = True
        self._wakeup.set()

    def request_bookmark(self) -> bool:
        if not self.params.allow_bookmarks:
            return False
        self._bookmark_requested = True
        self._wakeup.set()
        return True

    def close(self, *, abrupt: bool) -> None:
        self._closing = True
        self._dropped = self._dropped or abrupt
        self._wakeup.set()

    # -- rendering -------------------------------------------------------------------------

    def _matches(self, stored: Stored) -> bool:
        return self._registry.matches(self.params.rt, stored.obj, self.params.label, self.params.field)

    def render(self, change: Change) -> bytes | None:
        if not self._filtered:
            return change.line()
        now_matches = self._matches(change.new)
        if change.type in (ADDED, DELETED):
            return change.line() if now_matches else None
        was_matching = change.old is not None and self._matches(change.old)
        if now_matches and was_matching:
            return change.line()
        if now_matches:
            return event_line(ADDED, change.new.obj)
        if was_matching and change.old is not None:
            gone = change.old.copy()
            gone["metadata"]["resourceVersion"] = str(change.rv)
            return event_line(DELETED, gone)
        return None

    def bookmark(self, *, initial_events_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {
            "resourceVersion": str(self._registry.store.current_rv),
            "creationTimestamp": None,
        }
        if initial_events_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        rt = self.params.rt
        return event_line("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata})

    def initial_lines(self) -> list[bytes]:
        """What the stream starts with; raises 410 when the requested version is no longer retained."""
        params = self.params
        store = self._registry.store
        if params.resource_version is None:
            lines = [
                b'{"type":"ADDED","object":' + stored.raw + b"}\n"
                for _, stored in store.items(params.rt.store_key, params.namespace)
                if not self._filtered or self._matches(stored)
            ]
            if params.send_initial_events and params.allow_bookmarks:
                lines.append(self.bookmark(initial_events_end=True))
            return lines
        lines = []
        for change in store.changes_since(params.resource_version, params.rt.store_key):
            if params.namespace is not None and change.key[0] != params.namespace:
                continue
            line = self.render(change)
            if line is not None:
                lines.append(line)
        return lines

    # -- serving ---------------------------------------------------------------------------

    async def serve(self, request: web.Request, response: web.StreamResponse, initial: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.params.timeout
        next_bookmark = loop.time() + self._bookmark_interval
        if initial:
            await response.write(b"".join(initial))
        while True:
            if self._dropped:
                if request.transport is not None:
                    request.transport.abort()
                return
            now = loop.time()
            if self._closing or now >= deadline:
                break
            if self.params.allow_bookmarks and now >= next_bookmark:
                self._bookmark_requested = True
            lines: list[bytes] = []
            if self._pending:
                pending, self._pending = self._pending, deque()
                for change in pending:
                    line = self.render(change)
                    if line is not None:
                        lines.append(line)
            if self._bookmark_requested:
                self._bookmark_requested = False
                lines.append(self.bookmark())
                next_bookmark = loop.time() + self._bookmark_interval
            if lines:
                await response.write(b"".join(lines))
                continue
            wait_until = min(deadline, next_bookmark) if self.params.allow_bookmarks else deadline
            self._wakeup.clear()
            if self._pending or self._closing or self._bookmark_requested:
                continue
            try:
                async with asyncio.timeout_at(wait_until):
                    await self._wakeup.wait()
            except TimeoutError:
                continue  # the deadline or a periodic bookmark is due; the top of the loop handles both
        await response.write_eof()


class WatchHub:
    """Every open watch stream, for hooks and shutdown."""

    def __init__(self, registry: Registry, *, queue_limit: int, bookmark_interval: float) -> None:
        self._registry = registry
        self._streams: set[WatchStream] = set()
        self.queue_limit = queue_limit
        self.bookmark_interval = bookmark_interval

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    async def serve(self, request: web.Request, params: WatchParams) -> web.StreamResponse:
        stream = WatchStream(
            self._registry, params, queue_limit=self.queue_limit, bookmark_interval=self.bookmark_interval
        )
        try:
            initial = stream.initial_lines()
            expired: status.ApiError | None = None
        except status.ApiError as exc:
            if exc.code != 410:
                raise
            initial, expired = [], exc
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        if expired is not None:
            await response.prepare(request)
            await response.write(event_line("ERROR", expired.status()))
            await response.write_eof()
            return response
        unsubscribe = self._registry.store.subscribe(params.rt.store_key, stream.offer)
        self._streams.add(stream)
        try:
            await response.prepare(request)
            await stream.serve(request, response, initial)
        except ConnectionResetError:
            # The client went away (it closed its watch, or the host stopped): normal for a watch.
            log.debug("localcluster.watch_client_gone", resource=params.rt.store_key)
        finally:
            unsubscribe()
            self._streams.discard(stream)
        return response

    def drop_all(self, *, abrupt: bool) -> int:
        streams = list(self._streams)
        for stream in streams:
            stream.close(abrupt=abrupt)
        return len(streams)

    def bookmark_all(self) -> int:
        return sum(1 for stream in list(self._streams) if stream.request_bookmark())
