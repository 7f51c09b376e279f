"""The object store: current objects, one cluster-wide resourceVersion counter, and change history.

It plays etcd's part. Every write gets the next resourceVersion (one counter for every kind, as
in a real cluster), is encoded to JSON once, and is appended to a bounded history that watches
replay from. History older than the retained window is compacted away; asking for it raises
410 Expired, exactly like a compacted etcd. Listeners (watch streams, the kubelet) are told
about each change synchronously, on the event loop that owns the store.

Stored objects are never mutated after they are stored: callers get a fresh copy with
`Stored.copy()` before they change anything.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host.localcluster import status

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def encode(obj: Any) -> bytes:
    """Compact JSON, the way the API server writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Stored:
    """One version of one object: the decoded dict (read-only by convention) and its JSON."""

    obj: Obj
    raw: bytes
    rv: int

    def copy(self) -> Obj:
        """A private, mutable deep copy."""
        copied: Obj = json.loads(self.raw)
        return copied

    @property
    def uid(self) -> str:
        return str(self.obj.get("metadata", {}).get("uid", ""))


@dataclass(slots=True)
class Change:
    """One write, as watches see it. For DELETED, `new` is the final state at the deletion's version."""

    rv: int
    type: str
    resource: str
    key: Key
    new: Stored
    old: Stored | None
    _line: bytes | None = field(default=None, repr=False)

    def line(self) -> bytes:
        """The watch event line for this change, encoded once and shared by every watcher."""
        if self._line is None:
            self._line = b'{"type":"' + self.type.encode() + b'","object":' + self.new.raw + b"}\n"
        return self._line


Listener = Callable[[Change], None]


class Store:
    """Objects by resource and key, the version counter, history and listeners."""

    def __init__(self, *, history_window: int, first_rv: int = 1000) -> None:
        self._objects: dict[str, dict[Key, Stored]] = {}
        self._rv = first_rv
        self._history: deque[Change] = deque()
        self._compacted_rv = first_rv
        self._window = history_window
        self._listeners: dict[str, list[Listener]] = {}

    # -- reading ---------------------------------------------------------------------------

    @property
    def current_rv(self) -> int:
        return self._rv

    @property
    def compacted_rv(self) -> int:
        """Versions below this one are gone from history."""
        return self._compacted_rv

    def get(self, resource: str, key: Key) -> Stored | None:
        return self._objects.get(resource, {}).get(key)

    def items(self, resource: str, namespace: str | None = None) -> list[tuple[Key, Stored]]:
        """Current objects of one resource sorted by key, optionally in one namespace."""
        objects = self._objects.get(resource, {})
        found = [(k, v) for k, v in objects.items() if namespace is None or k[0] == namespace]
        found.sort(key=lambda kv: kv[0])
        return found

    def snapshot(self, resource: str, namespace: str | None, rv: int) -> list[tuple[Key, Stored]]:
        """Objects of one resource as they were at version `rv`, rebuilt by undoing later history."""
        if rv >= self._rv:
            return self.items(resource, namespace)
        self._require_history(rv)
        state = dict(self._objects.get(resource, {}))
        for change in reversed(self._history):
            if change.rv <= rv:
                break
            if change.resource != resource:
                continue
            if change.old is None:
                state.pop(change.key, None)
            else:
                state[change.key] = change.old
        found = [(k, v) for k, v in state.items() if namespace is None or k[0] == namespace]
        found.sort(key=lambda kv: kv[0])
        return found

    def changes_since(self, rv: int, resource: str) -> list[Change]:
        """Every retained change of `resource` newer than `rv`; 410 Expired when history no longer reaches it."""
        self._require_history(rv)
        newer: list[Change] = []
        for change in reversed(self._history):
            if change.rv <= rv:
                break
            if change.resource == resource:
                newer.append(change)
        newer.reverse()
        return newer

    def _require_history(self, rv: int) -> None:
        if rv < self._compacted_rv:
            raise status.expired(f"too old resource version: {rv} ({self._compacted_rv})")

    # -- writing ---------------------------------------------------------------------------

    def put(self, resource: str, key: Key, obj: Obj) -> Stored:
        """Store `obj` (taking ownership of it) under the next version; ADDED or MODIFIED."""
        old = self._objects.get(resource, {}).get(key)
        stored = self._stamp(obj)
        self._objects.setdefault(resource, {})[key] = stored
        self._record(Change(stored.rv, ADDED if old is None else MODIFIED, resource, key, stored, old))
        return stored

    def remove(self, resource: str, key: Key, last: Obj | None = None) -> Stored | None:
        """Delete the object; its final state (`last`, else as stored) carries the deletion's version."""
        old = self._objects.get(resource, {}).pop(key, None)
        if old is None:
            return None
        final = self._stamp(last if last is not None else old.copy())
        self._record(Change(final.rv, DELETED, resource, key, final, old))
        return final

    def _stamp(self, obj: Obj) -> Stored:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        return Stored(obj, encode(obj), self._rv)

    def _record(self, change: Change) -> None:
        self._history.append(change)
        while len(self._history) > self._window:
            dropped = self._history.popleft()
            self._compacted_rv = dropped.rv
        for listener in tuple(self._listeners.get(change.resource, ())):
            listener(change)

    # -- history and listeners -------------------------------------------------------------

    def compact(self) -> int:
        """Forget all history: any version below the current one now answers 410."""
        self._history.clear()
        self._compacted_rv = self._rv
        return self._compacted_rv

    def set_history_window(self, size: int) -> None:
        self._window = max(1, size)
        while len(self._history) > self._window:
            self._compacted_rv = self._history.popleft().rv

    def subscribe(self, resource: str, listener: Listener) -> Callable[[], None]:
        """Call `listener` synchronously with every change of `resource`; returns the unsubscribe function."""
        self._listeners.setdefault(resource, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(resource, [])
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe
