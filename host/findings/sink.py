"""The `Sink` protocol every findings destination implements."""

from __future__ import annotations

from typing import Protocol

from host.model.findings import Finding


class Sink(Protocol):
    name: str

    async def deliver(self, finding: Finding) -> None:
        """Deliver one finding or raise; the service logs failures and retries where the sink spools."""
        ...
