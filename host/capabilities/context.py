"""`CallContext`: one running invocation's identity, policy, limits and what it produced so far."""

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

    def count_call(self, method: str) -> None:
        self.calls += 1
        if self.calls > self.limits.max_calls_per_invocation:
            raise RpcError(
                ErrorCode.LIMIT_EXCEEDED,
                f"invocation made more than {self.limits.max_calls_per_invocation} capability calls ({method})",
            )

    def add_artifact(self, attachment: Attachment) -> str:
        artifact_id = f"art-{len(self.artifacts) + 1}"
        self.artifacts[artifact_id] = attachment
        return artifact_id
