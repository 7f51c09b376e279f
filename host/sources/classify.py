"""Edge-triggered classification of pod changes: what happened between two states of one pod.

`classify(old, new, memory)` compares the last known raw pod with the new one and returns the
events that transition produced, each exactly once per transition, never once per update:

- `pod.create` (old is None), `pod.delete` (`deleted=True`, `new` is the final state), and
  `pod.update` with `changes` naming what changed; an update that changes nothing in `CHANGE_KEYS`
  (e.g. only `managedFields` or `resourceVersion`) produces no `pod.update` at all;
- `pod.crashLoop` when a container enters waiting `CrashLoopBackOff`. A crash loop cycles through
  running -> terminated -> CrashLoopBackOff on every restart; it fires once per *episode*, not once
  per restart. The episode ends when the container's last run lasted `CRASHLOOP_RESET_SECONDS`
  (the kubelet resets its own back-off after the same time), so a pod that crashes again after a
  long healthy run is reported again;
- `pod.oomKilled` for each new termination record with reason `OOMKilled`, in `state` or
  `lastState`. A record is identified by container, `startedAt` and `finishedAt` (or, lacking
  timestamps, by the restart it ended: restartCount for `state`, restartCount-1 for `lastState`),
  so the record moving from `state` to `lastState` on restart does not fire again;
- `pod.imagePullBackOff` when a container enters `ErrImagePull` or `ImagePullBackOff` from any
  other state; the kubelet flipping between those two does not fire again;
- `pod.evicted` when `status.reason` becomes `Evicted`.

`memory` (one `PodMemory` per pod, owned by the tracker) holds what old/new alone cannot: the
containers in a crash-loop episode and the OOM records already reported. Init containers count
like containers; ephemeral (debug) containers do not.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from host.config import EventKind
from host.sources.semantic._objects import get as _get
from host.sources.semantic._objects import text as _text

Obj = dict[str, Any]

CRASHLOOP = "CrashLoopBackOff"
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})
OOM_KILLED = "OOMKilled"
EVICTED = "Evicted"
CRASHLOOP_RESET_SECONDS = 600.0
MAX_OOM_RECORDS = 64


@dataclass(frozen=True, slots=True)
class Derived:
    """One classified event, before it becomes an `Event` (the source adds pod and subject)."""

    kind: EventKind
    changes: tuple[str, ...] | None = None
    container: str | None = None
    reason: str | None = None
    message: str | None = None
    restart_count: int | None = None
    probe: str | None = None  # pod.probeFailing: liveness / readiness / startup


@dataclass
class PodMemory:
    """Per-pod state of the edge detectors that the previous pod object cannot hold."""

    crashlooping: set[str] = field(default_factory=set)
    oom_records: OrderedDict[tuple[str, str, str], None] = field(default_factory=OrderedDict)

    def remember_oom(self, key: tuple[str, str, str]) -> bool:
        """Record an OOM record; False when it was already known."""
        if key in self.oom_records:
            return False
        self.oom_records[key] = None
        while len(self.oom_records) > MAX_OOM_RECORDS:
            self.oom_records.popitem(last=False)
        return True


def _container_statuses(pod: Obj | None) -> list[Obj]:
    if pod is None:
        return []
    found: list[Obj] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        statuses = _get(pod, "status", key)
        if isinstance(statuses, list):
            found.extend(s for s in statuses if isinstance(s, dict) and _text(s.get("name")))
    return found


def _restarts(status: Obj) -> int:
    """`restartCount`, 0 when it is missing or not a count."""
    count = status.get("restartCount")
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0


def _waiting_reason(status: Obj | None) -> str | None:
    reason = _get(status, "state", "waiting", "reason")
    return reason if isinstance(reason, str) else None


def _conditions(pod: Obj) -> list[tuple[Any, ...]]:
    conditions = _get(pod, "status", "conditions")
    found = [
        (c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
        for c in (conditions if isinstance(conditions, list) else [])
        if isinstance(c, dict)
    ]
    try:
        return sorted(found)
    except TypeError:  # values of different types (never from an API server): any fixed order
        return sorted(found, key=repr)


def _containers(pod: Obj, key: str) -> list[tuple[Any, Any]]:
    containers = _get(pod, "spec", key)
    return [(c.get("name"), c.get("image")) for c in (containers if isinstance(containers, list) else [])
            if isinstance(c, dict)]


# What `pod.update` reports as `changes`, each with how to read it from a raw pod.
CHANGE_KEYS: dict[str, Any] = {
    "phase": lambda p: _get(p, "status", "phase"),
    "containerStatuses": lambda p: _get(p, "status", "containerStatuses"),
    "initContainerStatuses": lambda p: _get(p, "status", "initContainerStatuses"),
    "ephemeralContainerStatuses": lambda p: _get(p, "status", "ephemeralContainerStatuses"),
    "conditions": _conditions,
    "labels": lambda p: _get(p, "metadata", "labels") or {},
    "annotations": lambda p: _get(p, "metadata", "annotations") or {},
    "nodeName": lambda p: _get(p, "spec", "nodeName"),
    "deletionTimestamp": lambda p: _get(p, "metadata", "deletionTimestamp"),
    "reason": lambda p: _get(p, "status", "reason"),
    "message": lambda p: _get(p, "status", "message"),
    "podIP": lambda p: _get(p, "status", "podIP"),
    "containers": lambda p: _containers(p, "containers"),
    "ephemeralContainers": lambda p: _containers(p, "ephemeralContainers"),
}


# The top-level part of a pod each reader of `CHANGE_KEYS` reads, and nothing else: where that part
# is equal in both states (one comparison in C), so is every reading of it, and the readers are
# skipped. A label patch then costs three comparisons and three readers instead of fourteen pairs.
_SECTION_OF: dict[str, str] = {
    "phase": "status", "containerStatuses": "status", "initContainerStatuses": "status",
    "ephemeralContainerStatuses": "status", "conditions": "status", "reason": "status",
    "message": "status", "podIP": "status",
    "labels": "metadata", "annotations": "metadata", "deletionTimestamp": "metadata",
    "nodeName": "spec", "containers": "spec", "ephemeralContainers": "spec",
}


def changed_keys(old: Obj, new: Obj) -> tuple[str, ...]:
    """Names from `CHANGE_KEYS` whose value differs between the two states (in `CHANGE_KEYS` order)."""
    same = {section: old.get(section) == new.get(section) for section in ("status", "metadata", "spec")}
    return tuple(
        name for name, read in CHANGE_KEYS.items() if not same[_SECTION_OF[name]] and read(old) != read(new)
    )


def classify(old: Obj | None, new: Obj, memory: PodMemory, *, deleted: bool = False) -> list[Derived]:
    """The events of the transition old -> new (old None: the pod is new to us)."""
    derived: list[Derived] = []
    if old is None:
        derived.append(Derived("pod.create"))
    elif not deleted:
        changes = changed_keys(old, new)
        if changes:
            derived.append(Derived("pod.update", changes=changes))
    # The edge detectors read only the status: an unchanged one holds no transition (and any OOM
    # record in it was remembered when it appeared).
    if old is None or old.get("status") != new.get("status"):
        derived.extend(_crashloops(old, new, memory))
        derived.extend(_ooms(new, memory))
        derived.extend(_image_pulls(old, new))
        derived.extend(_evictions(old, new))
    if deleted:
        derived.append(Derived("pod.delete"))
    return derived


def _crashloops(old: Obj | None, new: Obj, memory: PodMemory) -> list[Derived]:
    before = {s["name"]: _waiting_reason(s) for s in _container_statuses(old)}
    found: list[Derived] = []
    for status in _container_statuses(new):
        name = status["name"]
        if _waiting_reason(status) != CRASHLOOP:
            continue
        if before.get(name) == CRASHLOOP:
            continue  # still in back-off: not a transition
        new_episode = name not in memory.crashlooping or _last_run_seconds(status) >= CRASHLOOP_RESET_SECONDS
        memory.crashlooping.add(name)
        if new_episode:
            found.append(
                Derived(
                    "pod.crashLoop",
                    container=name,
                    reason=CRASHLOOP,
                    message=_text(_get(status, "state", "waiting", "message")),
                    restart_count=_restarts(status),
                )
            )
    return found


def _last_run_seconds(status: Obj) -> float:
    """How long the container's previous run lasted (0 when unknown)."""
    started = _parse_time(_get(status, "lastState", "terminated", "startedAt"))
    finished = _parse_time(_get(status, "lastState", "terminated", "finishedAt"))
    if started is None or finished is None:
        return 0.0
    return max(0.0, (finished - started).total_seconds())


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ooms(new: Obj, memory: PodMemory) -> list[Derived]:
    found: list[Derived] = []
    for status in _container_statuses(new):
        name = status["name"]
        restarts = _restarts(status)
        for where, ended_restart in (("lastState", restarts - 1), ("state", restarts)):
            record = _get(status, where, "terminated")
            if not isinstance(record, dict) or record.get("reason") != OOM_KILLED:
                continue
            finished = record.get("finishedAt")
            if finished:
                key = (name, str(record.get("startedAt") or ""), str(finished))
            else:
                key = (name, "restart", str(ended_restart))
            if memory.remember_oom(key):
                found.append(
                    Derived("pod.oomKilled", container=name, reason=OOM_KILLED, restart_count=restarts)
                )
    return found


def _image_pulls(old: Obj | None, new: Obj) -> list[Derived]:
    before = {s["name"]: _waiting_reason(s) for s in _container_statuses(old)}
    found: list[Derived] = []
    for status in _container_statuses(new):
        reason = _waiting_reason(status)
        if reason not in IMAGE_PULL_REASONS or before.get(status["name"]) in IMAGE_PULL_REASONS:
            continue
        found.append(
            Derived(
                "pod.imagePullBackOff",
                container=status["name"],
                reason=reason,
                message=_text(_get(status, "state", "waiting", "message")),
                restart_count=_restarts(status),
            )
        )
    return found


def _evictions(old: Obj | None, new: Obj) -> list[Derived]:
    if _get(new, "status", "reason") != EVICTED or (
        old is not None and _get(old, "status", "reason") == EVICTED
    ):
        return []
    return [Derived("pod.evicted", reason=EVICTED, message=_text(_get(new, "status", "message")))]
