"""Tiers two and three of the watch loop: one list-then-watch pass, and the endless loop around it.

`Watcher.events()` yields `(type, obj)` pairs forever:

- `("RELISTED", list_obj)` after every full list: the first one (the baseline) and every re-list
  after the server forgot our version (`410 Gone`, as an HTTP answer or as an ERROR event in the
  stream). `list_obj` is a List object (`{"kind", "metadata": {"resourceVersion"}, "items"}`)
  holding the complete current state, so a consumer can diff it against what it knew;
- `("ADDED" | "MODIFIED" | "DELETED", obj)` for every change after that.

The watcher carries `resourceVersion` forward from every event and every BOOKMARK. When a stream
ends (the server's `timeoutSeconds`) or drops, it re-watches from that version without listing. A
429 waits for the server's `Retry-After`, and so does any other error that carries one (a 503
from an API server shutting down or a proxy in front of it); other errors back off exponentially
with jitter (delays from `ClusterConfig.backoff`) and then resume from the same version.
Cancelling the consuming task stops it promptly: the stream's socket is shut down, nothing waits
on a blocked read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog

from host.backoff import EQUAL, Backoff
from host.config import ClusterConfig
from host.errors import Gone, KubeError, Throttled
from host.kube.client import KubeClient
from host.kube.stream import WatchPair, WatchStream
from host.model.resources import Resource

log = structlog.get_logger(__name__)

RELISTED = "RELISTED"
BOOKMARK = "BOOKMARK"
DEFAULT_PAGE_SIZE = 500
# A stream that ends this soon without delivering anything counts as a failure (backoff applies),
# so a server that accepts and immediately closes watches cannot make us spin.
MIN_HEALTHY_STREAM_SECONDS = 1.0


@dataclass
class WatchStats:
    """Counters for metrics and tests."""

    lists: int = 0
    relists_after_gone: int = 0
    watches: int = 0
    rewatches: int = 0
    drops: int = 0
    bookmarks: int = 0
    throttled: int = 0
    errors: int = 0
    events: int = 0


class Watcher:
    """List then watch one resource in one namespace (or all namespaces), forever."""

    def __init__(
        self,
        kube: KubeClient,
        resource: Resource,
        *,
        namespace: str | None = None,
        config: ClusterConfig | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.namespace = namespace
        self.config = config or ClusterConfig()
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.resource_version: str | None = None
        self.stats = WatchStats()
        self._backoff = Backoff(self.config.backoff, jitter=EQUAL)
        self._pass_healthy = False
        self._log = log.bind(resource=resource.plural, namespace=namespace or "*")

    def __aiter__(self) -> AsyncIterator[WatchPair]:
        return self.events()

    async def events(self) -> AsyncGenerator[WatchPair, None]:
        """The endless loop (tier three). Close it with `aclose()` or by cancelling the consumer."""
        need_list = True
        consecutive_gone = 0
        while True:
            try:
                if need_list:
                    listing = await self.list_all()
                    need_list = False
                    yield RELISTED, listing
                self._pass_healthy = False
                async for pair in self.watch_pass():
                    yield pair
                consecutive_gone = 0
                if self._pass_healthy:
                    self._backoff.reset()
                    self.stats.rewatches += 1
                else:
                    await self._sleep(self._backoff.next_delay(), why="watch stream ended at once")
            except Gone as exc:
                need_list = True
                consecutive_gone += 1
                self.stats.relists_after_gone += 1
                self._log.info(
                    "resource version expired, re-listing", version=self.resource_version, detail=str(exc)
                )
                if consecutive_gone > 1:
                    await self._sleep(self._backoff.next_delay(), why="repeated 410 Gone")
            except Throttled as exc:
                self.stats.throttled += 1
                delay = exc.retry_after if exc.retry_after is not None else self._backoff.next_delay()
                await self._sleep(delay, why="throttled (429)")
            except KubeError as exc:
                self.stats.errors += 1
                # The server said when: believe it, as for a 429 (the backoff still grows meanwhile).
                backoff = self._backoff.next_delay()
                delay = exc.retry_after if exc.retry_after is not None else backoff
                self._log.warning(
                    "watch failed, backing off",
                    error=str(exc),
                    status=exc.status,
                    delay=round(delay, 3),
                    retry_after=exc.retry_after,
                    relisting=need_list,
                )
                await asyncio.sleep(delay)

    async def list_all(self) -> dict[str, Any]:
        """A complete, consistent list in pages of `page_size` (`limit` + `continue`)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        version: str | None = None
        kind = f"{self.resource.kind}List"
        while True:
            page = await self.kube.list_page(
                self.resource,
                self.namespace,
                limit=self.page_size,
                continue_token=token,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
            )
            items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
            meta = page.get("metadata") or {}
            version = meta.get("resourceVersion") or version
            kind = page.get("kind") or kind
            token = meta.get("continue") or None
            if not token:
                break
        self.stats.lists += 1
        self.resource_version = version
        self._backoff.reset()
        self._log.debug("listed", items=len(items), version=version)
        return {"kind": kind, "metadata": {"resourceVersion": version}, "items": items}

    async def watch_pass(self) -> AsyncGenerator[WatchPair, None]:
        """One watch stream from `resource_version` (tier two's watch half); raises on errors."""
        self.stats.watches += 1
        started = time.monotonic()
        delivered = False
        async with WatchStream(
            self.kube,
            self.resource,
            namespace=self.namespace,
            resource_version=self.resource_version,
            timeout_seconds=self.config.watch_timeout_seconds,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        ) as stream:
            async for kind, obj in stream:
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:
                    self.resource_version = str(version)
                delivered = True
                if kind == BOOKMARK:
                    self.stats.bookmarks += 1
                    continue
                self.stats.events += 1
                yield kind, obj
            if stream.dropped:
                self.stats.drops += 1
                self._log.info(
                    "watch stream dropped, re-watching",
                    reason=stream.drop_reason,
                    version=self.resource_version,
                )
        # Healthy: it delivered something, or stayed open a while (an idle cluster sends nothing).
        self._pass_healthy = delivered or time.monotonic() - started >= MIN_HEALTHY_STREAM_SECONDS

    async def _sleep(self, delay: float, *, why: str) -> None:
        self._log.info("waiting before watching again", reason=why, delay=round(delay, 3))
        await asyncio.sleep(delay)
