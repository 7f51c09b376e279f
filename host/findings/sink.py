"""The `Sink` protocol every findings destination implements."""

from __future__ import annotations

from typing import Protocol

from host.model.findings import Finding


class Sink(Protocol):
    name: str

    async def deliver(self, finding: Finding) -> None:
        """Deliver one finding or raise; the outbox counts and logs a failure and retries it with backoff.

        Delivery is at least once: after a crash the same finding (same `id`) can come again, so a
        sink should be idempotent by the finding id (the files sink overwrites its folder, the HTTP
        sinks send it as `Idempotency-Key`)."""
        ...
