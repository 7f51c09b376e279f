"""`Ledger`: per watch stream, the position up to which every event's invocations have finished.

A source digests a stream's changes in order, but their invocations finish in any order (one
workflow is slower than another, one queue longer). A mark that only moved once an event was
*queued* would let a SIGKILL lose what was queued and not yet run; so the leader's mark for a
stream (`HandledRecord`) moves only past changes whose every invocation has finished (and so
stored its findings: `host.findings`). For each event still open the ledger keeps its stream's
*floor*, the position reached before its change; a stream's mark is the floor of its oldest open
event, or, with none open, the last position reached.
"""

from __future__ import annotations

from collections import OrderedDict


class Ledger:
    """Open events and reached positions, by stream; `marks()` is what is safe to record."""

    def __init__(self) -> None:
        self._reached: dict[str, str] = {}
        self._open: dict[str, OrderedDict[str, str]] = {}  # stream -> event id -> floor
        self._stream_of: dict[str, str] = {}  # event id -> stream
        self._invocations: dict[str, int] = {}  # event id -> invocations not finished

    def reached(self, stream: str) -> str:
        return self._reached.get(stream, "")

    def reach(self, stream: str, position: str) -> None:
        """Every change of `stream` up to `position` was digested and its events opened."""
        self._reached[stream] = position

    def open(self, stream: str, event_id: str, *, floor: str | None = None) -> None:
        """An event about to be emitted; `floor` defaults to the stream's position reached so far."""
        self._open.setdefault(stream, OrderedDict())[event_id] = self.reached(stream) if floor is None else floor
        self._stream_of[event_id] = stream

    def queued(self, event_id: str, invocations: int) -> None:
        """The event was emitted and queued `invocations` invocations (0: it is done)."""
        if event_id not in self._stream_of:
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
        return len(self._stream_of)

    def marks(self) -> dict[str, str]:
        """Per stream, the position at or below which every change's invocations have finished."""
        marks: dict[str, str] = {}
        for stream in self._reached.keys() | self._open.keys():
            events = self._open.get(stream)
            mark = next(iter(events.values())) if events else self.reached(stream)
            if mark:
                marks[stream] = mark
        return marks

    def _close(self, event_id: str) -> None:
        self._invocations.pop(event_id, None)
        stream = self._stream_of.pop(event_id, None)
        if stream is None:
            return
        events = self._open.get(stream)
        if events is not None:
            events.pop(event_id, None)
            if not events:
                del self._open[stream]
