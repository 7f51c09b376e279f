"""`WorkerPool`: the live children of one workflow version, restarted with backoff when they die.

A pool has `size` slots, each holding at most one worker that serves one invocation at a time.
A worker that crashes, times out, breaks framing or is killed from outside is replaced; the
replacement waits `initial * 2**(failures-1)` seconds (capped at `max`) plus up to half that again
as jitter (`host.backoff`, `ABOVE`), so the workers of one workflow that crash on the same input
do not restart in lockstep. A successful invocation resets the count. Other workflows' pools
never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import psutil
import structlog

from host.backoff import ABOVE, Backoff
from host.capabilities.context import CallContext
from host.capabilities.router import CapabilityRouter
from host.errors import SandboxError, WfhostError
from host.model.manifest import Manifest
from host.sandbox.prepare import PreparedWorkflow, SandboxEnv
from host.sandbox.worker import Worker

log = structlog.get_logger(__name__)

# An idle worker using more than half a core for two checks in a row is replaced.
IDLE_CHECK_SECONDS = 2.0
IDLE_BUSY_SHARE = 0.5
IDLE_BUSY_INTERVALS = 2


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, or None once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return float(times.user + times.system)


@dataclass(eq=False)
class _Slot:
    index: int
    pool: WorkerPool
    worker: Worker | None = None
    failures: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watcher: asyncio.Task[None] | None = None
    last_used: float = field(default_factory=time.monotonic)
    idle_stopped: bool = False  # its last worker was stopped for being idle, not lost

    def stop_if_idle(self) -> bool:
        """Stop this slot's worker unless an invocation holds it (`host.sandbox.warm`)."""
        return self.pool._stop_idle(self)


@dataclass
class PoolStats:
    starts: int = 0
    restarts: int = 0
    invocations: int = 0
    cold_start_seconds: float = 0.0
    cold_invocations: int = 0  # invocations that had to start their worker first
    idle_stops: int = 0  # workers stopped for being idle (or evicted by the host-wide bound)
    # The most recent restart delays, oldest first: each one's step before jitter, and the wait taken.
    backoffs: list[float] = field(default_factory=list)
    backoff_waits: list[float] = field(default_factory=list)


