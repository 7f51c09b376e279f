"""The one source loop: follow a resource through a `Digest` into events.

`ResourceSource` runs a `Watcher` (list, watch, 410 relist, bookmarks, backoff: `host.kube.watch`)
per namespace scope of one resource and hands every full list and every change to its digest,
which turns them into `Event`s (pods: `host.sources.pods`; Warning Events: `host.sources.k8s_events`;
any other kind: `host.sources.objects`). Events are awaited through `emit` in order, so a slow
consumer slows the watch instead of growing a queue. A digest may also produce events from the
passage of time (`tick`, e.g. a pod pending for too long); the source calls it every
`TICK_SECONDS` while it runs.

Between the digest and `emit` stands a `Gate`: each change's events pass it with the change's
stream (`ResourceSource.stream`) and position (its resourceVersion; a list's for a re-list), and
the gate is told once they were emitted. Without leader election the gate lets everything
through; with it, `host.sources.handover.HandOver` holds a standby's events and records what the
leader handled. Ticks run only while the gate says so (a standby does not tick).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Any, Protocol

import structlog

from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.kube.watch import RELISTED, Watcher
from host.model.events import Event
from host.model.resources import Resource
from host.sources.scopes import Emit, EventCounts, run_scopes, scopes

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
TICK_SECONDS = 1.0


class Digest(Protocol):
    """Turns one resource's lists and changes into events."""

    def relist(self, items: list[Obj], *, namespace: str | None, baseline: bool) -> list[Event]:
        """A complete list of one scope: the baseline (prime state, usually no events) or a re-list."""
        ...

    def apply(self, kind: str, obj: Obj) -> list[Event]:
        """One watch event (ADDED / MODIFIED / DELETED)."""
        ...

    def tick(self, now: float) -> list[Event]:
        """Events due by the clock alone (none for most kinds)."""
        ...


class Gate(Protocol):
    """What passes from a source's digest to `emit` (see the module docstring)."""

    @property
    def ticking(self) -> bool:
        """Whether the clock's events (`Digest.tick`) are wanted now."""
        ...

    def admit(self, stream: str, position: str, events: list[Event]) -> list[Event]:
        """The events of the change at `position` of `stream`; returns those to emit now."""
        ...

    def handled(self, stream: str, position: str) -> None:
        """The events admitted for every change of `stream` up to `position` were emitted."""
        ...


class OpenGate:
    """Everything through, ticks always: a host that does not elect a leader."""

    ticking = True

    def admit(self, stream: str, position: str, events: list[Event]) -> list[Event]:
        return events

    def handled(self, stream: str, position: str) -> None:
        return None


def _position(obj: Obj) -> str:
    meta = obj.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
    return str(version) if version else ""


class ResourceSource:
    """One resource, in all namespaces or in each of `config.namespaces`, through one digest."""

    def __init__(
        self,
        kube: KubeClient,
        resource: Resource,
        digest: Digest,
        config: ClusterConfig,
        *,
        counts: EventCounts | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.digest = digest
        self.config = config
        self.counts = counts if counts is not None else EventCounts()
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watchers: dict[str | None, Watcher] = {}
        self.baselined: set[str | None] = set()  # scopes whose first list has been digested
        self._scopes: list[str | None] = scopes(config.namespaces if resource.namespaced else [])
        self._clock = clock
        self.gate: Gate = OpenGate()

    def stream(self, namespace: str | None) -> str:
        """The name of one scope's watch: resource, selectors and namespace (`*`: all)."""
        selectors = "".join(
            f"?{label}={value}"
            for label, value in (("labels", self.label_selector), ("fields", self.field_selector))
            if value
        )
        return f"{self.resource.key}{selectors}@{namespace or '*'}"

    @property
    def synced(self) -> bool:
        """Every scope has its baseline: a change from now on is seen as a change."""
        return set(self._scopes) <= self.baselined

    async def run(self, emit: Emit) -> None:
        """Follow every scope until cancelled; an exception from `emit` ends the source."""
        namespaces = self.config.namespaces if self.resource.namespaced else []

        async def counted(event: Event) -> None:
            self.counts.add(event.kind)
            await emit(event)

        async def follow(namespace: str | None) -> None:
            await self._follow(namespace, counted)

        ticker = asyncio.create_task(self._tick(counted), name=f"tick-{self.resource.key}")
        try:
            await run_scopes(namespaces, follow)
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)

    async def _follow(self, namespace: str | None, emit: Emit) -> None:
        watcher = Watcher(
            self.kube,
            self.resource,
            namespace=namespace,
            config=self.config,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        self.watchers[namespace] = watcher
        stream = self.stream(namespace)
        baseline = True
        async with aclosing(watcher.events()) as events:
            async for kind, obj in events:
                if kind == RELISTED:
                    items = [item for item in obj.get("items") or [] if isinstance(item, dict)]
                    produced = self.digest.relist(items, namespace=namespace, baseline=baseline)
                    if baseline:
                        log.info(
                            "source.baseline",
                            resource=self.resource.key,
                            namespace=namespace or "*",
                            objects=len(items),
                        )
                        self.baselined.add(namespace)
                    baseline = False
                else:
                    produced = self.digest.apply(kind, obj)
                position = _position(obj)
                produced = self.gate.admit(stream, position, produced)
                for event in produced:
                    await emit(event)
                if position:
                    self.gate.handled(stream, position)
                if produced:
                    # Let the invocations just queued start before the next change is digested: a
                    # replayed backlog then runs in the workflows' children while the host reads on,
                    # instead of the whole backlog being digested (and held) before the first runs.
                    await asyncio.sleep(0)

    async def _tick(self, emit: Emit) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if not self.gate.ticking:
                continue
            for event in self.digest.tick(self._clock()):
                await emit(event)
