"""`pod.probeFailing`: a container's liveness, readiness or startup probe keeps failing.

Read from core/v1 Events (type `Warning`, reason `Unhealthy`, `involvedObject` a Pod with
`fieldPath` `spec.containers{app}` or `spec.initContainers{...}` for a sidecar), which the kubelet
records on each failed probe: `Liveness probe failed: HTTP probe failed with statuscode: 500`,
`Readiness probe failed: dial tcp 10.0.0.5:8080: connect: connection refused`, `Startup probe
errored and resulted in unknown state: ...`. The kubelet's event recorder folds repeats into one
Event whose `count` grows, prefixes messages with `(combined from similar events): ` once ten
differing ones arrived within ten minutes, and lets through only about one event per five minutes
per pod once a burst is spent — so a probe failing for hours produces an event every few minutes,
not one per probe period.

**Episode**, per (pod — its uid, else namespace/name —, container, probe type): from the first
`Unhealthy` event until no `Unhealthy` event for that key arrived for `quiet_seconds` (default 600:
more than the recorder's five-minute refill, so a throttled but ongoing failure stays one episode).
Liveness and readiness failing on the same container are separate episodes; a message with no
recognizable probe type is its own key (`probe` None).

**Baseline**: the Warning source discards Events already present when the host starts; pass them
with `observe(event, baseline=True)` to prime the tracker: an `Unhealthy` Event last seen (its
`series.lastObservedTime`, `lastTimestamp`, `eventTime` or creation time) less than `quiet_seconds`
ago is an episode in progress, so the next occurrence is not reported. An older one primes nothing.

Memory is bounded: episodes older than `quiet_seconds` are dropped as new events arrive, and at
most `max_episodes` are kept (the least recently seen dropped first). The clock is wall time (epoch
seconds, `time.time`), because baseline priming compares it with the Events' timestamps.

`Derived`: `container`, `reason` = `Unhealthy`, `message` = the Event's message, `probe` =
`liveness` / `readiness` / `startup` (None when the message names none).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, get, parse_time, text

UNHEALTHY = "Unhealthy"
WARNING = "Warning"
QUIET_SECONDS = 600.0
MAX_EPISODES = 50_000

_FIELD_PATH = re.compile(r"^spec\.(?:containers|initContainers|ephemeralContainers)\{([^}]+)\}$")
_PROBE = re.compile(r"^(?:\(combined from similar events\):\s*)?(liveness|readiness|startup) probe\b", re.I)

Key = tuple[str, str | None, str | None]  # (pod uid or namespace/name, container, probe type)


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """What an `Unhealthy` Event says: which pod and container, which probe, and the message."""

    pod: str  # the pod's uid, else "namespace/name"
    namespace: str | None
    name: str | None
    container: str | None
    probe: str | None
    message: str | None

    @property
    def key(self) -> Key:
        return (self.pod, self.container, self.probe)


def container_of(field_path: object) -> str | None:
    """`spec.containers{app}` -> `app` (None for anything else, e.g. a pod-level event)."""
    match = _FIELD_PATH.match(field_path) if isinstance(field_path, str) else None
    return match.group(1) if match else None


def probe_type(message: object) -> str | None:
    """`liveness` / `readiness` / `startup` from the kubelet's message, else None."""
    match = _PROBE.match(message.strip()) if isinstance(message, str) else None
    return match.group(1).lower() if match else None


def parse_unhealthy(event: Obj) -> ProbeFailure | None:
    """The probe failure a core/v1 Event reports, or None when it is not a Pod's `Unhealthy` Warning."""
    if event.get("reason") != UNHEALTHY or event.get("type", WARNING) != WARNING:
        return None
    involved = event.get("involvedObject")
    if not isinstance(involved, dict) or involved.get("kind") != "Pod":
        return None
    namespace = text(involved.get("namespace")) or text(get(event, "metadata", "namespace"))
    name = text(involved.get("name"))
    pod = text(involved.get("uid")) or (f"{namespace or ''}/{name}" if name else None)
    if pod is None:
        return None
    message = text(event.get("message"))
    return ProbeFailure(
        pod=pod,
        namespace=namespace,
        name=name,
        container=container_of(involved.get("fieldPath")),
        probe=probe_type(message),
        message=message,
    )


def last_seen(event: Obj) -> float | None:
    """When the Event last happened, as epoch seconds (None when it carries no timestamp)."""
    for value in (
        get(event, "series", "lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
        get(event, "metadata", "creationTimestamp"),
    ):
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None


class ProbeTracker:
    """Probe-failure episodes by key, each reported once (see the module docstring)."""

    def __init__(
        self,
        quiet_seconds: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.time,
        *,
        max_episodes: int = MAX_EPISODES,
    ) -> None:
        if quiet_seconds <= 0:
            raise ValueError("quiet_seconds must be > 0")
        if max_episodes < 1:
            raise ValueError("max_episodes must be >= 1")
        self.quiet_seconds = float(quiet_seconds)
        self.clock = clock
        self.max_episodes = max_episodes
        self._last_seen: OrderedDict[Key, float] = OrderedDict()  # least recently seen first

    def __len__(self) -> int:
        return len(self._last_seen)

    def observe(self, event: Obj, *, baseline: bool = False) -> list[Derived]:
        """One new occurrence of an Event: `pod.probeFailing` when it starts an episode."""
        failure = parse_unhealthy(event)
        if failure is None:
            return []
        now = self.clock()
        self._expire(now)
        key = failure.key
        if baseline:
            seen = last_seen(event)
            seen = now if seen is None else min(seen, now)
            if now - seen < self.quiet_seconds and seen >= self._last_seen.get(key, seen):
                self._touch(key, seen)
            return []
        previous = self._last_seen.get(key)
        self._touch(key, now)
        if previous is not None and now - previous < self.quiet_seconds:
            return []
        return [
            Derived(
                "pod.probeFailing",
                container=failure.container,
                reason=UNHEALTHY,
                message=failure.message,
                probe=failure.probe,
            )
        ]

    def _touch(self, key: Key, seen: float) -> None:
        self._last_seen[key] = seen
        self._last_seen.move_to_end(key)
        while len(self._last_seen) > self.max_episodes:
            self._last_seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        """Drop episodes that ended, from the least recently seen, until one is still going."""
        while self._last_seen:
            key, seen = next(iter(self._last_seen.items()))
            if now - seen < self.quiet_seconds:
                return
            del self._last_seen[key]
