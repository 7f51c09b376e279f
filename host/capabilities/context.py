"""`CallContext`: one running invocation's identity, policy, limits and what it produced so far;
`CancelRequest`: a request from outside to stop it early."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from host.capabilities.policy import Policy
from host.config import SandboxConfig
from host.model.events import Event
from host.model.findings import Attachment, Finding
from host.rpc import ErrorCode, RpcError

FindingCallback = Callable[[Finding], Awaitable[None]]


class CancelRequest:
    """A request to stop one invocation early, made from outside it (`Dispatcher.cancel`).

    Made before the invocation runs, it is remembered (the worker then never starts the run); made
    while it runs, it calls the listener the worker set, which sends the guest `$/cancel`.
    """

    __slots__ = ("_listener", "reason")

    def __init__(self) -> None:
        self.reason: str | None = None
        self._listener: Callable[[str], None] | None = None

    def request(self, reason: str) -> bool:
        """Ask for the stop; False if it was asked for already."""
        if self.reason is not None:
            return False
        self.reason = reason
        if self._listener is not None:
            self._listener(reason)
        return True

    def listen(self, listener: Callable[[str], None] | None) -> None:
        """Who stops the invocation when asked (None: nobody runs it now)."""
        self._listener = listener


@dataclass
class CallContext:
    invocation_id: str
    workflow: str
    event: Event
    params: dict[str, Any]
    policy: Policy
    limits: SandboxConfig
    on_finding: FindingCallback | None = None
    findings: list[Finding] = field(default_factory=list)
    artifacts: dict[str, Attachment] = field(default_factory=dict)
    calls: int = 0
    log_bytes: int = 0
    log_dropped: int = 0
    active: bool = True
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    cancel: CancelRequest = field(default_factory=CancelRequest)
    notes: list[str] = field(default_factory=list)  # said once in every finding reported after them

    def count_call(self, method: str) -> None:
        self.calls += 1
        if self.calls > self.limits.max_calls_per_invocation:
            raise RpcError(
                ErrorCode.LIMIT_EXCEEDED,
                f"invocation made more than {self.limits.max_calls_per_invocation} capability calls ({method})",
            )

    def note(self, text: str) -> None:
        """Remember something every later finding of this invocation should say (once each)."""
        if text not in self.notes:
            self.notes.append(text)

    def add_artifact(self, attachment: Attachment) -> str:
        artifact_id = f"art-{len(self.artifacts) + 1}"
        self.artifacts[artifact_id] = attachment
        return artifact_id
