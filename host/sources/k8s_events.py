"""`WarningEventSource`: core/v1 Events of type Warning -> `k8s.warningEvent`.

An Event object is updated in place when the same thing happens again (its `count` grows), so an
occurrence is identified by uid + count and reported once. The first list of each scope is the
baseline (Warnings already present when the host starts are not reported); a re-list after
`410 Gone` reports only occurrences not seen before. The server filters with `type=Warning`
(pass `field_selector=None` for servers that cannot); the type is checked here as well. When a `PodTracker` is shared with the pod
source, a Warning about a known pod carries that pod (no extra API call).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import structlog

from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.kube.resources import EVENTS
from host.kube.watch import RELISTED, Watcher
from host.model.events import Event
from host.sources.normalize import event_count, involved_subject, normalize_k8s_event, normalize_pod
from host.sources.scopes import Emit, EventCounts, ScopedSource
from host.sources.tracker import PodTracker

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
WARNING = "Warning"


def _uid(event: Obj) -> str | None:
    uid = (event.get("metadata") or {}).get("uid")
    return uid if isinstance(uid, str) and uid else None


class WarningTracker:
    """Warning occurrences already seen: uid -> highest count (with its namespace, for re-list scope)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str | None, int]] = {}

    def relist(self, items: list[Obj], *, namespace: str | None, baseline: bool) -> list[Obj]:
        """New occurrences in a full list (none for the baseline); forgets Events no longer listed."""
        fresh: list[Obj] = []
        listed: set[str] = set()
        for event in items:
            uid = _uid(event)
            if uid is None:
                continue
            listed.add(uid)
            if event.get("type") != WARNING:
                continue
            if baseline:
                self._mark(uid, event)
            elif self._is_new(uid, event):
                fresh.append(event)
        for uid in [u for u, (ns, _) in self._seen.items() if u not in listed and namespace in (None, ns)]:
            del self._seen[uid]
        return fresh

    def apply(self, kind: str, event: Obj) -> bool:
        """One watch event; True when it is a new Warning occurrence to report."""
        uid = _uid(event)
        if uid is None:
            return False
        if kind == "DELETED":
            self._seen.pop(uid, None)
            return False
        return event.get("type") == WARNING and self._is_new(uid, event)

    def _is_new(self, uid: str, event: Obj) -> bool:
        previous = self._seen.get(uid)
        if previous is not None and event_count(event) <= previous[1]:
            return False
        self._mark(uid, event)
        return True

    def _mark(self, uid: str, event: Obj) -> None:
        namespace = (event.get("metadata") or {}).get("namespace")
        self._seen[uid] = (namespace, event_count(event))


class WarningEventSource(ScopedSource):
    """Warning Events across all namespaces or `config.namespaces`, as `k8s.warningEvent`."""

    def __init__(
        self,
        kube: KubeClient,
        config: ClusterConfig,
        *,
        pods: PodTracker | None = None,
        counts: EventCounts | None = None,
        field_selector: str | None = "type=Warning",
    ) -> None:
        self.kube = kube
        self.config = config
        self.pods = pods
        self.counts = counts if counts is not None else EventCounts()
        self.field_selector = field_selector
        self.tracker = WarningTracker()
        self.watchers: dict[str | None, Watcher] = {}

    def to_event(self, raw: Obj) -> Event:
        subject = involved_subject(raw)
        pod: Obj | None = None
        if self.pods is not None and subject is not None and subject.kind == "Pod":
            known = self.pods.get(subject.uid) if subject.uid else None
            if known is None:
                known = self.pods.find(subject.namespace, subject.name)
            pod = normalize_pod(known) if known is not None else None
        normalized = normalize_k8s_event(raw)
        return Event(
            kind="k8s.warningEvent",
            subject=subject,
            k8s_event=normalized,
            pod=pod,
            reason=normalized["reason"],
            message=normalized["message"],
        )

    async def _follow(self, namespace: str | None, emit: Emit) -> None:
        watcher = Watcher(
            self.kube, EVENTS, namespace=namespace, config=self.config, field_selector=self.field_selector
        )
        self.watchers[namespace] = watcher
        baseline = True
        async with aclosing(watcher.events()) as events:
            async for kind, obj in events:
                if kind == RELISTED:
                    fresh = self.tracker.relist(
                        obj.get("items") or [], namespace=namespace, baseline=baseline
                    )
                    baseline = False
                elif self.tracker.apply(kind, obj):
                    fresh = [obj]
                else:
                    continue
                for raw in fresh:
                    event = self.to_event(raw)
                    self.counts.add(event.kind)
                    await emit(event)
