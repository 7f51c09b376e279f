"""`Host`: the runtime assembled from config — registry, dispatcher, sinks, sources, election.

Standbys (leader election on, not leading) load every workflow (and, through `host.service`,
serve the API), so they can take over warm, and run the event sources with their events held by
a `HandOver` gate (no dispatch), so a new leader knows what the old one saw and fires the
transitions the old one had not recorded as handled (`host.sources.handover`); they report
not-ready, so the Service sends them no traffic. A leader that stops drains its dispatcher
before it releases the Lease, so the release records exactly what ran. Stopping goes in
reverse order of starting and leaves no child process behind. `Host` is the API's `ApiBackend` without knowing the API: the methods
under "for the API" are all the API may ask of it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from typing import Any

import structlog

from host.capabilities.routes import build_router
from host.config import HostConfig
from host.findings.sinks import build_findings
from host.kube.client import KubeClient
from host.metrics import Metrics
from host.model.events import Event, Subject, Target
from host.model.invocation import InvocationResult
from host.paths import builtin_workflows_root
from host.runtime.dispatcher import Dispatcher
from host.sandbox.prepare import SandboxEnv
from host.sources.handover import HandOver
from host.sources.hooks import semantic_hooks
from host.sources.normalize import normalize_pod
from host.triggers.index import RateLimiter, TriggerIndex
from host.workflows.registry import FileStatus, Registry, WorkflowDir

log = structlog.get_logger(__name__)


def workflow_dirs(config: HostConfig) -> list[WorkflowDir]:
    """The built-in directory and each of its subdirectories, then the custom workflows' mount."""
    dirs: list[WorkflowDir] = []
    root = builtin_workflows_root(config.workflows.builtin_directory)
    dirs.append(WorkflowDir(root, "builtin"))
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        dirs.append(WorkflowDir(sub, "builtin"))
    ts = config.custom_workflows.typescript
    if ts.enabled:
        dirs.append(WorkflowDir(ts.volume.mount_path, "custom"))
    return dirs


