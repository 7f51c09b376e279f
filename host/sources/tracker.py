"""`PodTracker`: the last known state of every pod, so each change is classified exactly once.

Watch events and re-lists both flow through here:

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

Deleted uids are remembered (bounded) so a late event for a deleted pod cannot resurrect it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from host.sources.classify import Derived, PodMemory, classify

Obj = dict[str, Any]
Change = tuple[Derived, Obj]  # the classified event and the pod state it is about

MAX_TOMBSTONES = 50_000


@dataclass
class _Known:
    pod: Obj
    version: str
    memory: PodMemory = field(default_factory=PodMemory)

    @property
    def namespace(self) -> str | None:
        ns = self.pod.get("metadata", {}).get("namespace")
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


class PodTracker:
    """Known pods by uid, with their classification memory."""

    def __init__(self) -> None:
        self._pods: dict[str, _Known] = {}
        self._by_name: dict[tuple[str | None, str], str] = {}
        self._tombstones: OrderedDict[str, None] = OrderedDict()
        self.ignored_stale = 0

    def __len__(self) -> int:
        return len(self._pods)

    def get(self, uid: str) -> Obj | None:
        known = self._pods.get(uid)
        return known.pod if known is not None else None

    def find(self, namespace: str | None, name: str) -> Obj | None:
        """The known pod with this namespace and name (None when unknown)."""
        uid = self._by_name.get((namespace, name))
        return self.get(uid) if uid is not None else None

    def apply(self, kind: str, pod: Obj) -> list[Change]:
        """One watch event (ADDED / MODIFIED / DELETED)."""
        uid = _uid(pod)
        if uid is None or uid in self._tombstones:
            return []
        known = self._pods.get(uid)
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
            known = self._pods.get(uid)
            if baseline and known is None:
                entry = _Known(pod=pod, version=_version(pod))
                classify(None, pod, entry.memory)  # prime the edge detectors; events discarded
                self._insert(uid, entry)
            elif known is None:
                changes.extend(self._create(uid, pod))
            else:
                changes.extend(self._update(known, pod))
        gone = [
            uid
            for uid, known in self._pods.items()
            if uid not in seen and (namespace is None or known.namespace == namespace)
        ]
        for uid in gone:
            changes.extend(self._delete(uid, final=None))
        return changes

    def _create(self, uid: str, pod: Obj) -> list[Change]:
        entry = _Known(pod=pod, version=_version(pod))
        self._insert(uid, entry)
        return [(derived, pod) for derived in classify(None, pod, entry.memory)]

    def _insert(self, uid: str, entry: _Known) -> None:
        self._pods[uid] = entry
        self._by_name[(entry.namespace, str(_meta(entry.pod).get("name") or ""))] = uid

    def _update(self, known: _Known, pod: Obj) -> list[Change]:
        version = _version(pod)
        if is_stale(version, known.version):
            self.ignored_stale += 1
            return []
        old = known.pod
        known.pod = pod
        known.version = version
        return [(derived, pod) for derived in classify(old, pod, known.memory)]

    def _delete(self, uid: str, *, final: Obj | None) -> list[Change]:
        known = self._pods.pop(uid, None)
        if known is not None:
            key = (known.namespace, str(_meta(known.pod).get("name") or ""))
            if self._by_name.get(key) == uid:
                del self._by_name[key]
        self._tombstones[uid] = None
        while len(self._tombstones) > MAX_TOMBSTONES:
            self._tombstones.popitem(last=False)
        if known is None:
            if final is None:
                return []
            # A delete for a pod we never saw (it came and went between two of our views).
            return [(derived, final) for derived in classify(None, final, PodMemory(), deleted=True)]
        last = final if final is not None else known.pod
        return [(derived, last) for derived in classify(known.pod, last, known.memory, deleted=True)]
