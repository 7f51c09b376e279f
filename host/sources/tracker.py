"""`ObjectTracker`: the last known state of every object of one kind, so each change is classified once.

It is generic over the kind: what a change *means* comes from its `Classifier`s (pods:
`host.sources.classify`; any kind: `host.sources.changes`; Jobs, Nodes, Deployments: the modules of
`host.sources.semantic`). `PodTracker` is the tracker with the pod classifier. Watch events and
re-lists both flow through here:

- The first list of a scope (a namespace, or all namespaces) is the **baseline**: its pods are
  recorded without events. Pods that already existed when the host started produce no
  `pod.create`, and conditions they were already in (a crash loop, an old OOM record) produce no
  edge event; only what changes afterwards does.
- A watch event is classified against the known state. An event whose resourceVersion was already
  seen (or is older than the known one) is ignored, so nothing is reported twice.
- A later re-list (after `410 Gone`) is diffed against the known state of that scope: pods we did
  not know are creates, pods whose version moved are updates (intermediate versions the server no
  longer has are coalesced into one transition), known pods missing from the list are deletes
  reported with their last known state. Nothing is lost and nothing is duplicated.

Deleted uids are remembered (bounded) so a late event for a deleted object cannot resurrect it.
Each `Change` carries the previous state too (None for a create), for `event.oldObject`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from host.sources.classify import Derived, PodMemory, classify

Obj = dict[str, Any]

MAX_TOMBSTONES = 50_000


class Change(NamedTuple):
    """One classified event, the object state it is about, and the state before (None: new to us)."""

    derived: Derived
    obj: Obj
    old: Obj | None = None


class Classifier(Protocol):
    """What the changes of one kind mean: a fresh per-object memory, and old -> new to events."""

    def memory(self) -> Any: ...

    def classify(self, old: Obj | None, new: Obj, memory: Any, *, deleted: bool) -> list[Derived]: ...


class PodClassifier:
    """`host.sources.classify` as a `Classifier`."""

    def memory(self) -> PodMemory:
        return PodMemory()

    def classify(self, old: Obj | None, new: Obj, memory: Any, *, deleted: bool) -> list[Derived]:
        return classify(old, new, memory, deleted=deleted)


@dataclass
class _Known:
    obj: Obj
    version: str
    memories: list[Any]

    @property
    def namespace(self) -> str | None:
        ns = self.obj.get("metadata", {}).get("namespace")
        return ns if isinstance(ns, str) else None


def _meta(pod: Obj) -> Obj:
    meta = pod.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _uid(pod: Obj) -> str | None:
    uid = _meta(pod).get("uid")
    return uid if isinstance(uid, str) and uid else None


def _version(pod: Obj) -> str:
    return str(_meta(pod).get("resourceVersion") or "")


def is_stale(version: str, known: str) -> bool:
    """True when `version` was already seen: equal, or (both numeric, as etcd's are) not newer."""
    if version == known:
        return True
    if version.isdigit() and known.isdigit():
        return int(version) <= int(known)
    return False


class ObjectTracker:
    """Known objects by uid, with each classifier's memory of them."""

    def __init__(self, classifiers: Sequence[Classifier]) -> None:
        self.classifiers = tuple(classifiers)
        self._objects: dict[str, _Known] = {}
        self._by_name: dict[tuple[str | None, str], str] = {}
        self._tombstones: OrderedDict[str, None] = OrderedDict()
        self.ignored_stale = 0

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, uid: str) -> Obj | None:
        known = self._objects.get(uid)
        return known.obj if known is not None else None

    def find(self, namespace: str | None, name: str) -> Obj | None:
        """The known pod with this namespace and name (None when unknown)."""
        uid = self._by_name.get((namespace, name))
        return self.get(uid) if uid is not None else None

    def apply(self, kind: str, pod: Obj) -> list[Change]:
        """One watch event (ADDED / MODIFIED / DELETED)."""
        uid = _uid(pod)
        if uid is None or uid in self._tombstones:
            return []
        known = self._objects.get(uid)
        if kind == "DELETED":
            return self._delete(uid, final=pod)
        if known is None:
            return self._create(uid, pod)
        return self._update(known, pod)

    def relist(self, items: Iterable[Obj], *, namespace: str | None, baseline: bool) -> list[Change]:
        """A complete list of one scope: the baseline (no events) or a diff against known state."""
        seen: set[str] = set()
        changes: list[Change] = []
        for pod in items:
            uid = _uid(pod)
            if uid is None or uid in self._tombstones:
                continue
            seen.add(uid)
            known = self._objects.get(uid)
            if baseline and known is None:
                entry = self._new_entry(pod)
                self._classify(None, pod, entry.memories, deleted=False)  # prime the edge detectors only
                self._insert(uid, entry)
            elif known is None:
                changes.extend(self._create(uid, pod))
            else:
                changes.extend(self._update(known, pod))
        gone = [
            uid
            for uid, known in self._objects.items()
            if uid not in seen and (namespace is None or known.namespace == namespace)
        ]
        for uid in gone:
            changes.extend(self._delete(uid, final=None))
        return changes

    def _new_entry(self, obj: Obj) -> _Known:
        return _Known(obj=obj, version=_version(obj), memories=[c.memory() for c in self.classifiers])

    def _classify(self, old: Obj | None, new: Obj, memories: list[Any], *, deleted: bool) -> list[Change]:
        return [
            Change(derived, new, old)
            for classifier, memory in zip(self.classifiers, memories, strict=True)
            for derived in classifier.classify(old, new, memory, deleted=deleted)
        ]

    def _create(self, uid: str, pod: Obj) -> list[Change]:
        entry = self._new_entry(pod)
        self._insert(uid, entry)
        return self._classify(None, pod, entry.memories, deleted=False)

    def _insert(self, uid: str, entry: _Known) -> None:
        self._objects[uid] = entry
        self._by_name[(entry.namespace, str(_meta(entry.obj).get("name") or ""))] = uid

    def _update(self, known: _Known, pod: Obj) -> list[Change]:
        version = _version(pod)
        if is_stale(version, known.version):
            self.ignored_stale += 1
            return []
        old = known.obj
        known.obj = pod
        known.version = version
        return self._classify(old, pod, known.memories, deleted=False)

    def _delete(self, uid: str, *, final: Obj | None) -> list[Change]:
        known = self._objects.pop(uid, None)
        if known is not None:
            key = (known.namespace, str(_meta(known.obj).get("name") or ""))
            if self._by_name.get(key) == uid:
                del self._by_name[key]
        self._tombstones[uid] = None
        while len(self._tombstones) > MAX_TOMBSTONES:
            self._tombstones.popitem(last=False)
        if known is None:
            if final is None:
                return []
            # A delete for an object we never saw (it came and went between two of our views).
            return self._classify(None, final, [c.memory() for c in self.classifiers], deleted=True)
        last = final if final is not None else known.obj
        return self._classify(known.obj, last, known.memories, deleted=True)


class PodTracker(ObjectTracker):
    """Known pods, classified by `host.sources.classify` (and any extra classifiers)."""

    def __init__(self, extra: Sequence[Classifier] = ()) -> None:
        super().__init__([PodClassifier(), *extra])
