"""The outbox: each sink's pending deliveries, kept in the findings store beside the findings.

A finding and one outbox row per sink are written in one transaction (`FindingsStore.add`), so a
reported finding is either stored with every delivery it owes, or not at all. A `Deliverer` per
sink then works its rows off:

- **claim** the due rows (a lease, `claimed_until`, so a row is never handed out twice while its
  delivery runs); rows never tried before are due at once;
- **ack** a delivered row by deleting it, after the sink accepted it;
- **retry** a failed one: its attempts counted, its next attempt put off by the backoff
  (`findings.delivery.retryBackoff`, doubling per failure of that row, with jitter). While a retry
  fails, the sink's other retries pause (new findings still get their first try at once);
  when one succeeds, every row waiting for that sink becomes due: the receiver is back. The
  pause doubles with each retry that fails in a row (the same backoff, kept per sink), so a
  receiver that stays down sees a retry at most every `maxSeconds` once it has backed off.

On start, `recover()` releases every claim and makes every row due: what a killed host was
delivering, or had not yet tried, is delivered again. Delivery is therefore at least once: a
receiver can see a finding twice (the host died after the POST and before the ack) and tells the
copies apart by the finding id, which every sink sends (`Idempotency-Key` for the HTTP sinks).
`docs/reliability.md` states the guarantee.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from host.backoff import EQUAL, Backoff, BackoffSettings
from host.findings.sink import Sink
from host.findings.store import FindingsStore
from host.metrics import Metrics
from host.model.findings import Finding

log = structlog.get_logger(__name__)

CLAIM_BATCH = 32
LEASE_SECONDS = 600.0  # longer than any one delivery (timeout x retries); released on ack, retry or start


@dataclass(frozen=True)
class Delivery:
    """One outbox row: a finding (or an imported payload) owed to one sink."""

    id: int
    sink: str
    finding_id: str
    payload: str | None
    attempts: int


@dataclass
class DeliveryCounts:
    """Per sink, since this service started: deliveries made, and those whose first try failed."""

    delivered: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


class Outbox:
    def __init__(self, store: FindingsStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def claim(self, sink: str, *, limit: int = CLAIM_BATCH, retries: bool = True) -> list[Delivery]:
        """Lease up to `limit` due rows of `sink`, oldest due first; `retries=False` takes only rows
        never tried."""
        now = self.clock()

        def claim(conn: sqlite3.Connection) -> list[Delivery]:
            rows = conn.execute(
                "UPDATE outbox SET claimed_until = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE sink = ? AND next_attempt <= ? AND claimed_until <= ?"
                " AND (attempts = 0 OR ?) ORDER BY next_attempt, id LIMIT ?)"
                " RETURNING id, finding_id, payload, attempts, next_attempt",
                (now + LEASE_SECONDS, sink, now, now, retries, limit)).fetchall()
            rows.sort(key=lambda r: (r[4], r[0]))
            return [Delivery(id=r[0], sink=sink, finding_id=r[1], payload=r[2], attempts=r[3]) for r in rows]

        return await self.store.write(claim)

    async def ack(self, delivery: Delivery) -> None:
        await self.store.write(lambda conn: conn.execute("DELETE FROM outbox WHERE id = ?", (delivery.id,)))

    async def retry(self, delivery: Delivery, error: str, delay: float) -> None:
        """The attempt failed: count it and put the next one `delay` seconds off."""
        when = self.clock() + delay
        await self.store.write(lambda conn: conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, claimed_until = 0, last_error = ? "
            "WHERE id = ?", (when, error[:1000], delivery.id)))

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give claimed rows back untried."""
        if deliveries:
            await self.store.write(lambda conn: conn.executemany(
                "UPDATE outbox SET claimed_until = 0 WHERE id = ?", [(d.id,) for d in deliveries]))

    async def drop(self, delivery: Delivery) -> None:
        """Give up a row that can never be delivered (its finding is gone or unreadable)."""
        await self.ack(delivery)

    async def make_due(self, sink: str) -> int:
        """Every row of `sink` waiting for a later attempt becomes due now (its receiver is back)."""
        now = self.clock()
        return await self.store.write(lambda conn: conn.execute(
            "UPDATE outbox SET next_attempt = ? WHERE sink = ? AND next_attempt > ?", (now, sink, now)).rowcount)

    async def recover(self) -> dict[str, int]:
        """At start: every claim released and every row due now. Returns the rows per sink."""
        now = self.clock()

        def recover(conn: sqlite3.Connection) -> dict[str, int]:
            conn.execute("UPDATE outbox SET claimed_until = 0, next_attempt = min(next_attempt, ?)", (now,))
            return {str(sink): int(n) for sink, n in conn.execute("SELECT sink, count(*) FROM outbox GROUP BY sink")}

        return await self.store.write(recover)

    async def next_due(self, sink: str, *, retries: bool = True) -> float | None:
        """When the earliest row of `sink` becomes claimable (None: no row)."""

        def next_due(conn: sqlite3.Connection) -> float | None:
            (when,) = conn.execute(
                "SELECT min(max(next_attempt, claimed_until)) FROM outbox WHERE sink = ? AND (attempts = 0 OR ?)",
                (sink, retries)).fetchone()
            return None if when is None else float(when)

        return await self.store.read(next_due)

    async def pending(self, sink: str, *, failed_only: bool = False) -> int:
        """Rows of `sink` waiting; `failed_only`: those tried and failed at least once."""
        sql = "SELECT count(*) FROM outbox WHERE sink = ?" + (" AND attempts > 0" if failed_only else "")
        return int(await self.store.read(lambda conn: conn.execute(sql, (sink,)).fetchone()[0]))

    async def untried(self, sinks: Sequence[str]) -> int:
        """Rows of these sinks never tried yet (what `flush` waits for)."""
        if not sinks:
            return 0
        marks = ",".join("?" * len(sinks))
        sql = f"SELECT count(*) FROM outbox WHERE attempts = 0 AND sink IN ({marks})"
        return int(await self.store.read(lambda conn: conn.execute(sql, list(sinks)).fetchone()[0]))

    async def import_payload(self, sink: str, key: str, payload: str, created: float) -> bool:
        """A payload spooled by an earlier wfhost becomes a row of `sink` (once per key)."""
        now = self.clock()
        return await self.store.write(lambda conn: conn.execute(
            "INSERT INTO outbox (sink, finding_id, payload, next_attempt, created) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (sink, finding_id) DO NOTHING", (sink, key, payload, now, created)).rowcount == 1,
            durable=True)


