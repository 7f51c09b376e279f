"""`pod.pending`: a v1 Pod the scheduler could not place for longer than a threshold.

The scheduler writes `PodScheduled=False` with reason `Unschedulable` and a message saying why
(`0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {...}.`), and keeps
updating that message on each attempt while `lastTransitionTime` stays when it first failed. Being
unschedulable for a moment is normal (the cluster autoscaler adds a node, a preemption frees room),
so this needs time: `PendingTracker` reports a pod once it has been unscheduled for
`threshold_seconds` (`triggers.podPendingSeconds`).

**Episode**: from the pod's `PodScheduled` turning `False` — any reason but `SchedulingGated`, so
also the rarer `SchedulerError` (the reported `reason` is the condition's) — until it is scheduled
(`PodScheduled=True` or `spec.nodeName` set), finishes, starts being deleted, or is forgotten
(`forget(uid)`: the pod was deleted). A bound pod never goes back to unscheduled, so this is in
practice once per pod. Pods held by scheduling gates (`SchedulingGated`, e.g. queued by Kueue) are
waiting on purpose: their clock starts only when the gates are lifted and the scheduler fails.

**Where the clock starts**: when the tracker first sees a pod already unscheduled — at the baseline
or on a create — its condition's `lastTransitionTime` (when parseable, and not in the future of
`clock`), else `clock()`. So a pod that has been unschedulable for an hour when the host starts is
reported at the first `due()`: it is a current problem, unlike the edge events the baseline
discards (once per host start; the threshold protects only from brief waits). A pod first seen
gated and then ungated starts at `clock()`, since the condition's `lastTransitionTime` kept the time
it was gated.

Memory is bounded: at most `max_pods` episodes (the oldest dropped first, which could report a
dropped pod again if it is seen again). `due` uses a heap of deadlines, so calling it often is
cheap; `next_due()` says when to call it next. The clock is wall time (epoch seconds, `time.time`)
because `lastTransitionTime` is.

`Derived`: `reason` = the condition's reason (`Unschedulable`), `message` = the scheduler's
message, both from the latest state observed; `due` returns that state with it.
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, condition, get, parse_time, text
from host.sources.semantic._objects import uid as uid_of

POD_SCHEDULED = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"
SCHEDULING_GATED = "SchedulingGated"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
MAX_PODS = 50_000


@dataclass
class _Episode:
    pod: Obj
    since: float | None  # None while the pod is gated (waiting on purpose)
    seq: int = 0
    fired: bool = False


def unscheduled_reason(pod: Obj) -> str | None:
    """The `PodScheduled=False` reason of a pod still waiting for a node, else None."""
    if text(get(pod, "spec", "nodeName")) or get(pod, "metadata", "deletionTimestamp"):
        return None
    if text(get(pod, "status", "phase")) in FINISHED_PHASES:
        return None
    scheduled = condition(pod, POD_SCHEDULED)
    if scheduled is None or scheduled.get("status") != "False":
        return None
    return text(scheduled.get("reason")) or UNSCHEDULABLE


class PendingTracker:
    """Unscheduled pods by uid, each reported once when it has waited `threshold_seconds`."""

    def __init__(
        self, threshold_seconds: float, clock: Callable[[], float] = time.time, *, max_pods: int = MAX_PODS
    ) -> None:
        if threshold_seconds < 0:
            raise ValueError("threshold_seconds must be >= 0")
        if max_pods < 1:
            raise ValueError("max_pods must be >= 1")
        self.threshold_seconds = float(threshold_seconds)
        self.clock = clock
        self.max_pods = max_pods
        self._episodes: OrderedDict[str, _Episode] = OrderedDict()
        self._deadlines: list[tuple[float, int, str]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._episodes)

    def observe(self, pod: Obj) -> None:
        """Any state of a pod (baseline, create, update): starts, keeps or ends its episode."""
        key = uid_of(pod)
        if key is None:
            return
        reason = unscheduled_reason(pod)
        if reason is None:
            self.forget(key)
            return
        episode = self._episodes.get(key)
        if reason == SCHEDULING_GATED:
            if episode is None:
                self._add(key, _Episode(pod=pod, since=None))
            elif episode.since is None:
                episode.pod = pod
            else:
                self.forget(key)  # cannot happen (gates are only ever removed); start over if it does
                self._add(key, _Episode(pod=pod, since=None))
            return
        if episode is None:
            self._start(key, _Episode(pod=pod, since=self._first_seen_since(pod)))
        elif episode.since is None:
            episode.pod = pod
            episode.since = self.clock()
            self._arm(key, episode)
        else:
            episode.pod = pod

    def forget(self, uid: str) -> None:
        """The pod is gone: end its episode (its heap entry is dropped lazily)."""
        self._episodes.pop(uid, None)

    def due(self, now: float | None = None) -> list[tuple[Derived, Obj]]:
        """Episodes whose wait reached the threshold by `now` (default `clock()`), each returned once."""
        now = self.clock() if now is None else now
        found: list[tuple[Derived, Obj]] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, seq, key = heapq.heappop(self._deadlines)
            episode = self._episodes.get(key)
            if episode is None or episode.seq != seq or episode.fired:
                continue
            episode.fired = True
            scheduled = condition(episode.pod, POD_SCHEDULED) or {}
            derived = Derived(
                "pod.pending",
                reason=text(scheduled.get("reason")) or UNSCHEDULABLE,
                message=text(scheduled.get("message")),
            )
            found.append((derived, episode.pod))
        return found

    def next_due(self) -> float | None:
        """When the earliest pending episode will be due (None when none is waiting to be reported)."""
        while self._deadlines:
            deadline, seq, key = self._deadlines[0]
            episode = self._episodes.get(key)
            if episode is not None and episode.seq == seq and not episode.fired:
                return deadline
            heapq.heappop(self._deadlines)
        return None

    def _first_seen_since(self, pod: Obj) -> float:
        now = self.clock()
        since = parse_time((condition(pod, POD_SCHEDULED) or {}).get("lastTransitionTime"))
        return now if since is None else min(since, now)

    def _start(self, key: str, episode: _Episode) -> None:
        self._add(key, episode)
        self._arm(key, episode)

    def _add(self, key: str, episode: _Episode) -> None:
        self._episodes[key] = episode
        while len(self._episodes) > self.max_pods:
            self._episodes.popitem(last=False)

    def _arm(self, key: str, episode: _Episode) -> None:
        if episode.since is None:
            return
        self._seq += 1
        episode.seq = self._seq
        heapq.heappush(self._deadlines, (episode.since + self.threshold_seconds, episode.seq, key))
        if len(self._deadlines) > 2 * len(self._episodes) + 64:
            self._compact()

    def _compact(self) -> None:
        """Drop heap entries of episodes that ended or were reported (bounds the heap by the episodes)."""
        self._deadlines = [
            entry
            for entry in self._deadlines
            if (episode := self._episodes.get(entry[2])) is not None
            and episode.seq == entry[1]
            and not episode.fired
        ]
        heapq.heapify(self._deadlines)
