"""`WarningEventSource`: core/v1 Events of type Warning -> `k8s.warningEvent`.

An Event object is updated in place when the same thing happens again (its `count` grows), so an
occurrence is identified by uid + count and reported once. The first list of each scope is the
baseline (Warnings already present when the host starts are not reported); a re-list after
`410 Gone` reports only occurrences not seen before. The server filters with `type=Warning`
(pass `field_selector=None` for servers that cannot); the type is checked here as well. When a `PodTracker` is shared with the pod
source, a Warning about a known pod carries that pod (no extra API call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from host.config import ClusterConfig
from host.kube.client import KubeClient
from host.model.events import Event, Subject
from host.model.resources import EVENTS, PODS
from host.sources.classify import Derived
from host.sources.follow import ResourceSource
from host.sources.guard import guarded
from host.sources.normalize import event_count, involved_subject, normalize_k8s_event, normalize_pod
from host.sources.objects import without_managed_fields
from host.sources.scopes import EventCounts
from host.sources.tracker import PodTracker

Obj = dict[str, Any]
WARNING = "Warning"


def _uid(event: Obj) -> str | None:
    meta = event.get("metadata")
    uid = meta.get("uid") if isinstance(meta, dict) else None
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


class Observer(Protocol):
    """Derives more events from Warning occurrences (e.g. `pod.probeFailing` from `Unhealthy`)."""

    def observe(self, event: Obj, *, baseline: bool = False) -> list[Derived]: ...


class WarningDigest:
    """Warning occurrences -> `k8s.warningEvent` (and whatever `extra` derives from them, e.g.
    `pod.probeFailing`), each with the pod when the shared `PodTracker` knows it."""

    def __init__(
        self,
        *,
        pods: Callable[[], PodTracker | None] = lambda: None,
        wants: Callable[[str], bool] = lambda kind: True,
        extra: Sequence[Observer] = (),
    ) -> None:
        self.tracker = WarningTracker()
        self.pods = pods
        self.wants = wants
        self.extra = tuple(extra)

    def _pod_of(self, subject: Subject | None) -> Obj | None:
        pods = self.pods()
        if pods is None or subject is None or subject.kind != "Pod":
            return None
        known = pods.get(subject.uid) if subject.uid else None
        if known is None:
            known = pods.find(subject.namespace, subject.name)
        return known

    def to_events(self, raw: Obj) -> list[Event]:
        subject = involved_subject(raw)
        known = self._pod_of(subject)
        pod = normalize_pod(known) if known is not None else None
        normalized = normalize_k8s_event(raw)
        events: list[Event] = []
        if self.wants("k8s.warningEvent"):
            events.append(Event(
                kind="k8s.warningEvent", subject=subject, k8s_event=normalized, pod=pod,
                reason=normalized["reason"], message=normalized["message"],
                resource=EVENTS.key, object=without_managed_fields(raw),
            ))
        for observer in self.extra:
            for derived in observer.observe(raw):
                if not self.wants(derived.kind):
                    continue
                events.append(Event(
                    kind=derived.kind, subject=subject, k8s_event=normalized, pod=pod,
                    container=derived.container, reason=derived.reason, message=derived.message,
                    probe=derived.probe, resource=PODS.key if known is not None else None,
                    object=without_managed_fields(known) if known is not None else None,
                ))
        return events

    def relist(self, items: list[Obj], *, namespace: str | None, baseline: bool) -> list[Event]:
        def work() -> list[Event]:
            fresh = self.tracker.relist(items, namespace=namespace, baseline=baseline)
            if baseline:
                for raw in items:
                    if raw.get("type") == WARNING:
                        for observer in self.extra:
                            observer.observe(raw, baseline=True)  # an ongoing episode: remembered, not reported
            return [event for raw in fresh for event in self.to_events(raw)]

        return guarded(EVENTS.key, "relist", {"metadata": {"namespace": namespace}}, work)

    def apply(self, kind: str, obj: Obj) -> list[Event]:
        return guarded(EVENTS.key, kind, obj, lambda: self.to_events(obj) if self.tracker.apply(kind, obj) else [])

    def tick(self, now: float) -> list[Event]:
        return []


class WarningEventSource(ResourceSource):
    """Warning Events across all namespaces or `config.namespaces`, as `k8s.warningEvent`."""

    def __init__(
        self,
        kube: KubeClient,
        config: ClusterConfig,
        *,
        pods: PodTracker | None = None,
        counts: EventCounts | None = None,
        field_selector: str | None = "type=Warning",
        wants: Callable[[str], bool] = lambda kind: True,
        extra: Sequence[Observer] = (),
    ) -> None:
        self.warnings = WarningDigest(pods=lambda: pods, wants=wants, extra=extra)
        super().__init__(kube, EVENTS, self.warnings, config, counts=counts, field_selector=field_selector)

    @property
    def tracker(self) -> WarningTracker:
        return self.warnings.tracker
