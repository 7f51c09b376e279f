"""`k8s.create`, `k8s.update`, `k8s.delete` for any kind, with the paths an update changed.

`changed_paths(old, new)` names what differs between two states of one object as dotted paths
(`spec.replicas`, `status.conditions`, `metadata.labels.app`), down to `MAX_DEPTH` levels; a list
that differs is one path (its elements are not compared one by one). What changes on every write
and says nothing (`metadata.resourceVersion`, `metadata.managedFields`) is ignored, so a write that
changed nothing else produces no `k8s.update` at all: an update fires once per real change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.sources.classify import Derived

Obj = dict[str, Any]

MAX_DEPTH = 4
MAX_PATHS = 64
IGNORED = frozenset({"metadata.resourceVersion", "metadata.managedFields"})


def changed_paths(old: Obj, new: Obj) -> tuple[str, ...]:
    """Dotted paths whose value differs between `old` and `new` (at most `MAX_PATHS`, sorted)."""
    found: list[str] = []
    _diff(old, new, "", 1, found)
    return tuple(sorted(found)[:MAX_PATHS])


def _diff(old: object, new: object, prefix: str, depth: int, found: list[str]) -> None:
    if len(found) >= MAX_PATHS * 4:
        return
    if isinstance(old, dict) and isinstance(new, dict) and depth <= MAX_DEPTH:
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if path in IGNORED:
                continue
            a, b = old.get(key), new.get(key)
            if a != b:
                _diff(a, b, path, depth + 1, found)
        return
    if old != new and prefix:
        found.append(prefix)


class ChangeClassifier:
    """The generic change events of one kind, computed only while some trigger wants them."""

    def __init__(self, wants: Callable[[str], bool] = lambda kind: True) -> None:
        self._wants = wants

    def memory(self) -> None:
        return None

    def classify(self, old: Obj | None, new: Obj, memory: Any, *, deleted: bool) -> list[Derived]:
        if deleted:
            return [Derived("k8s.delete")] if self._wants("k8s.delete") else []
        if old is None:
            return [Derived("k8s.create")] if self._wants("k8s.create") else []
        if not self._wants("k8s.update"):
            return []
        paths = changed_paths(old, new)
        return [Derived("k8s.update", changes=paths)] if paths else []
