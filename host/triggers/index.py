"""`TriggerIndex`: (event kind, namespace) -> the workflows' compiled triggers, rebuilt when the registry changes.

`match(event)` answers which workflows this event starts; the rate limiter then decides whether
each may start now for this subject. Triggers are compiled once (selectors by a linear parser,
name patterns into linear-time globs) and checked against the caps when a workflow loads, so an
event costs only the triggers of its kind and namespace, each in time linear in the event.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from host.config import LimitsConfig
from host.errors import WfhostError
from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.triggers.glob import Glob
from host.triggers.selectors import parse_selector

log = structlog.get_logger(__name__)

MAX_NAMESPACES_PER_TRIGGER = 256


class TriggerError(WfhostError, ValueError):
    """A trigger past a cap or with a bad selector; the workflow declaring it is refused."""


@dataclass(frozen=True)
class CompiledTrigger:
    on: str
    namespaces: frozenset[str]
    labels: Callable[[Mapping[str, str]], bool] | None
    name: Glob | None
    resource: str | None = None


@functools.lru_cache(maxsize=4096)
def _compile(
    on: str, namespaces: tuple[str, ...], selector: str | None, pattern: str | None, resource: str | None
) -> CompiledTrigger:
    return CompiledTrigger(
        on=on, namespaces=frozenset(namespaces),
        labels=parse_selector(selector) if selector else None,
        name=Glob(pattern) if pattern else None,
        resource=resource,
    )


def compile_trigger(spec: TriggerSpec) -> CompiledTrigger:
    """Raise ValueError (naming the bad term) for a bad selector."""
    return _compile(spec.on, tuple(spec.namespaces), spec.label_selector, spec.name_pattern, spec.resource)


def check_triggers(triggers: Sequence[TriggerSpec], caps: LimitsConfig) -> list[CompiledTrigger]:
    """Check the caps before any parsing, then compile; raise TriggerError saying what is wrong."""
    if len(triggers) > caps.max_triggers_per_workflow:
        raise TriggerError(f"declares {len(triggers)} triggers; at most {caps.max_triggers_per_workflow} are allowed")
    for i, t in enumerate(triggers):
        if t.label_selector is not None and len(t.label_selector) > caps.max_selector_length:
            raise TriggerError(f"triggers[{i}].labelSelector is longer than {caps.max_selector_length} characters")
        if t.name_pattern is not None and len(t.name_pattern) > caps.max_pattern_length:
            raise TriggerError(f"triggers[{i}].namePattern is longer than {caps.max_pattern_length} characters")
        if len(t.namespaces) > MAX_NAMESPACES_PER_TRIGGER:
            raise TriggerError(f"triggers[{i}] names more than {MAX_NAMESPACES_PER_TRIGGER} namespaces")
    compiled = []
    for i, t in enumerate(triggers):
        try:
            compiled.append(compile_trigger(t))
        except ValueError as exc:
            raise TriggerError(f"triggers[{i}]: {exc}") from exc
    return compiled


class _HasTriggers(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def triggers(self) -> list[TriggerSpec]: ...


@dataclass(frozen=True)
class _Entry:
    order: int
    workflow: str
    trigger: CompiledTrigger


@dataclass
class _Kind:
    anywhere: list[_Entry]
    by_namespace: dict[str, list[_Entry]]


class TriggerIndex:
    def __init__(self) -> None:
        self._by_kind: dict[str, _Kind] = {}

    def rebuild(self, workflows: Sequence[_HasTriggers]) -> None:
        by_kind: dict[str, _Kind] = {}
        order = 0
        for wf in workflows:
            for spec in wf.triggers:
                try:
                    trigger = compile_trigger(spec)
                except ValueError as exc:
                    log.error("triggers.bad_selector", workflow=wf.name, error=str(exc))
                    continue
                entry = _Entry(order, wf.name, trigger)
                order += 1
                kind = by_kind.setdefault(spec.on, _Kind([], {}))
                if not trigger.namespaces:
                    kind.anywhere.append(entry)
                for ns in trigger.namespaces:
                    kind.by_namespace.setdefault(ns, []).append(entry)
        self._by_kind = by_kind

    def kinds(self) -> set[str]:
        return set(self._by_kind)

    def match(self, event: Event) -> list[str]:
        """Names of the workflows this event starts (each at most once, in load order)."""
        kind = self._by_kind.get(event.kind)
        if kind is None:
            return []
        ns = event.namespace
        candidates = kind.anywhere
        if ns is not None and ns in kind.by_namespace:
            candidates = sorted([*candidates, *kind.by_namespace[ns]], key=lambda e: e.order)
        names: list[str] = []
        seen: set[str] = set()
        labels: Mapping[str, str] | None = None
        name = event.subject.name if event.subject else (event.target.pod if event.target else None)
        for entry in candidates:
            if entry.workflow in seen:
                continue
            t = entry.trigger
            if t.resource is not None and t.resource != event.resource:
                continue
            if t.name is not None and (name is None or not t.name.match(name)):
                continue
            if t.labels is not None:
                if labels is None:
                    labels = _labels(event)
                if not t.labels(labels):
                    continue
            seen.add(entry.workflow)
            names.append(entry.workflow)
        return names


def _labels(event: Event) -> Mapping[str, str]:
    if event.object is not None and event.kind != "k8s.warningEvent":
        labels = (event.object.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            return labels
    if event.pod is not None:
        labels = event.pod.get("labels")
        if isinstance(labels, dict):
            return labels
    if event.alert is not None:
        labels = event.alert.get("labels")
        if isinstance(labels, dict):
            return labels
    return {}


# Change events promise one run per real change of the object, so the limiter never drops them.
UNLIMITED_KINDS = frozenset({"manual", "k8s.create", "k8s.update", "k8s.delete"})


class RateLimiter:
    """At most one start per (workflow, subject) per interval; manual and change events are never limited."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self.limited = 0

    def allow(self, workflow: str, event: Event) -> bool:
        if self.interval <= 0 or event.kind in UNLIMITED_KINDS or event.subject is None:
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
