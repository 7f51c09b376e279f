"""`Dispatcher`: events in, invocations out, through one bounded queue per workflow.

Each workflow has its own queue and `concurrency` consumer tasks, so a slow workflow never
delays another. A full queue drops the new invocation, counted and logged. An item may carry
a future, which the API uses to wait for that invocation's findings. `cancel` stops a queued or
running invocation by its id (a running one gets `$/cancel`, see `host.sandbox.cancel`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from host.capabilities.context import CancelRequest
from host.errors import QueueFull, UnknownWorkflow
from host.findings.service import FindingsService
from host.metrics import Metrics
from host.model.events import Event, new_id
from host.model.findings import Finding
from host.model.invocation import InvocationResult
from host.runtime.invoker import invoke
from host.triggers.index import RateLimiter, TriggerIndex
from host.workflows.registry import Registry

log = structlog.get_logger(__name__)


@dataclass
class _Item:
    event: Event
    overrides: dict[str, Any]
    invocation_id: str = field(default_factory=lambda: new_id("inv"))
    done: asyncio.Future[InvocationResult] | None = None
    cancel: CancelRequest = field(default_factory=CancelRequest)
    workflow: str = ""  # set when queued
    recorded: bool = False  # from the gated sources: the leader's handled record covers it once it finished


class Dispatcher:
    def __init__(
        self, *, registry: Registry, index: TriggerIndex, limiter: RateLimiter, findings: FindingsService,
        metrics: Metrics, queue_size: int, concurrency: int,
    ) -> None:
        self.registry = registry
        self.index = index
        self.limiter = limiter
        self.findings = findings
        self.metrics = metrics
        self.queue_size = queue_size
        self.concurrency = concurrency
        self._queues: dict[str, asyncio.Queue[_Item]] = {}
        self._consumers: dict[str, list[asyncio.Task[None]]] = {}
        self.results: list[InvocationResult] = []  # recent results, newest last
        self._live: dict[str, _Item] = {}  # queued or running, by invocation id
        self._closed = False
        self._running = 0
        self._drained = asyncio.Event()
        self._drained.set()
        # Called with an event's id each time one of its invocations finished, or will never run
        # because its workflow was unloaded (not when dropped or cancelled as the host stops).
        self.on_finished: Callable[[str], None] = lambda event_id: None
        # Each called with every invocation's result as it finished, `crashed` ones included
        # (metrics, benchmarks, tests: `dispatcher.result_listeners.append(fn)`).
        self.result_listeners: list[Callable[[InvocationResult], None]] = []

    # -- wiring -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Call when the registry changed: rebuild the index, start queues for new workflows, stop removed ones."""
        workflows = self.registry.workflows()
        self.index.rebuild(workflows)
        names = {w.name for w in workflows}
        for name in names - set(self._queues):
            q: asyncio.Queue[_Item] = asyncio.Queue(self.queue_size)
            self._queues[name] = q
            self._consumers[name] = [
                asyncio.create_task(self._consume(name, q), name=f"dispatch:{name}:{i}") for i in range(self.concurrency)
            ]
        for name in set(self._queues) - names:
            self._stop_queue(name, reason="workflow unloaded")
        self.metrics.workflows_loaded.set(len(names))
        self.metrics.workflow_errors.set(sum(1 for s in self.registry.statuses() if s.error))

    def _stop_queue(self, name: str, *, reason: str) -> None:
        q = self._queues.pop(name)
        for task in self._consumers.pop(name, []):
            task.cancel()
        while not q.empty():
            item = q.get_nowait()
            self._live.pop(item.invocation_id, None)
            self.metrics.dropped.labels(name, "unloaded").inc()
            if not self._closed:
                self.on_finished(item.event.id)
            if item.done is not None and not item.done.done():
                item.done.set_exception(UnknownWorkflow(f"{name}: {reason}"))

    async def close(self, *, grace: float = 0) -> None:
        """Stop intake, drop what is still queued (counted), give running invocations `grace`
        seconds to finish, then cancel the rest (their children are killed)."""
        self._closed = True
        for name, q in self._queues.items():
            while not q.empty():
                item = q.get_nowait()
                q.task_done()
                self._live.pop(item.invocation_id, None)
                self.metrics.dropped.labels(name, "shutdown").inc()
                if item.done is not None and not item.done.done():
                    item.done.set_exception(UnknownWorkflow(f"{name}: host stopping"))
        if grace > 0 and self._running:
            log.info("dispatch.draining", running=self._running, grace=grace)
            try:
                await asyncio.wait_for(self._drained.wait(), grace)
            except TimeoutError:
                log.warning("dispatch.grace_expired", still_running=self._running)
        tasks = [t for ts in self._consumers.values() for t in ts]
        for name in list(self._queues):
            self._stop_queue(name, reason="host stopping")
        await asyncio.gather(*tasks, return_exceptions=True)

    def drop_recorded(self, *, reason: str) -> int:
        """Drop the queued invocations of recorded events (running ones finish); returns how many.

        A replica that stopped leading calls it: its handled record stays below these events, so
        the next leader fires them, and running them here as well would run them twice. They are
        not reported to `on_finished`; other queued work (API triggers, alerts) stays."""
        dropped = 0
        for name, q in self._queues.items():
            kept: list[_Item] = []
            while not q.empty():
                item = q.get_nowait()
                if item.recorded:
                    self._live.pop(item.invocation_id, None)
                    self.metrics.dropped.labels(name, "not_leading").inc()
                    dropped += 1
                else:
                    kept.append(item)
            for item in kept:
                q.put_nowait(item)
        if dropped:
            log.info("dispatch.dropped_recorded", invocations=dropped, reason=reason)
        return dropped

    def cancel(self, invocation_id: str, *, reason: str = "by request") -> bool:
        """Stop a queued or running invocation; False when none with that id is queued or running.

        A queued one ends without running when its turn comes; a running one is sent `$/cancel` and
        its worker is killed unless its run stops within `sandbox.cancelGraceSeconds`. Either way its
        result, outcome `cancelled`, arrives as any other (the future `trigger` returned resolves).
        """
        item = self._live.get(invocation_id)
        if item is None:
            return False
        if item.cancel.request(reason):
            log.info("dispatch.cancel_requested", invocation=invocation_id, reason=reason)
        return True

    def live(self, invocation_id: str) -> tuple[str, Event] | None:
        """(workflow, event) of a queued or running invocation, or None (the API checks who may cancel it)."""
        item = self._live.get(invocation_id)
        return None if item is None else (item.workflow, item.event)

    def refresh_gauges(self) -> None:
        """Set the gauges that mirror state (queue depths, each pool's counts) from that state: called
        when the metrics are scraped, not on every invocation (they cost nothing between scrapes)."""
        m = self.metrics
        for name, q in self._queues.items():
            m.queue_depth.labels(name).set(q.qsize())
        for wf in self.registry.workflows():
            stats = wf.pool.stats
            m.worker_restarts.labels(wf.name).set(stats.restarts)
            m.cold_invocations.labels(wf.name).set(stats.cold_invocations)
            m.idle_stops.labels(wf.name).set(stats.idle_stops)

    def depth(self, name: str) -> int:
        q = self._queues.get(name)
        return q.qsize() if q is not None else 0

    # -- intake -----------------------------------------------------------------------------
    async def submit(self, event: Event, *, recorded: bool = False) -> list[str]:
        """An event from a source: queue every matching workflow that the rate limit lets through.

        `recorded`: the event came through the hand-over gate, so what of it has not run when this
        replica stops leading is the next leader's to run (`drop_recorded`)."""
        if self._closed:
            return []
        self.metrics.events_seen.labels(event.kind).inc()
        queued = []
        for name in self.index.match(event):
            if not self.limiter.allow(name, event):
                self.metrics.dropped.labels(name, "rate_limited").inc()
                log.debug("dispatch.rate_limited", workflow=name, event_kind=event.kind)
                continue
            try:
                self._enqueue(name, _Item(event=event, overrides={}, recorded=recorded))
            except QueueFull:
                continue
            queued.append(name)
        return queued

    def trigger(self, name: str, event: Event, overrides: dict[str, Any], *, wait: bool) -> tuple[str, asyncio.Future[InvocationResult] | None]:
        """An explicit request (API, CLI) for one workflow; raises UnknownWorkflow or QueueFull."""
        if name not in self._queues:
            raise UnknownWorkflow(f"no loaded workflow named {name!r}")
        self.metrics.events_seen.labels(event.kind).inc()
        fut: asyncio.Future[InvocationResult] | None = asyncio.get_running_loop().create_future() if wait else None
        item = _Item(event=event, overrides=overrides, done=fut)
        self._enqueue(name, item)
        return item.invocation_id, fut

    def _enqueue(self, name: str, item: _Item) -> None:
        q = self._queues.get(name)
        if q is None or self._closed:
            raise UnknownWorkflow(f"no loaded workflow named {name!r}")
        try:
            q.put_nowait(item)
        except asyncio.QueueFull:
            self.metrics.dropped.labels(name, "queue_full").inc()
            log.warning("dispatch.queue_full", workflow=name, size=self.queue_size, event_kind=item.event.kind)
            raise QueueFull(f"{name}: queue of {self.queue_size} is full") from None
        item.workflow = name
        self._live[item.invocation_id] = item

    # -- consumers --------------------------------------------------------------------------
    async def _consume(self, name: str, q: asyncio.Queue[_Item]) -> None:
        while True:
            item = await q.get()
            self._running += 1
            self._drained.clear()
            try:
                result = await self._run(name, item)
            except asyncio.CancelledError:
                if item.done is not None and not item.done.done():
                    item.done.cancel()
                if not self._closed:  # its workflow was unloaded: it runs nowhere
                    self.on_finished(item.event.id)
                raise
            except Exception as exc:  # a host defect: logged, reported, and the queue goes on
                # `invoke` turns everything a workflow does into a result; what escapes it is our own
                # bug. Ending this task would stop the workflow's queue for good, silently.
                log.error("dispatch.invocation_crashed", workflow=name, invocation=item.invocation_id,
                          event_kind=item.event.kind, exc_info=True)
                self.metrics.invocations.labels(name, "crashed").inc()
                result = InvocationResult(id=item.invocation_id, workflow=name, event_id=item.event.id,
                                          event_kind=item.event.kind, outcome="crashed",
                                          error=f"host error: {type(exc).__name__}: {exc}",
                                          error_name=type(exc).__name__)
            finally:
                self._live.pop(item.invocation_id, None)
                self._running -= 1
                if self._running == 0:
                    self._drained.set()
            self.on_finished(item.event.id)
            self._tell(result)
            if item.done is not None and not item.done.done():
                item.done.set_result(result)

    async def _run(self, name: str, item: _Item) -> InvocationResult:
        wf = self.registry.get(name)
        if wf is None:
            return InvocationResult(id=item.invocation_id, workflow=name, event_id=item.event.id,
                                    event_kind=item.event.kind, outcome="rejected", error="workflow unloaded")

        async def publish(finding: Finding) -> None:
            self.metrics.findings.labels(name, finding.severity).inc()
            await self.findings.publish(finding)

        result = await invoke(wf, item.event, overrides=item.overrides, on_finding=publish,
                              invocation_id=item.invocation_id, cancel=item.cancel)
        self.metrics.invocations.labels(name, result.outcome).inc()
        self.metrics.duration.labels(name).observe(result.duration_seconds)
        self.results.append(result)
        del self.results[:-1000]
        return result

    def _tell(self, result: InvocationResult) -> None:
        for listen in self.result_listeners:
            listen(result)
