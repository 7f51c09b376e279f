"""`RunStop`: stop one run before it ends, politely first: `$/cancel`, a grace, then the kill.

When an invocation's deadline passes, or it is cancelled (`Dispatcher.cancel`), the host stops
serving its capability calls, sends the guest `$/cancel` for it (the SDK aborts `ctx.signal`)
and gives it `sandbox.cancelGraceSeconds` to settle its `run`. A run that settles in time
leaves its worker warm for the next invocation. One that does not has its child SIGKILLed:
an `Atomics.wait` or a `while (true) {}` ignores anything gentler. The host's deadline stays
its own either way: a run ends at most the grace after it was stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import structlog

from host.capabilities.context import CallContext
from host.errors import InvocationCancelled, InvocationTimeout, SandboxError
from host.rpc import ConnectionClosed, RpcConnection

log = structlog.get_logger(__name__)

Why = Literal["timeout", "cancelled"]


class RunStop:
    """The stop of one run, armed by the deadline timer or a `CancelRequest`; `close` when the run ends."""

    __slots__ = ("_grace_timer", "_sending", "conn", "ctx", "grace", "kill", "killed", "reason", "why", "worker")

    def __init__(
        self, ctx: CallContext, conn: RpcConnection, *, grace: float, kill: Callable[[], None], worker: str
    ) -> None:
        self.ctx = ctx
        self.conn = conn
        self.grace = grace
        self.kill = kill
        self.worker = worker
        self.why: Why | None = None
        self.reason = ""
        self.killed = False
        self._sending: asyncio.Task[None] | None = None
        self._grace_timer: asyncio.TimerHandle | None = None

    def timeout(self) -> None:
        self.stop("timeout", "deadline passed")

    def cancelled(self, reason: str) -> None:
        self.stop("cancelled", reason)

    def stop(self, why: Why, reason: str) -> None:
        """Refuse the invocation's further calls, send `$/cancel`, kill the child after the grace."""
        if self.why is not None:
            return
        self.why, self.reason = why, reason
        self.ctx.active = False
        for task in list(self.ctx.tasks):  # its capability calls in flight end now
            task.cancel()
        if self.grace <= 0:
            self._kill()
            return
        log.info("sandbox.cancel_sent", worker=self.worker, workflow=self.ctx.workflow,
                 invocation=self.ctx.invocation_id, why=why, reason=reason, grace=self.grace)
        self._sending = asyncio.ensure_future(self._send())
        self._grace_timer = asyncio.get_running_loop().call_later(self.grace, self._grace_over)

    async def _send(self) -> None:
        # A guest that reads no stdin blocks this write: the grace timer does not wait for it.
        try:
            await self.conn.notify("$/cancel", {"invocationId": self.ctx.invocation_id})
        except ConnectionClosed as exc:
            log.debug("sandbox.cancel_not_sent", worker=self.worker, invocation=self.ctx.invocation_id, error=str(exc))

    def _grace_over(self) -> None:
        log.warning("sandbox.cancel_ignored", worker=self.worker, workflow=self.ctx.workflow,
                    invocation=self.ctx.invocation_id, grace=self.grace)
        self._kill()

    def _kill(self) -> None:
        self.killed = True
        self.kill()

    def error(self, timeout: float, *, kept: bool) -> SandboxError:
        """What the stopped run raises: how it was stopped, and whether its worker was `kept`."""
        if kept:
            ending = "it stopped on $/cancel and its worker was kept"
        elif not self.killed:
            ending = "its worker died"
        elif self.grace > 0:
            ending = f"it did not stop within {self.grace:g}s of $/cancel and its worker was killed"
        else:
            ending = "its worker was killed"
        if self.why == "timeout":
            return InvocationTimeout(f"{self.ctx.workflow} did not finish within {timeout:g}s; {ending}")
        return InvocationCancelled(f"{self.ctx.workflow} was cancelled ({self.reason}); {ending}")

    def close(self) -> None:
        """The run ended: no kill, and no `$/cancel` still waiting to be written."""
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        if self._sending is not None and not self._sending.done():
            self._sending.cancel()
