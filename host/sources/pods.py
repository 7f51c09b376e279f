"""`PodSource`: pod watches -> classified, normalized pod events.

One `Watcher` per scope (all namespaces, or each configured namespace) feeds a shared
`PodTracker`; every change it classifies becomes an `Event` with the pod in protocol shape and is
awaited through `emit` in order, so a slow consumer slows the watch instead of growing a queue.
The first list of each scope is the baseline: pods that exist when the host starts produce no
events (see `host.sources.tracker`).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import structlog

from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.kube.resources import PODS
from host.kube.watch import RELISTED, Watcher
from host.model.events import Event
from host.sources.classify import Derived
from host.sources.normalize import normalize_pod, pod_subject
from host.sources.scopes import Emit, EventCounts, ScopedSource
from host.sources.tracker import PodTracker

log = structlog.get_logger(__name__)


def pod_event(derived: Derived, pod: dict[str, Any]) -> Event:
    """The `Event` for one classified change of `pod`."""
    return Event(
        kind=derived.kind,
        subject=pod_subject(pod),
        pod=normalize_pod(pod),
        changes=list(derived.changes) if derived.changes is not None else None,
        container=derived.container,
        reason=derived.reason,
        message=derived.message,
        restart_count=derived.restart_count,
    )


class PodSource(ScopedSource):
    """Pods across all namespaces or `config.namespaces`, as `pod.*` events."""

    def __init__(
        self,
        kube: KubeClient,
        config: ClusterConfig,
        *,
        tracker: PodTracker | None = None,
        counts: EventCounts | None = None,
        label_selector: str | None = None,
    ) -> None:
        self.kube = kube
        self.config = config
        self.tracker = tracker if tracker is not None else PodTracker()
        self.counts = counts if counts is not None else EventCounts()
        self.label_selector = label_selector
        self.watchers: dict[str | None, Watcher] = {}

    async def _follow(self, namespace: str | None, emit: Emit) -> None:
        watcher = Watcher(
            self.kube, PODS, namespace=namespace, config=self.config, label_selector=self.label_selector
        )
        self.watchers[namespace] = watcher
        baseline = True
        async with aclosing(watcher.events()) as events:
            async for kind, obj in events:
                if kind == RELISTED:
                    changes = self.tracker.relist(
                        obj.get("items") or [], namespace=namespace, baseline=baseline
                    )
                    if baseline:
                        log.info("pod baseline", namespace=namespace or "*", pods=len(obj.get("items") or []))
                    baseline = False
                else:
                    changes = self.tracker.apply(kind, obj)
                for derived, pod in changes:
                    event = pod_event(derived, pod)
                    self.counts.add(event.kind)
                    await emit(event)