Resolve = Callable[[Delivery], Awaitable[Finding | None]]


class Deliverer:
    """Works off one sink's outbox rows, one delivery at a time, until cancelled."""

    def __init__(
        self, sink: Sink, outbox: Outbox, *, backoff: BackoffSettings, resolve: Resolve, metrics: Metrics,
        counts: DeliveryCounts, clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.outbox = outbox
        self.backoff = Backoff(backoff, jitter=EQUAL)  # per row: its next attempt
        self.sink_backoff = Backoff(backoff, jitter=EQUAL)  # per sink: how long retries pause after one failed
        self.resolve = resolve
        self.metrics = metrics
        self.counts = counts
        self.clock = clock
        self._wake = asyncio.Event()
        self._retries_paused_until = 0.0
        counts.delivered.setdefault(sink.name, 0)
        counts.failed.setdefault(sink.name, 0)

    def wake(self) -> None:
        """A new row for this sink was committed."""
        self._wake.set()

    async def _idle(self, seconds: float | None) -> None:
        """Until woken, or `seconds` passed (None: until woken)."""
        if seconds is not None and seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        name = self.sink.name
        trouble = Backoff(_Settings(0.5, 30.0))  # the store itself failing (disk full, I/O error)
        while True:
            try:
                self._wake.clear()
                now = self.clock()
                retries = now >= self._retries_paused_until
                batch = await self.outbox.claim(name, retries=retries)
                if not batch:
                    due = await self.outbox.next_due(name, retries=retries)
                    wait = math.inf if due is None else due - now
                    if not retries:
                        wait = min(wait, self._retries_paused_until - now)
                    await self._idle(None if wait == math.inf else max(wait, 0.01))
                    continue
                for index, delivery in enumerate(batch):
                    if not await self._attempt(delivery) and delivery.attempts > 0:
                        await self.outbox.release(batch[index + 1:])  # retries wait; new rows go next round
                        break
                trouble.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 -- the store failed; keep going, slower
                delay = trouble.next_delay()
                log.error("findings.outbox_failed", sink=name, error=str(exc), retry_in=round(delay, 2))
                await asyncio.sleep(delay)

    async def _sender(self, delivery: Delivery) -> Callable[[], Awaitable[None]] | None:
        """What delivering this row means, or None when it can never be delivered (then dropped)."""
        name = self.sink.name
        reason = "gone"
        try:
            if delivery.payload is not None:
                send = getattr(self.sink, "deliver_payload", None)
                if send is None:
                    raise ValueError(f"the {name} sink cannot send a spooled payload")
                payload: Any = json.loads(delivery.payload)
                return lambda: send(payload, delivery.finding_id)
            finding = await self.resolve(delivery)
            if finding is not None:
                return lambda: self.sink.deliver(finding)
            detail = "the finding is no longer stored"
        except (ValueError, TypeError) as exc:
            reason, detail = "unreadable", str(exc)[:500]
        await self.outbox.drop(delivery)
        self.metrics.findings_deliveries_dropped.labels(name, reason).inc()
        log.error("findings.delivery_dropped", sink=name, finding=delivery.finding_id, reason=detail)
        return None

    async def _attempt(self, delivery: Delivery) -> bool:
        """One try of one row; True when the sink took it (or it was dropped for good)."""
        name = self.sink.name
        send = await self._sender(delivery)
        if send is None:
            return True
        try:
            await send()
        except asyncio.CancelledError:
            raise  # the row stays claimed; the next start delivers it again
        except Exception as exc:  # noqa: BLE001 -- a sink's failure is counted, logged and retried, never raised
            delay = self.backoff.delay(delivery.attempts + 1)
            await self.outbox.retry(delivery, str(exc) or type(exc).__name__, delay)
            self.metrics.findings_delivery_attempts.labels(name, "failed").inc()
            if delivery.attempts == 0:
                self.counts.failed[name] += 1
            else:
                self._retries_paused_until = self.clock() + self.sink_backoff.next_delay()
            log.error("findings.delivery_failed", sink=name, finding=delivery.finding_id, error=str(exc),
                      attempts=delivery.attempts + 1, retry_in=round(delay, 2))
            return False
        await self.outbox.ack(delivery)
        self.metrics.findings_delivery_attempts.labels(name, "delivered").inc()
        self.counts.delivered[name] += 1
        self.sink_backoff.reset()
        if delivery.attempts > 0:
            self._retries_paused_until = 0.0
            waiting = await self.outbox.make_due(name)
            log.info("findings.delivered_after_retry", sink=name, finding=delivery.finding_id,
                     attempts=delivery.attempts + 1, now_due=waiting)
        return True


@dataclass(frozen=True)
class _Settings:
    initial_seconds: float
    max_seconds: float
