"""Pods -> classified pod events (`pod.*`), each carrying the normalized `Pod` and the full object.

`PodDigest` feeds a `PodTracker` (baseline, relist diff, edge-triggered classification:
`host.sources.tracker`, `host.sources.classify`) and builds an `Event` per classified change, with
the pod in the protocol's flattened shape (`event.pod`) and as the API server sent it
(`event.object`; `event.oldObject` for updates). `PodSource` is `ResourceSource` over pods with
this digest. The first list of each scope is the baseline: pods that exist when the host starts
produce no events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.model.events import Event
from host.model.resources import PODS
from host.sources.classify import Derived
from host.sources.follow import ResourceSource
from host.sources.guard import guarded
from host.sources.normalize import normalize_pod
from host.sources.objects import object_event
from host.sources.scopes import EventCounts
from host.sources.tracker import Change, Classifier, PodTracker

Obj = dict[str, Any]


def pod_event(derived: Derived, pod: Obj, old: Obj | None = None) -> Event:
    """The `Event` for one classified change of `pod` (`old`: the state before, for updates)."""
    return object_event(PODS, derived, pod, old, pod=normalize_pod(pod))


class PodDigest:
    """Pods through a `PodTracker`; `wants` filters the event kinds that leave."""

    def __init__(
        self,
        tracker: PodTracker | None = None,
        *,
        wants: Callable[[str], bool] = lambda kind: True,
        timers: Sequence[Any] = (),
    ) -> None:
        self.tracker = tracker if tracker is not None else PodTracker()
        self.wants = wants
        self.timers = tuple(timers)

    def _events(self, changes: list[Change]) -> list[Event]:
        for change in changes:
            for timer in self.timers:
                if change.derived.kind == "pod.delete":
                    uid = (change.obj.get("metadata") or {}).get("uid")
                    if isinstance(uid, str):
                        timer.forget(uid)
                else:
                    timer.observe(change.obj)
        return [pod_event(c.derived, c.obj, c.old) for c in changes if self.wants(c.derived.kind)]

    def relist(self, items: list[Obj], *, namespace: str | None, baseline: bool) -> list[Event]:
        def work() -> list[Event]:
            changes = self.tracker.relist(items, namespace=namespace, baseline=baseline)
            if baseline:
                for pod in items:
                    for timer in self.timers:
                        timer.observe(pod)
            return self._events(changes)

        return guarded(PODS.key, "relist", {"metadata": {"namespace": namespace}}, work)

    def apply(self, kind: str, obj: Obj) -> list[Event]:
        return guarded(PODS.key, kind, obj, lambda: self._events(self.tracker.apply(kind, obj)))

    def tick(self, now: float) -> list[Event]:
        """Events the timers say are due (each timer keeps its own clock: pending time is wall time)."""
        due: list[Event] = []
        for timer in self.timers:
            due.extend(pod_event(derived, pod) for derived, pod in timer.due() if self.wants(derived.kind))
        return due


class PodSource(ResourceSource):
    """Pods across all namespaces or `config.namespaces`, as `pod.*` events."""

    def __init__(
        self,
        kube: KubeClient,
        config: ClusterConfig,
        *,
        tracker: PodTracker | None = None,
        counts: EventCounts | None = None,
        label_selector: str | None = None,
        wants: Callable[[str], bool] = lambda kind: True,
        extra: Sequence[Classifier] = (),
        timers: Sequence[Any] = (),
    ) -> None:
        if tracker is None:
            tracker = PodTracker(extra)
        self.tracker = tracker
        super().__init__(
            kube, PODS, PodDigest(tracker, wants=wants, timers=timers), config, counts=counts,
            label_selector=label_selector,
        )