class WorkerPool:
    def __init__(
        self, prepared: PreparedWorkflow, env: SandboxEnv, router: CapabilityRouter, *, size: int, label: str
    ) -> None:
        self.prepared = prepared
        self.env = env
        self.router = router
        self.label = label
        self.size = size
        self.stats = PoolStats()
        self._backoff = Backoff(env.limits.restart_backoff, jitter=ABOVE)
        self._slots = [_Slot(i, self) for i in range(size)]
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        for slot in self._slots:
            self._free.put_nowait(slot)
        self._closed = False
        self._released = False
        self._background: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- startup ----------------------------------------------------------------------------
    async def start_first(self) -> Manifest:
        """Start slot 0's worker now and return its manifest (this is how a new version is validated)."""
        slot = self._slots[0]
        async with slot.lock:
            worker = await self._spawn(slot, backoff=False)
        assert worker.manifest is not None
        return worker.manifest

    async def _spawn(self, slot: _Slot, *, backoff: bool) -> Worker:
        if backoff and slot.failures:
            step = self._backoff.step(slot.failures)
            delay = self._backoff.delay(slot.failures)
            log.info("sandbox.restart_backoff", workflow=self.label, slot=slot.index, delay=round(delay, 3),
                     step=step, failures=slot.failures)
            self.stats.backoffs = [*self.stats.backoffs[-19:], step]
            self.stats.backoff_waits = [*self.stats.backoff_waits[-19:], delay]
            await asyncio.sleep(delay)
        if self._closed:
            raise SandboxError(f"{self.label}: pool is closed")
        self.env.warm.make_room(slot)
        worker = Worker(self.prepared, self.env, self.router, name=f"{self.label}#{slot.index}")
        began = time.perf_counter()
        await worker.start()
        self.stats.cold_start_seconds = time.perf_counter() - began
        if self.stats.starts and not slot.idle_stopped:
            self.stats.restarts += 1  # a start after an idle stop is not a restart
        slot.idle_stopped = False
        self.stats.starts += 1
        slot.worker = worker
        slot.last_used = time.monotonic()
        self.env.warm.used(slot)
        slot.watcher = asyncio.create_task(self._watch(slot, worker), name=f"watch:{worker.name}")
        return worker

    def _stop_idle(self, slot: _Slot) -> bool:
        """Stop `slot`'s worker now if it is idle; the next invocation starts a new one."""
        worker = slot.worker
        if worker is None or slot.lock.locked() or self._closed:
            return False
        slot.worker = None
        slot.idle_stopped = True
        self.env.warm.gone(slot)
        self.stats.idle_stops += 1
        log.debug("sandbox.worker_idle_stopped", workflow=self.label, slot=slot.index, pid=worker.pid)
        task = asyncio.create_task(worker.stop(), name=f"idle-stop:{worker.name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return True

    async def _watch(self, slot: _Slot, worker: Worker) -> None:
        """Notice a worker that dies while idle (killed from outside) and restart it with backoff.

        Also notice one that burns CPU while idle (a timer or a loop the workflow left running after
        `run` returned): it would make the next invocation time out, so it is killed and replaced
        now, off the invocation path.
        """
        assert worker.child is not None
        proc = worker.child.proc
        busy_intervals = 0
        last_cpu: float | None = None
        exited = asyncio.ensure_future(proc.wait())
        try:
            while not (await asyncio.wait({exited}, timeout=IDLE_CHECK_SECONDS))[0]:
                busy_intervals, last_cpu = self._idle_check(slot, worker, busy_intervals, last_cpu)
                idle_stop = self.env.limits.idle_stop_seconds
                if (idle_stop > 0 and slot.worker is worker and time.monotonic() - slot.last_used >= idle_stop
                        and self._stop_idle(slot)):
                    return
        finally:
            exited.cancel()
        if self._closed or worker.stopping or slot.worker is not worker:
            return
        if slot.lock.locked():
            return  # an invocation holds the slot; it handles the death itself
        self.env.warm.gone(slot)
        log.warning("sandbox.worker_died", workflow=self.label, slot=slot.index, code=worker.child.returncode)
        slot.failures += 1
        async with slot.lock:
            await worker.stop()
            if slot.worker is worker:
                slot.worker = None
            try:
                await self._spawn(slot, backoff=True)
            except WfhostError as exc:
                log.warning("sandbox.restart_failed", workflow=self.label, slot=slot.index, error=str(exc))

    def _idle_check(self, slot: _Slot, worker: Worker, busy: int, last: float | None) -> tuple[int, float | None]:
        """One look at an idle worker's CPU use; kills it after IDLE_BUSY_INTERVALS busy looks in a row."""
        if slot.lock.locked() or self._closed or worker.pid is None:
            return 0, None  # an invocation runs: its CPU is its own business
        cpu = _cpu_seconds(worker.pid)
        busy = busy + 1 if cpu is not None and last is not None and cpu - last > IDLE_BUSY_SHARE * IDLE_CHECK_SECONDS else 0
        if busy >= IDLE_BUSY_INTERVALS:
            log.warning("sandbox.worker_busy_while_idle", workflow=self.label, slot=slot.index, pid=worker.pid,
                        seconds=IDLE_BUSY_INTERVALS * IDLE_CHECK_SECONDS)
            worker.kill()
        return busy, cpu

    # -- invocations ------------------------------------------------------------------------
    async def invoke(self, ctx: CallContext, *, timeout: float) -> object:
        if self._closed:
            raise SandboxError(f"{self.label}: pool is closed")
        slot = await self._free.get()
        self._busy += 1
        self._idle.clear()
        try:
            async with slot.lock:
                worker = slot.worker
                if worker is None or not worker.alive:
                    if worker is not None:
                        await worker.stop()
                        slot.worker = None
                    self.stats.cold_invocations += 1
                    worker = await self._spawn(slot, backoff=True)
                slot.last_used = time.monotonic()
                self.env.warm.used(slot)
                self.stats.invocations += 1
                try:
                    result = await worker.run(ctx, timeout=timeout)
                except BaseException:
                    if not worker.alive:
                        slot.failures += 1
                        await worker.stop()
                        slot.worker = None
                        self.env.warm.gone(slot)
                    raise
                slot.failures = 0
                slot.last_used = time.monotonic()
                return result
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()
            self._free.put_nowait(slot)
            if slot.worker is None and not self._closed:
                task = asyncio.create_task(self._rewarm(slot), name=f"rewarm:{self.label}#{slot.index}")
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _rewarm(self, slot: _Slot) -> None:
        """Start a replacement in the background so the next invocation finds a warm worker."""
        async with slot.lock:
            if slot.worker is not None or self._closed:
                return
            try:
                await self._spawn(slot, backoff=True)
            except WfhostError as exc:
                log.warning("sandbox.restart_failed", workflow=self.label, slot=slot.index, error=str(exc))

    @property
    def busy(self) -> int:
        return self._busy

    def worker_pids(self) -> list[int]:
        return [s.worker.pid for s in self._slots if s.worker is not None and s.worker.pid is not None]

    async def close(self, *, drain: bool = True, drain_timeout: float = 30) -> None:
        """Stop accepting work; let running invocations finish (bounded), then stop every child."""
        self._closed = True
        if drain:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), drain_timeout)
        for task in list(self._background):
            task.cancel()
        for slot in self._slots:
            if slot.watcher is not None:
                slot.watcher.cancel()
            if slot.worker is not None:
                await slot.worker.stop()
                slot.worker = None
            self.env.warm.gone(slot)
        if not self._released:
            self._released = True
            await asyncio.to_thread(self.prepared.release, self.env)
