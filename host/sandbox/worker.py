"""`Worker`: one live `deno run` child for one workflow version, serving one invocation at a time.

The host's deadline never depends on the guest: when an invocation's time is up (or it is
cancelled) the guest is sent `$/cancel`, and the child is SIGKILLed if its run has not settled
within `sandbox.cancelGraceSeconds` (an `Atomics.wait` or a `while(true){}` would ignore anything
gentler); see `host.sandbox.cancel`. A run that does settle in time keeps its worker warm.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from pydantic import ValidationError

from host import __version__
from host.capabilities.context import CallContext
from host.capabilities.router import CapabilityRouter
from host.errors import (
    InvocationCancelled,
    ProtocolFault,
    SandboxError,
    WorkerCrashed,
    WorkflowFailed,
    WorkflowRefused,
)
from host.model.manifest import Manifest
from host.rpc import ConnectionClosed, ErrorCode, RpcConnection, RpcError
from host.sandbox.cancel import RunStop
from host.sandbox.deno import run_args, scrubbed_env
from host.sandbox.prepare import PreparedWorkflow, SandboxEnv
from host.sandbox.process import ChildProcess
from host.validation import first_error

log = structlog.get_logger(__name__)
guest_log = structlog.get_logger("wfhost.workflow")

PROTOCOL_VERSION = 1
LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning", "error": "error"}


class Worker:
    def __init__(self, prepared: PreparedWorkflow, env: SandboxEnv, router: CapabilityRouter, *, name: str) -> None:
        self.prepared = prepared
        self.env = env
        self.router = router
        self.name = name
        self.manifest: Manifest | None = None
        self.child: ChildProcess | None = None
        self.conn: RpcConnection | None = None
        self._active: dict[str, CallContext] = {}
        self._idle_log_bytes = 0
        self._stopping = False
        self._killed = False

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return (
            not self._killed and self.child is not None and self.child.returncode is None
            and self.conn is not None and not self.conn.closed
        )

    @property
    def stopping(self) -> bool:
        """True once the host itself began stopping this worker (its death is then expected)."""
        return self._stopping

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    async def start(self) -> Manifest:
        """Spawn the child and exchange `initialize`; raise `WorkflowRefused` for a bad workflow."""
        limits = self.env.limits
        self.child = await ChildProcess.spawn(
            run_args(deno=self.env.deno, entry=self.prepared.entry, import_map=self.prepared.import_map,
                     max_heap_mb=limits.max_heap_mb),
            env=scrubbed_env(self.prepared.deno_dir),
            cwd=self.prepared.deno_dir,
            name=self.name,
            line_limit=limits.max_message_bytes,
            data_bytes=max(1 << 30, (limits.max_heap_mb << 20) * 4),
        )
        self.conn = RpcConnection(
            self.child.stdout, self.child.stdin, self, max_message_bytes=limits.max_message_bytes,
            name=self.name, on_fault=self._on_fault,
        )
        self.conn.start()
        try:
            raw = await self.conn.request(
                "initialize",
                {"protocolVersion": PROTOCOL_VERSION, "hostVersion": __version__,
                 "workflowPath": str(self.prepared.source)},
                timeout=limits.start_timeout_seconds,
            )
        except RpcError as err:
            await self.stop()
            if err.code == ErrorCode.REQUEST_TIMEOUT:
                raise WorkflowRefused(str(self.prepared.source),
                                      f"did not answer initialize within {limits.start_timeout_seconds:g}s") from err
            raise WorkflowRefused(str(self.prepared.source), err.message) from err
        except ConnectionClosed as exc:
            await self.stop()
            raise WorkflowRefused(str(self.prepared.source), self._death_reason("exited while starting")) from exc
        except asyncio.CancelledError:
            # Cancelled mid-start (the pool closed during a restart): without this the child was
            # never stopped and lived on as an orphan until the host exited.
            self.kill()
            await self.stop()
            raise
        try:
            self.manifest = Manifest.model_validate(raw)
        except ValidationError as exc:
            await self.stop()
            problem = first_error(exc, root="manifest")
            raise WorkflowRefused(str(self.prepared.source), f"invalid manifest: {problem}") from exc
        log.debug("sandbox.worker_ready", worker=self.name, pid=self.pid, workflow=self.manifest.name)
        return self.manifest

    def _death_reason(self, what: str) -> str:
        child = self.child
        if child is None:
            return what
        parts = [what]
        if child.returncode is not None:
            parts.append(f"(exit code {child.returncode})")
        if self.conn is not None and self.conn.fault is not None:
            parts.append(f": {self.conn.fault}")
        tail = child.stderr_tail.strip()
        if tail:
            parts.append(f": {tail[-1500:]}")
        return " ".join(parts)

    async def _on_fault(self, fault: ProtocolFault) -> None:
        log.warning("sandbox.protocol_fault", worker=self.name, error=str(fault))
        self.kill()

    async def stop(self) -> None:
        self._stopping = True
        for ctx in self._active.values():
            ctx.active = False
        if self.conn is not None:
            await self.conn.close("stopped by host")
        if self.child is not None:
            await self.child.stop()

    def kill(self) -> None:
        self._killed = True
        if self.child is not None:
            self.child.kill_now()

    # -- invocations ------------------------------------------------------------------------
    async def run(self, ctx: CallContext, *, timeout: float) -> Any:
        """Run one invocation. Raises WorkflowFailed, InvocationTimeout, InvocationCancelled, or
        WorkerCrashed/ProtocolFault."""
        if not self.alive or self.conn is None:
            raise WorkerCrashed(f"{self.name}: worker is not running")
        if ctx.cancel.reason is not None:
            raise InvocationCancelled(f"{ctx.workflow} was cancelled ({ctx.cancel.reason}) before it started")
        self._active[ctx.invocation_id] = ctx
        ctx.active = True
        # The deadline is the host's alone: when it passes, `stop` sends $/cancel and kills the child
        # after the grace, which fails the pending `run` request; `stop.why` tells that apart from a crash.
        stop = RunStop(ctx, self.conn, grace=self.env.limits.cancel_grace_seconds, kill=self.kill, worker=self.name)
        timer = asyncio.get_running_loop().call_later(timeout, stop.timeout)
        ctx.cancel.listen(stop.cancelled)
        try:
            result = await self.conn.request(
                "run", {"invocationId": ctx.invocation_id, "event": ctx.event.wire(), "params": ctx.params}
            )
        except ConnectionClosed as exc:  # the child died (or was killed): the sandbox's WorkerCrashed
            if stop.why is not None:
                raise stop.error(timeout, kept=False) from exc
            fault = self.conn.fault if self.conn is not None else None
            if fault is not None:
                raise ProtocolFault(f"{ctx.workflow}: {fault}") from exc
            if self.child is not None:  # let the exit status arrive, so the reason can name it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.child.proc.wait(), 1.0)
            raise WorkerCrashed(f"{ctx.workflow}: {self._death_reason('worker died during the run')}") from exc
        except RpcError as err:
            if stop.why is not None:  # the run settled after $/cancel (CANCELLED, or whatever it threw)
                raise stop.error(timeout, kept=self.alive) from err
            if err.code == ErrorCode.WORKFLOW_ERROR:
                data = err.data if isinstance(err.data, dict) else {}
                raise WorkflowFailed(
                    str(data.get("message") or err.message)[:4000],
                    name=str(data.get("name") or "Error")[:200],
                    stack=str(data["stack"])[:8000] if data.get("stack") else None,
                ) from err
            raise SandboxError(f"{ctx.workflow}: run answered {err.name}: {err.message}") from err
        except asyncio.CancelledError:
            self.kill()
            raise
        finally:
            timer.cancel()
            stop.close()
            ctx.cancel.listen(None)
            ctx.active = False
            self._active.pop(ctx.invocation_id, None)
            for task in ctx.tasks:
                task.cancel()
        if stop.why is not None:  # it finished anyway, after it was stopped: the stop is the outcome
            raise stop.error(timeout, kept=self.alive)
        return result

    # -- RpcHandler: the guest's calls ------------------------------------------------------
    async def handle_request(self, method: str, params: Any) -> Any:
        inv = params.get("invocationId") if isinstance(params, dict) else None
        ctx = self._active.get(inv) if isinstance(inv, str) else None
        if ctx is None:
            raise RpcError(ErrorCode.INVOCATION_NOT_ACTIVE, f"{method}: no running invocation {inv!r}")
        task = asyncio.current_task()
        if task is not None:
            ctx.tasks.add(task)
        try:
            return await self.router.call(ctx, method, params)
        finally:
            if task is not None:
                ctx.tasks.discard(task)

    async def handle_notification(self, method: str, params: Any) -> None:
        if method != "log" or not isinstance(params, dict):
            log.debug("sandbox.unknown_notification", worker=self.name, method=method)
            return
        message = str(params.get("message", ""))
        level = LOG_LEVELS.get(str(params.get("level", "info")), "info")
        inv = params.get("invocationId")
        ctx = self._active.get(inv) if isinstance(inv, str) else None
        cap = self.env.limits.max_log_bytes_per_invocation
        if ctx is not None:
            ctx.log_bytes += len(message)
            if ctx.log_bytes > cap:
                if ctx.log_dropped == 0:
                    log.warning("sandbox.log_limit_reached", workflow=ctx.workflow, invocation=ctx.invocation_id, limit=cap)
                ctx.log_dropped += 1
                return
        else:
            self._idle_log_bytes += len(message)
            if self._idle_log_bytes > cap:
                return
        name = self.manifest.name if self.manifest is not None else self.name
        getattr(guest_log, level)("workflow.log", workflow=name,
                                  invocation=ctx.invocation_id if ctx else None, message=message[:8192])
