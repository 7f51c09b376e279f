"""`FindingsService`: publish a finding to every sink without ever blocking the workflow that made it.

Each sink gets its own queue and delivery task, so a slow or failing sink delays nobody; the
most recent findings stay in memory for the API, bounded by count and by bytes (a finding's
tables and attachments can be large; one larger than the whole budget is delivered but not kept).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import structlog

from host.findings.sink import Sink
from host.model.findings import Finding

log = structlog.get_logger(__name__)


def finding_bytes(finding: Finding) -> int:
    """About what a finding costs in memory: its text, labels, every table cell (with object overhead), attachments."""
    size = 512 + len(finding.title) + len(finding.body)
    size += sum(112 + len(k) + len(v) for k, v in finding.labels.items())
    for table in finding.tables:
        size += 64 + sum(len(c) + 56 for c in table.columns)
        for row in table.rows:
            size += 64 + sum(56 + (len(c) if isinstance(c, str) else 8) for c in row)
    return size + sum(128 + a.size for a in finding.attachments)


class FindingsService:
    def __init__(self, sinks: list[Sink], *, keep: int = 500, keep_bytes: int = 64 << 20, queue_size: int = 1000) -> None:
        self.sinks = sinks
        self._recent: OrderedDict[str, Finding] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._keep = keep
        self._keep_bytes = keep_bytes
        self.kept_bytes = 0
        self._queues: dict[str, asyncio.Queue[Finding]] = {s.name: asyncio.Queue(queue_size) for s in sinks}
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered: dict[str, int] = {s.name: 0 for s in sinks}
        self.failed: dict[str, int] = {s.name: 0 for s in sinks}
        self.dropped: dict[str, int] = {s.name: 0 for s in sinks}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(s), name=f"sink:{s.name}") for s in self.sinks]
        for sink in self.sinks:
            start = getattr(sink, "start", None)
            if start is not None:
                start()

    async def publish(self, finding: Finding) -> None:
        self._remember(finding)
        for sink in self.sinks:
            q = self._queues[sink.name]
            try:
                q.put_nowait(finding)
            except asyncio.QueueFull:
                self.dropped[sink.name] += 1
                log.error("findings.sink_queue_full", sink=sink.name, finding=finding.id)

    def _remember(self, finding: Finding) -> None:
        size = finding_bytes(finding)
        if size > self._keep_bytes:
            log.warning("findings.too_large_to_keep", finding=finding.id, bytes=size, limit=self._keep_bytes)
            return
        self._recent[finding.id] = finding
        self._sizes[finding.id] = size
        self.kept_bytes += size
        while len(self._recent) > self._keep or self.kept_bytes > self._keep_bytes:
            old, _ = self._recent.popitem(last=False)
            self.kept_bytes -= self._sizes.pop(old)

    def size_of(self, finding: Finding) -> int:
        return self._sizes.get(finding.id) or finding_bytes(finding)

    def recent(self) -> list[Finding]:
        return list(reversed(self._recent.values()))

    def get(self, finding_id: str) -> Finding | None:
        return self._recent.get(finding_id)

    async def _run(self, sink: Sink) -> None:
        q = self._queues[sink.name]
        while True:
            finding = await q.get()
            try:
                await sink.deliver(finding)
                self.delivered[sink.name] += 1
            except Exception as exc:  # noqa: BLE001 -- a sink's failure is counted and logged, never propagated
                self.failed[sink.name] += 1
                log.error("findings.delivery_failed", sink=sink.name, finding=finding.id, error=str(exc))
            finally:
                q.task_done()

    async def flush(self, timeout: float = 30) -> None:
        """Wait until every queued finding has been handed to its sink (bounded)."""
        await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues.values())), timeout)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                await close()
