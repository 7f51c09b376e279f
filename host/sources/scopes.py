"""What every cluster source shares: the emit callback type, per-kind counters, namespace scopes.

A source follows either all namespaces with one watch, or each configured namespace with its own
watch (`ClusterConfig.namespaces`); `run_scopes` runs one follower per scope and fails as a whole
if any of them fails, so the host's supervisor sees the error instead of a half-running source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from host.model.events import Event

Emit = Callable[[Event], Awaitable[None]]


class EventCounts(dict[str, int]):
    """Events emitted per kind (a plain dict the host exports as metrics)."""

    def add(self, kind: str) -> None:
        self[kind] = self.get(kind, 0) + 1


def scopes(namespaces: list[str]) -> list[str | None]:
    """One scope per configured namespace (deduplicated, in order), or `[None]` for all."""
    unique: list[str | None] = list(dict.fromkeys(ns for ns in namespaces if ns))
    return unique or [None]


async def run_scopes(
    namespaces: list[str], follow: Callable[[str | None], Coroutine[Any, Any, None]]
) -> None:
    """Run `follow(scope)` for every scope concurrently until all end or one fails.

    The first failure cancels the other scopes and is raised as itself (not as an exception group)
    when it is the only one.
    """
    try:
        async with asyncio.TaskGroup() as group:
            for scope in scopes(namespaces):
                group.create_task(follow(scope), name=f"follow-{scope or 'all'}")
    except BaseExceptionGroup as failed:
        if len(failed.exceptions) == 1:
            raise failed.exceptions[0] from None
        raise
