"""`FindingsService`: keep every finding a workflow reports, and deliver it to every sink, at least once.

`publish` caps the finding's attachments (`findings.store.maxAttachmentBytes`), then writes the
finding and one outbox row per sink in one durable transaction of the `FindingsStore`; it returns
once that committed, so a reported finding survives a crash of the host from then on. Each sink
has a `Deliverer` (`host/findings/outbox.py`) that works its rows off in the background, so a
slow or failing sink delays nobody and loses nothing; on start, whatever a previous run left
undelivered is delivered again. The API reads the store (`query`, `summary`, `attachment`).

This run's findings also stay in memory, bounded by count and by bytes (a finding larger than the
whole budget is stored and delivered, not kept in memory): `recent()` and `get()` serve in-process
readers (the demo, tests) without a thread hop, and the deliverers take a fresh finding from there
instead of reading it back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import structlog

from host.backoff import BackoffSettings
from host.findings.outbox import Deliverer, Delivery, DeliveryCounts, Outbox
from host.findings.sink import Sink
from host.findings.store import FindingQuery, FindingsStore, Page
from host.metrics import Metrics
from host.model.findings import Attachment, Finding

log = structlog.get_logger(__name__)

MAX_BODY = 1 << 20  # Finding.body's own limit


def finding_bytes(finding: Finding) -> int:
    """About what a finding costs in memory: its text, labels, every table cell (with object overhead), attachments."""
    size = 512 + len(finding.title) + len(finding.body)
    size += sum(112 + len(k) + len(v) for k, v in finding.labels.items())
    for table in finding.tables:
        size += 64 + sum(len(c) + 56 for c in table.columns)
        for row in table.rows:
            size += 64 + sum(56 + (len(c) if isinstance(c, str) else 8) for c in row)
    return size + sum(128 + a.size for a in finding.attachments)


def _is_text(media_type: str) -> bool:
    return media_type.split(";", 1)[0].strip().lower().startswith("text/")


def cap_attachments(finding: Finding, max_bytes: int) -> tuple[Finding, list[str]]:
    """`finding` with no attachment above `max_bytes`: a text one cut to that size (whole characters,
    a last line saying so), any other left out; the body says what happened to each. Returns the
    finding (the same object when nothing was capped) and, per capped attachment, "truncated" or
    "dropped"."""
    kept: list[Attachment] = []
    notes: list[str] = []
    actions: list[str] = []
    for att in finding.attachments:
        if att.size <= max_bytes:
            kept.append(att)
            continue
        if _is_text(att.media_type):
            marker = (f"\n[truncated by wfhost: the first %d of {att.size} bytes are kept "
                      f"(findings.store.maxAttachmentBytes)]\n")
            cut = max(0, max_bytes - len(marker % max_bytes))
            while 0 < cut < att.size and (att.data[cut] & 0xC0) == 0x80:
                cut -= 1  # not inside a UTF-8 character
            kept.append(att.model_copy(update={"data": att.data[:cut] + (marker % cut).encode()}))
            notes.append(f"**Attachment `{att.name}` truncated:** it had {att.size:,} bytes; the first {cut:,} are "
                         f"kept (`findings.store.maxAttachmentBytes` is {max_bytes:,}).")
            actions.append("truncated")
        else:
            notes.append(f"**Attachment `{att.name}` not stored:** it had {att.size:,} bytes of {att.media_type}, "
                         f"more than the {max_bytes:,} that `findings.store.maxAttachmentBytes` allows.")
            actions.append("dropped")
    if not actions:
        return finding, []
    note = "\n\n" + "\n\n".join(notes)
    body = finding.body
    if len(body) + len(note) > MAX_BODY:
        body = body[: max(0, MAX_BODY - len(note) - 1)] + "…"
    return finding.model_copy(update={"attachments": kept, "body": body + note}), actions


class FindingsService:
    """Findings in, to the store and the sinks. Without a `store`, a private in-memory one (no
    durability; tests and tools)."""

    def __init__(
        self, sinks: list[Sink], *, store: FindingsStore | None = None, keep: int = 500,
        keep_bytes: int = 64 << 20, max_attachment_bytes: int = 8 << 20,
        retry_backoff: BackoffSettings | None = None, legacy_spools: dict[str, Path] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sinks = sinks
        self.metrics = metrics or (store.metrics if store is not None else Metrics())
        self.store = store or FindingsStore(None, metrics=self.metrics)
        self.outbox = Outbox(self.store)
        self.max_attachment_bytes = max_attachment_bytes
        self.legacy_spools = legacy_spools or {}
        self._recent: OrderedDict[str, Finding] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._keep = keep
        self._keep_bytes = keep_bytes
        self.kept_bytes = 0
        self.counts = DeliveryCounts()
        backoff = retry_backoff or _RetryDefaults()
        self._deliverers = {
            s.name: Deliverer(s, self.outbox, backoff=backoff, resolve=self._resolve, metrics=self.metrics,
                              counts=self.counts)
            for s in sinks
        }
        self.delivered: dict[str, int] = self.counts.delivered
        self.failed: dict[str, int] = self.counts.failed
        self._tasks: list[asyncio.Task[None]] = []
        self._unstored: set[asyncio.Task[None]] = set()
        self._started = False
        self._gauges()

    def _gauges(self) -> None:
        m, store = self.metrics, self.store
        m.findings_stored.set_function(lambda: store.stats.findings)
        m.findings_store_bytes.set_function(lambda: store.stats.bytes)
        m.findings_store_file_bytes.set_function(lambda: store.stats.file_bytes)
        for sink in self.sinks:
            self._sink_gauges(sink.name)

    def _sink_gauges(self, name: str) -> None:
        stats = self.store
        self.metrics.findings_outbox_pending.labels(name).set_function(lambda: stats.stats.pending.get(name, 0))

        def oldest() -> float:
            created = stats.stats.oldest_pending.get(name)
            return 0.0 if created is None else max(0.0, time.time() - created)

        self.metrics.findings_outbox_oldest.labels(name).set_function(oldest)

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the store (raises `ConfigError` when it cannot), take in an earlier version's spool,
        make every pending delivery due, and start a deliverer per sink."""
        await self.store.open()
        await self._import_spools()
        recovered = await self.outbox.recover()
        names = {s.name for s in self.sinks}
        for name, pending in sorted(recovered.items()):
            if name in names:
                log.info("findings.outbox_recovered", sink=name, pending=pending)
            else:
                self._sink_gauges(name)
                log.warning("findings.outbox_orphaned", sink=name, pending=pending,
                            hint="the sink is not configured now; its deliveries wait until it is, or retention "
                                 "removes their findings")
        self._tasks = [asyncio.create_task(d.run(), name=f"sink:{n}") for n, d in self._deliverers.items()]
        self._tasks.append(asyncio.create_task(self._sweep(), name="findings-retention"))
        for sink in self.sinks:
            start = getattr(sink, "start", None)
            if start is not None:
                start()
        self._started = True
        log.info("findings.store_opened", location=self.store.location, findings=self.store.stats.findings,
                 bytes=self.store.stats.bytes)

    async def _sweep(self) -> None:
        interval = max(0.05, min(60.0, self.store.retention.max_age_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.sweep()
            except Exception as exc:  # noqa: BLE001 -- retention retries at the next sweep
                log.error("findings.retention_failed", error=str(exc))

    async def _import_spools(self) -> None:
        for sink, directory in sorted(self.legacy_spools.items()):
            files = await asyncio.to_thread(_spooled, directory)
            imported = 0
            for path, text, mtime in files:
                try:
                    json.loads(text)
                except ValueError as exc:
                    log.error("findings.spool_file_unreadable", sink=sink, file=path.name, error=str(exc))
                    await asyncio.to_thread(path.rename, path.with_suffix(".bad"))
                    continue
                await self.outbox.import_payload(sink, path.stem, text, mtime)
                await asyncio.to_thread(path.unlink, True)
                imported += 1
            if imported:
                log.info("findings.spool_imported", sink=sink, files=imported, directory=str(directory))

    async def flush(self, timeout: float = 30) -> None:
        """Wait until every stored finding has been handed to each sink once (delivered, or failed
        and waiting in the outbox for its retry), bounded."""
        if not self._started:
            return
        names = [s.name for s in self.sinks]

        async def handed() -> None:
            while await self.outbox.untried(names) or self._unstored:  # noqa: ASYNC110 -- rows in the store: polled
                await asyncio.sleep(0.02)

        await asyncio.wait_for(handed(), timeout)

    async def close(self) -> None:
        for t in [*self._tasks, *self._unstored]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._unstored, return_exceptions=True)
        self._tasks = []
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                await close()
        await self.store.close()
        self._started = False

    # -- publishing -------------------------------------------------------------------------
    async def publish(self, finding: Finding) -> None:
        """Store `finding` with a pending delivery per sink; returns once that is durable. A finding the
        store cannot take (disk full, I/O error) is still delivered once, best effort, and counted."""
        finding, actions = cap_attachments(finding, self.max_attachment_bytes)
        for action in actions:
            self.metrics.findings_attachments_capped.labels(action).inc()
        if actions:
            log.warning("findings.attachments_capped", finding=finding.id, actions=actions,
                        limit=self.max_attachment_bytes)
        self._remember(finding)
        try:
            added = await self.store.add(finding, [s.name for s in self.sinks])
        except Exception as exc:  # noqa: BLE001 -- the finding still goes out, once
            self.metrics.findings_store_errors.inc()
            log.error("findings.store_failed", finding=finding.id, error=str(exc),
                      fallback="delivered once to each sink, best effort, without the outbox")
            task = asyncio.create_task(self._deliver_unstored(finding), name=f"unstored:{finding.id}")
            self._unstored.add(task)
            task.add_done_callback(self._unstored.discard)
            return
        if added:
            for deliverer in self._deliverers.values():
                deliverer.wake()

    async def _deliver_unstored(self, finding: Finding) -> None:
        for sink in self.sinks:
            try:
                await sink.deliver(finding)
                self.counts.delivered[sink.name] += 1
            except Exception as exc:  # noqa: BLE001 -- best effort: logged, counted, not retried
                self.counts.failed[sink.name] += 1
                log.error("findings.delivery_failed", sink=sink.name, finding=finding.id, error=str(exc),
                          retry_in=None)

    async def _resolve(self, delivery: Delivery) -> Finding | None:
        return self._recent.get(delivery.finding_id) or await self.store.load(delivery.finding_id)

    def _remember(self, finding: Finding) -> None:
        size = finding_bytes(finding)
        if size > self._keep_bytes:
            log.info("findings.too_large_to_keep_in_memory", finding=finding.id, bytes=size, limit=self._keep_bytes)
            return
        self._recent[finding.id] = finding
        self._sizes[finding.id] = size
        self.kept_bytes += size
        while len(self._recent) > self._keep or self.kept_bytes > self._keep_bytes:
            old, _ = self._recent.popitem(last=False)
            self.kept_bytes -= self._sizes.pop(old)

    # -- reading ----------------------------------------------------------------------------
    def size_of(self, finding: Finding) -> int:
        return self._sizes.get(finding.id) or finding_bytes(finding)

    def recent(self) -> list[Finding]:
        """This run's findings still in memory, newest first (the store has them all: `query`)."""
        return list(reversed(self._recent.values()))

    def get(self, finding_id: str) -> Finding | None:
        """One of this run's findings from memory (the store has them all: `summary`)."""
        return self._recent.get(finding_id)

    async def query(self, q: FindingQuery, *, offset: int, limit: int, budget: int) -> Page:
        """A page of stored findings, newest first (see `FindingsStore.query`)."""
        return await self.store.query(q, offset=offset, limit=limit, budget=budget)

    async def namespaces(self) -> list[str]:
        """Every namespace a stored finding is about (see `FindingsStore.namespaces`)."""
        return await self.store.namespaces()

    async def summary(self, finding_id: str) -> dict[str, Any] | None:
        """A stored finding as `Finding.summary()` gives it, or None (one the store could not take is
        still found in memory)."""
        doc = await self.store.summary(finding_id)
        if doc is None and (kept := self._recent.get(finding_id)) is not None:
            return kept.summary()
        return doc

    async def attachment(self, finding_id: str, name: str) -> tuple[bool, tuple[str, bytes] | None]:
        """(the finding is stored, its attachment `name` as (media type, bytes) or None)."""
        found, att = await self.store.attachment(finding_id, name)
        if not found and (kept := self._recent.get(finding_id)) is not None:
            hit = next((a for a in kept.attachments if a.name == name), None)
            return True, None if hit is None else (hit.media_type, hit.data)
        return found, att

    async def pending(self, sink: str, *, failed_only: bool = False) -> int:
        """Deliveries of `sink` waiting in the outbox; `failed_only`: those tried at least once."""
        return await self.outbox.pending(sink, failed_only=failed_only)


class _RetryDefaults:
    """`findings.delivery.retryBackoff`'s defaults, for a service built without config."""

    initial_seconds = 1.0
    max_seconds = 300.0


def _spooled(directory: Path) -> list[tuple[Path, str, float]]:
    """The payloads an earlier version's HTTP sink spooled in `directory`, oldest first (blocking)."""
    if not directory.is_dir():
        return []
    out: list[tuple[Path, str, float]] = []
    for path in directory.glob("*.json"):
        try:
            out.append((path, path.read_text(encoding="utf-8"), path.stat().st_mtime))
        except (OSError, UnicodeDecodeError) as exc:
            log.error("findings.spool_file_unreadable", file=str(path), error=str(exc))
    return sorted(out, key=lambda item: item[2])
