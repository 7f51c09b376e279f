"""`TriggerIndex`: event kind -> (workflow, filters), rebuilt whenever the registry changes.

`match(event)` answers which workflows this event starts; the rate limiter then decides whether
each may start now for this subject.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.triggers.selectors import parse_selector
from host.workflows.loaded import LoadedWorkflow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Entry:
    workflow: str
    spec: TriggerSpec
    labels: Callable[[Mapping[str, str]], bool] | None


class TriggerIndex:
    def __init__(self) -> None:
        self._by_kind: dict[str, list[_Entry]] = {}

    def rebuild(self, workflows: list[LoadedWorkflow]) -> None:
        by_kind: dict[str, list[_Entry]] = {}
        for wf in workflows:
            for spec in wf.triggers:
                labels = None
                if spec.label_selector:
                    try:
                        labels = parse_selector(spec.label_selector)
                    except ValueError as exc:
                        log.error("triggers.bad_selector", workflow=wf.name, selector=spec.label_selector, error=str(exc))
                        continue
                by_kind.setdefault(spec.on, []).append(_Entry(wf.name, spec, labels))
        self._by_kind = by_kind

    def kinds(self) -> set[str]:
        return set(self._by_kind)

    def match(self, event: Event) -> list[str]:
        """Names of the workflows this event starts (each at most once)."""
        names: list[str] = []
        for entry in self._by_kind.get(event.kind, []):
            if entry.workflow in names:
                continue
            if _accepts(entry, event):
                names.append(entry.workflow)
        return names


def _accepts(entry: _Entry, event: Event) -> bool:
    spec = entry.spec
    ns = event.namespace
    if spec.namespaces and ns not in spec.namespaces:
        return False
    name = event.subject.name if event.subject else (event.target.pod if event.target else None)
    if spec.name_pattern and (name is None or not fnmatch.fnmatchcase(name, spec.name_pattern)):
        return False
    if entry.labels is not None:
        labels = _labels(event)
        if not entry.labels(labels):
            return False
    return True


def _labels(event: Event) -> Mapping[str, str]:
    if event.pod is not None:
        labels = event.pod.get("labels")
        if isinstance(labels, dict):
            return labels
    if event.alert is not None:
        labels = event.alert.get("labels")
        if isinstance(labels, dict):
            return labels
    return {}


class RateLimiter:
    """At most one start per (workflow, subject) per interval; manual events are never limited."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self.limited = 0

    def allow(self, workflow: str, event: Event) -> bool:
        if self.interval <= 0 or event.kind == "manual" or event.subject is None:
            return True
        subject = event.subject
        key = (workflow, f"{subject.kind}:{subject.namespace}/{subject.name}")
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self.limited += 1
            return False
        self._last[key] = now
        if len(self._last) > 50_000:
            cutoff = now - self.interval
            self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        return True
