"""`Ledger`: per watch stream, which changes' invocations have all finished, as a `HandledRecord`.

A source digests a stream's changes in order, but their invocations finish in any order (one
workflow is slower than another, one queue longer). A record that moved once an event was
*queued* would let a SIGKILL lose what was queued and not yet run; so a change counts as
handled only once every invocation of every event it produced has finished (and so stored its
findings: `host.findings`).

Per stream the ledger keeps the changes with events still above the mark, in order, each with
the number of its events not finished and its *floor* (the position reached before it). The
stream's mark is the floor of its oldest unfinished change, or, with none, the last position
reached; the finished changes above the mark are listed as `done`, so one slow invocation holds
back only itself, not every change after it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from host.sources.handled import HandledRecord


@dataclass
class _Stream:
    reached: str = ""
    open: OrderedDict[str, int] = field(default_factory=OrderedDict)  # position -> events unfinished
    floors: dict[str, str] = field(default_factory=dict)  # position -> the position reached before it

    def collect(self) -> None:
        """Drop the finished changes at the front: the mark has passed them."""
        while self.open:
            position, unfinished = next(iter(self.open.items()))
            if unfinished > 0:
                return
            del self.open[position]
            self.floors.pop(position, None)


class Ledger:
    """Unfinished events and reached positions, by stream; `record()` is what is safe to write."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._events: dict[str, tuple[str, str]] = {}  # event id -> (stream, position)
        self._invocations: dict[str, int] = {}  # event id -> invocations not finished

    def fresh(self) -> Ledger:
        """A ledger with the positions reached and nothing open: a new leadership's, whose events
        of an earlier leadership (still running, or never to finish) no longer count."""
        ledger = Ledger()
        for name, known in self._streams.items():
            ledger.reach(name, known.reached)
        return ledger

    def reached(self, stream: str) -> str:
        known = self._streams.get(stream)
        return known.reached if known is not None else ""

    def reach(self, stream: str, position: str) -> None:
        """Every change of `stream` up to `position` was digested and its events opened."""
        self._streams.setdefault(stream, _Stream()).reached = position

    def open(self, stream: str, position: str, event_id: str, *, floor: str | None = None) -> None:
        """An event of the change at `position`, about to be emitted; `floor` defaults to the
        stream's position reached so far."""
        known = self._streams.setdefault(stream, _Stream())
        if position not in known.open:
            known.open[position] = 0
            known.floors[position] = known.reached if floor is None else floor
        known.open[position] += 1
        self._events[event_id] = (stream, position)

    def queued(self, event_id: str, invocations: int) -> None:
        """The event was emitted and queued `invocations` invocations (0: it is done)."""
        if event_id not in self._events:
            return
        if invocations <= 0:
            self._close(event_id)
        else:
            self._invocations[event_id] = invocations

    def finished(self, event_id: str) -> None:
        """One invocation of the event finished (unknown ids, e.g. manual events, are ignored)."""
        left = self._invocations.get(event_id)
        if left is None:
            return
        if left <= 1:
            self._close(event_id)
        else:
            self._invocations[event_id] = left - 1

    @property
    def open_events(self) -> int:
        return len(self._events)

    def record(self) -> HandledRecord:
        """Per stream, the mark and the finished changes above it."""
        marks: dict[str, str] = {}
        done: dict[str, tuple[str, ...]] = {}
        for name, known in self._streams.items():
            if known.open:
                oldest = next(iter(known.open))
                mark = known.floors[oldest]
                finished = tuple(position for position, left in known.open.items() if left == 0)
                if finished:
                    done[name] = finished
            else:
                mark = known.reached
            if mark:
                marks[name] = mark
        return HandledRecord(marks, done)

    def _close(self, event_id: str) -> None:
        self._invocations.pop(event_id, None)
        stream, position = self._events.pop(event_id)
        known = self._streams[stream]
        known.open[position] -= 1
        known.collect()
