"""`HandOver`: the gate between the sources and the dispatcher when hosts elect a leader.

Every replica runs the sources (watches and trackers: no dispatch), so a standby's view of the
cluster is as current as the leader's and a new leader needs no baseline. What the gate does
with the events of each change depends on the replica's role:

- **standby**: they are kept as *pending*, with their stream and position (the change's
  resourceVersion). Each time the elector reads the Lease, the leader's `HandledRecord` drops the
  pending events it covers, so what stays is what this replica saw and the leader has not yet
  recorded as handled. They are kept as their compact JSON, not as objects (a pod update carries
  the pod twice, and parsed it takes several times its JSON's size), and bounded by count
  (`MAX_PENDING`) and by bytes (`MAX_PENDING_BYTES`), the oldest dropped and logged.
- **taking over**: the pending events the old leader's last record does not cover are emitted
  (these are the transitions of the gap); then the replica leads. A replica whose watch lagged
  behind the old leader's drops the changes it digests later that the record still covers.
- **leading**: events pass straight through. The host tells the gate how many invocations each
  event queued (`queued`) and when each finished (`finished`); a stream's mark moves past a change
  once all of its invocations finished (`host.sources.ledger`), and `on_handled` asks the elector
  to write the record soon (`host.leader`). So a SIGKILL loses nothing that was queued: what
  had not finished is above the mark and fires again on the new leader.

The Lease annotations the elector writes come from `annotations()`: while leading, the old
record with this replica's marks over it; otherwise the record last read (a new leader's winning
write carries the old record on until its own is complete; a leader that stops keeps its final
record so its release writes it). A Lease with no record at all (no leader has recorded yet, or
an older version led) gives nothing to compare with: the new leader fires none of its pending
events, as before.

A leader that stops cleanly drains first (`drain`): new events are held as a standby's are,
while the invocations already queued finish (or are dropped by the dispatcher's close) and
keep being recorded, so the release writes a record that covers exactly what ran, and the
next leader fires the rest once.

Events from the clock (`tick`: a pod pending too long) are not gated: a standby does not tick, so
its timers fire what came due once it leads, even what the old leader already fired.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

import structlog

from host import wirejson
from host.model.events import Event
from host.sources.handled import HandledRecord
from host.sources.ledger import Ledger

log = structlog.get_logger(__name__)

MAX_PENDING = 20_000
MAX_PENDING_BYTES = 64 * 1024 * 1024  # of JSON: with the chart's 2Gi limit, room for the rest
DROP_LOG_EVERY = 1000

Emit = Callable[[Event], Awaitable[None]]


class Role(enum.Enum):
    STANDBY = "standby"
    TAKING_OVER = "taking_over"
    LEADING = "leading"
    DRAINING = "draining"  # leading, stopping: events held, invocations still recorded


class _Pending(NamedTuple):
    stream: str
    position: str
    kind: str
    wire: bytes  # the event's compact JSON: `Event.wire()`, read back at take-over

    @classmethod
    def of(cls, stream: str, position: str, event: Event) -> _Pending:
        return cls(stream, position, event.kind, wirejson.dumps_line(event.wire()))

    def event(self) -> Event:
        return Event.model_validate(wirejson.loads(self.wire))


class HandOver:
    """Holds a standby's events until it leads; records what the leader handled. See the module."""

    def __init__(
        self,
        emit: Emit,
        *,
        on_handled: Callable[[], None] = lambda: None,
        max_pending: int = MAX_PENDING,
        max_pending_bytes: int = MAX_PENDING_BYTES,
    ) -> None:
        self._emit = emit
        self.on_handled = on_handled
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.pending_bytes = 0
        self.role = Role.STANDBY
        self._pending: deque[_Pending] = deque()
        self.ledger = Ledger()
        self._record: HandledRecord | None = None  # the record read last (or ours, frozen at stand-by)
        self.dropped = 0  # pending events dropped past `max_pending`
        self.fired_at_takeover = 0
        self.skipped_at_takeover = 0

    # -- the sources' side (`host.sources.follow.Gate`) --------------------------------------
    @property
    def ticking(self) -> bool:
        return self.role in (Role.TAKING_OVER, Role.LEADING)

    def admit(self, stream: str, position: str, events: list[Event]) -> list[Event]:
        """The events of one change: emit them now (leading), or keep them pending (standby)."""
        if self.role in (Role.TAKING_OVER, Role.LEADING) or not events:
            if events and self._record is not None and self._record.covers(stream, position):
                return []  # a lagging new leader: the old one handled this change already
            for event in events:
                self.ledger.open(stream, position, event.id)
            return events
        for event in events:
            item = _Pending.of(stream, position, event)
            self._pending.append(item)
            self.pending_bytes += len(item.wire)
        while self._pending and (
            len(self._pending) > self.max_pending or self.pending_bytes > self.max_pending_bytes
        ):
            lost = self._pending.popleft()
            self.pending_bytes -= len(lost.wire)
            self.dropped += 1
            if self.dropped % DROP_LOG_EVERY == 1:  # the first, then one line per thousand
                log.warning("handover.pending_dropped", stream=lost.stream, position=lost.position,
                            event_kind=lost.kind, max_pending=self.max_pending,
                            max_pending_bytes=self.max_pending_bytes, dropped=self.dropped)
        return []

    def handled(self, stream: str, position: str) -> None:
        """Every event of `stream` up to `position` was admitted (and, leading, emitted)."""
        if self.role is Role.DRAINING:
            return  # what it held is the next leader's: the record must not pass it
        self.ledger.reach(stream, position)
        self._moved()

    # -- the host's side ---------------------------------------------------------------------
    def queued(self, event_id: str, invocations: int) -> None:
        """An emitted event queued this many invocations."""
        self.ledger.queued(event_id, invocations)
        self._moved()

    def finished(self, event_id: str) -> None:
        """One invocation of an event finished (its findings are stored)."""
        self.ledger.finished(event_id)
        self._moved()

    def _moved(self) -> None:
        if self.role in (Role.LEADING, Role.DRAINING):
            self.on_handled()

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- the elector's side (`host.leader.LeaseNotes`) --------------------------------------
    def observed(self, annotations: Mapping[str, str]) -> None:
        """The Lease's annotations as just read; a standby drops the pending events they cover."""
        record = HandledRecord.from_annotations(annotations)
        if record is None or self.role is not Role.STANDBY:
            return
        self._record = record
        if self._pending:
            self._pending = deque(p for p in self._pending if not record.covers(p.stream, p.position))
            self.pending_bytes = sum(len(p.wire) for p in self._pending)

    def annotations(self) -> dict[str, str]:
        """The record to write into the Lease now (empty when there is none yet)."""
        if self.role in (Role.LEADING, Role.DRAINING):
            return self._own().annotations()
        return self._record.annotations() if self._record is not None else {}

    # -- the role ----------------------------------------------------------------------------
    async def take_over(self) -> None:
        """Emit the pending events the old leader's record does not cover, then lead."""
        self.role = Role.TAKING_OVER
        self.ledger = self.ledger.fresh()
        pending, self._pending = list(self._pending), deque()
        self.pending_bytes = 0
        record = self._record
        fired = skipped = 0
        floors = dict(record.marks) if record is not None else {}
        for item in pending:
            if record is None or record.covers(item.stream, item.position):
                skipped += 1
            else:
                event = item.event()
                self.ledger.open(item.stream, item.position, event.id, floor=floors.get(item.stream, ""))
                await self._emit(event)
                fired += 1
            floors[item.stream] = item.position  # the change before the next one of its stream
        self.fired_at_takeover, self.skipped_at_takeover = fired, skipped
        self.role = Role.LEADING
        log.info("handover.took_over", fired=fired, skipped=skipped, record=record is not None,
                 streams=len(record.marks) if record is not None else 0)
        self.on_handled()

    def drain(self) -> None:
        """A leader about to stop: hold new events, keep recording what finishes."""
        if self.role is Role.LEADING:
            self.role = Role.DRAINING
            log.info("handover.draining", open_events=self.ledger.open_events)

    def stand_by(self) -> None:
        """Stop emitting: from now on events are pending; our final record stays to be written."""
        if self.role in (Role.LEADING, Role.DRAINING):
            self._record = self._own()
        self.role = Role.STANDBY

    def _own(self) -> HandledRecord:
        return (self._record or HandledRecord()).merged(self.ledger.record())