class Host:
    def __init__(
        self, config: HostConfig, *, identity: str | None = None, kube: KubeClient | None = None,
        with_cluster: bool = True,
    ) -> None:
        self.config = config
        self.identity = identity or f"{socket.gethostname()}-{os.getpid()}"
        self.metrics = Metrics()
        self.env = SandboxEnv.from_config(config)
        self.kube = kube
        if self.kube is None and with_cluster:
            self.kube = KubeClient.from_config(config.cluster.kubeconfig)
        self.debug: Any = None
        if self.kube is not None:
            from host.debug.mechanism import Debugger

            self.debug = Debugger(self.kube, config.debug)
        self.router = build_router(
            kube=self.kube, debug=self.debug, dedupe_seconds=config.limits.finding_dedupe_seconds
        )
        self.findings = build_findings(config, metrics=self.metrics)
        self.registry = Registry(env=self.env, router=self.router, config=config, dirs=workflow_dirs(config))
        self.index = TriggerIndex()
        self.limiter = RateLimiter(config.triggers.per_subject_interval_seconds)
        self.dispatcher = Dispatcher(
            registry=self.registry, index=self.index, limiter=self.limiter, findings=self.findings,
            metrics=self.metrics, queue_size=config.sandbox.queue_size,
            concurrency=config.sandbox.concurrency_per_workflow,
        )
        self.leading = False
        self.started = False
        self._tasks: list[asyncio.Task[None]] = []
        self._sources_task: asyncio.Task[None] | None = None
        self._schedule_task: asyncio.Task[None] | None = None
        self.schedule_source: Any = None
        self.sources: Any = None
        self.handover: HandOver | None = None  # with leader election: the gate of the sources

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self, *, watch: bool = True) -> None:
        await self.findings.start()
        self.registry.on_change(self._on_registry_change)
        await self.registry.start(watch=watch)
        self.dispatcher.refresh()
        if self.kube is not None:
            if self.config.leader_election.enabled:
                from host.leader import LeaderElector

                self.handover = HandOver(self._emit)
                elector = LeaderElector(
                    self.kube, self.config.leader_election, self.identity, notes=self.handover
                )
                self.handover.on_handled = elector.renew_soon
                self.dispatcher.on_finished = self.handover.finished
                self._sources_task = asyncio.create_task(self._run_sources(), name="sources")
                self._tasks.append(asyncio.create_task(
                    elector.run(self._start_leading, self._stop_leading), name="leader-election"))
            else:
                await self._start_leading()
        else:
            self._start_schedules()  # no cluster, no election: this host is the one that fires them
        self.started = True
        log.info("host.started", identity=self.identity, workflows=[w.name for w in self.registry.workflows()],
                 election=self.config.leader_election.enabled)

    async def _start_leading(self) -> None:
        self.leading = True
        self.metrics.leader.set(1)
        log.info("host.leading", identity=self.identity)
        if self.handover is not None:
            await self.handover.take_over()
        else:
            self._sources_task = asyncio.create_task(self._run_sources(), name="sources")
        self._start_schedules()

    def _start_schedules(self) -> None:
        from host.sources.schedule import ScheduleSource

        self.schedule_source = ScheduleSource(self.registry.workflows, self.dispatcher)
        self._schedule_task = asyncio.create_task(self.schedule_source.run(), name="schedules")

    async def _stop_schedules(self) -> None:
        if self._schedule_task is not None:
            self._schedule_task.cancel()
            await asyncio.gather(self._schedule_task, return_exceptions=True)
            self._schedule_task = None

    async def _stop_leading(self) -> None:
        self.leading = False
        self.metrics.leader.set(0)
        log.info("host.standing_by", identity=self.identity)
        await self._stop_schedules()
        if self.handover is not None:
            self.handover.stand_by()  # the sources keep watching, their events held
            # What it queued and did not start stays above its record: the next leader runs it.
            self.dispatcher.drop_recorded(reason="stopped leading")
        else:
            await self._stop_sources()

    async def _stop_sources(self) -> None:
        if self._sources_task is not None:
            self._sources_task.cancel()
            await asyncio.gather(self._sources_task, return_exceptions=True)
            self._sources_task = None
            self.sources = None

    async def _run_sources(self) -> None:
        from host.sources.demand import SourceManager

        assert self.kube is not None
        self.sources = SourceManager(
            self.kube, self.config.cluster, self._emit, gate=self.handover, **semantic_hooks(self.config)
        )
        self.sources.want(self._wants())
        await self.sources.run()

    def _wants(self) -> Any:
        from host.sources.demand import wants_of

        return wants_of(spec for wf in self.registry.workflows() for spec in wf.triggers)

    def _on_registry_change(self) -> None:
        self.dispatcher.refresh()
        if self.sources is not None:
            self.sources.want(self._wants())

    async def _emit(self, event: Event) -> None:
        queued = await self.dispatcher.submit(event, recorded=self.handover is not None)
        if self.handover is not None:
            self.handover.queued(event.id, len(queued))

    async def submit(self, event: Event) -> list[str]:
        """An event for every matching workflow; returns the names of those queued."""
        return await self.dispatcher.submit(event)

    # -- for the API (`host.api.backend.ApiBackend`) ----------------------------------------
    def workflow_statuses(self) -> Sequence[FileStatus]:
        return self.registry.statuses()

    def workflow_names(self) -> list[str]:
        return [w.name for w in self.registry.workflows()]

    def workflow_capabilities(self, workflow: str) -> frozenset[str] | None:
        wf = next((w for w in self.registry.workflows() if w.name == workflow), None)
        return None if wf is None else wf.policy.declared

    def invocation(self, invocation_id: str) -> tuple[str, Event] | None:
        return self.dispatcher.live(invocation_id)

    def queue_depth(self, workflow: str) -> int:
        return self.dispatcher.depth(workflow)

    async def manual_event(self, target: Target, *, requested_by: str) -> Event:
        subject = Subject(kind="Pod", namespace=target.namespace, name=target.pod)
        event = Event(kind="manual", target=target, requested_by=requested_by, subject=subject)
        if self.kube is not None:
            event.pod = normalize_pod(await self.kube.get_pod(target.namespace, target.pod))
            event.subject = Subject(kind="Pod", namespace=target.namespace, name=target.pod,
                                    uid=event.pod.get("uid"))
        return event

    def trigger(
        self, workflow: str, event: Event, params: dict[str, Any], *, wait: bool
    ) -> tuple[str, asyncio.Future[InvocationResult] | None]:
        return self.dispatcher.trigger(workflow, event, params, wait=wait)

    def cancel(self, invocation_id: str, *, reason: str) -> bool:
        return self.dispatcher.cancel(invocation_id, reason=reason)

    def render_metrics(self) -> bytes:
        self.dispatcher.refresh_gauges()
        self.metrics.workers_warm.set(len(self.env.warm))
        if self.handover is not None:
            self.metrics.handover_pending.set(self.handover.pending)
            self.metrics.handover_pending_bytes.set(self.handover.pending_bytes)
            self.metrics.handover_unfinished.set(self.handover.ledger.open_events)
            self.metrics.handover_dropped.set(self.handover.dropped)
            self.metrics.handover_fired.set(self.handover.fired_at_takeover)
        self.metrics.asyncio_tasks.set(len(asyncio.all_tasks()))
        for sink, count in self.findings.failed.items():
            self.metrics.sink_failures.labels(sink).set(count)
        return self.metrics.render()

    @property
    def ready(self) -> bool:
        """Started, and (with a cluster) leading with every wanted watch past its baseline, so an
        object created from now on is seen as created (as informers wait for their cache sync)."""
        if not self.started:
            return False
        if self.kube is None:
            return True
        return self.leading and self.sources is not None and self.sources.synced

    async def stop(self) -> None:
        log.info("host.stopping", identity=self.identity)
        if self.handover is not None and self.leading:
            # Let what was queued finish (or be dropped) while we still hold the lease, so the
            # release records exactly what ran and the next leader fires the rest once.
            self.handover.drain()
            await self._stop_schedules()
            await self.dispatcher.close(grace=self.config.sandbox.shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.leading:
            await self._stop_leading()
        await self._stop_sources()
        await self._stop_schedules()
        await self.dispatcher.close(grace=self.config.sandbox.shutdown_grace_seconds)
        await self.registry.stop()
        try:
            await self.findings.flush(timeout=10)
        except TimeoutError:
            log.warning("host.findings_not_flushed", pending="some sink deliveries were still queued")
        await self.findings.close()
        if self.debug is not None:
            await self.debug.close()
        if self.kube is not None:
            self.kube.close()
        log.info("host.stopped", identity=self.identity)

