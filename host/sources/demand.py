"""`SourceManager`: watch exactly the kinds that loaded workflows want, one shared watch per kind.

What the loaded workflows' triggers name decides which feeds run (`wants_of`):

- `pod.*` kinds -> pods; `k8s.warningEvent`, `pod.probeFailing` -> Warning Events;
  `job.failed` -> batch/v1 Jobs; `node.notReady`, `node.pressure` -> Nodes;
  `deployment.rolloutStuck` -> apps/v1 Deployments;
- `{ on: "k8s.create" | "k8s.update" | "k8s.delete", resource: "apps/v1/Deployment" }` -> that kind
  (any kind the API server serves, CRDs included, resolved through discovery).

`want(wants)` is called whenever the registry changes; the manager then starts the feeds newly
wanted and stops (cancels) the ones no workflow wants any more. A feed already running is kept as
it is: which of its event kinds leave it is read from the current wants on every event. A feed
that fails is restarted after `RESTART_SECONDS`; a kind the server does not serve is retried at
the same pace and logged each time. Without leader election feeds run only while this host leads;
with it they run on every replica, and the `gate` given (`host.sources.handover.HandOver`) holds
a standby's events back (`host.sources.follow.Gate`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from host.config import ClusterConfig
from host.errors import KubeError
from host.kube.client import KubeClient
from host.kube.discovery import KindResolver, UnknownKind
from host.model.events import Event
from host.model.resources import EVENTS, PODS, BadKind, Resource, parse_kind
from host.model.vocabulary import POD_KINDS
from host.sources.changes import ChangeClassifier
from host.sources.follow import Gate, OpenGate, ResourceSource
from host.sources.k8s_events import WarningEventSource
from host.sources.objects import ObjectDigest
from host.sources.pods import PodSource
from host.sources.scopes import EventCounts
from host.sources.tracker import Classifier, PodTracker

log = structlog.get_logger(__name__)

RESTART_SECONDS = 5.0
GENERIC_KINDS = frozenset({"k8s.create", "k8s.update", "k8s.delete"})
# The feed each semantic event kind reads (generic change events name their kind themselves).
FEED_OF_KIND: dict[str, str] = {
    # Every pod.* kind comes from the pod watch, but pod.probeFailing, derived from Unhealthy Events.
    **{kind: PODS.key for kind in POD_KINDS if kind != "pod.probeFailing"},
    "k8s.warningEvent": EVENTS.key,
    "pod.probeFailing": EVENTS.key,
    "job.failed": "batch/v1/Job",
    "node.notReady": "v1/Node",
    "node.pressure": "v1/Node",
    "deployment.rolloutStuck": "apps/v1/Deployment",
}
# Generic change events of core Events come from a feed of all Events, not only Warnings.
ALL_EVENTS = "v1/Event+all"


@dataclass(frozen=True)
class Wants:
    """Event kinds some loaded workflow triggers on, and per kind of object the generic ones."""

    kinds: frozenset[str] = frozenset()
    changes: dict[str, frozenset[str]] = field(default_factory=dict)

    def feeds(self) -> set[str]:
        feeds = {FEED_OF_KIND[kind] for kind in self.kinds if kind in FEED_OF_KIND}
        for key in self.changes:
            feeds.add(ALL_EVENTS if key == EVENTS.key else key)
        return feeds

    def wants(self, feed: str, kind: str) -> bool:
        if kind in GENERIC_KINDS:
            key = EVENTS.key if feed == ALL_EVENTS else feed
            return kind in self.changes.get(key, frozenset())
        return kind in self.kinds and FEED_OF_KIND.get(kind) == feed


def wants_of(triggers: Iterable[Any]) -> Wants:
    """The `Wants` of every trigger spec given (objects with `on` and `resource`)."""
    kinds: set[str] = set()
    changes: dict[str, set[str]] = {}
    for spec in triggers:
        on = str(spec.on)
        if on in GENERIC_KINDS:
            resource = getattr(spec, "resource", None)
            if not resource:
                continue
            try:
                key = parse_kind(resource).key
            except BadKind:
                continue  # refused when the workflow loaded; never a feed
            changes.setdefault(key, set()).add(on)
        else:
            kinds.add(on)
    return Wants(frozenset(kinds), {key: frozenset(on) for key, on in changes.items()})


# Classifiers of the semantic events each feed produces, beside the generic change events.
SemanticFactory = Callable[[Resource], list[Classifier]]


class SourceManager:
    """Runs one `ResourceSource` per wanted feed; see the module docstring."""

    def __init__(
        self,
        kube: KubeClient,
        config: ClusterConfig,
        emit: Callable[[Event], Awaitable[None]],
        *,
        resolver: KindResolver | None = None,
        semantic: SemanticFactory = lambda resource: [],
        pod_extras: Callable[[], tuple[list[Classifier], list[Any]]] = lambda: ([], []),
        warning_extras: Callable[[], list[Any]] = lambda: [],
        gate: Gate | None = None,
    ) -> None:
        self.kube = kube
        self.config = config
        self.emit = emit
        self.resolver = resolver if resolver is not None else KindResolver(kube)
        self.counts = EventCounts()
        self._semantic = semantic
        self._pod_extras = pod_extras
        self._warning_extras = warning_extras
        self.gate: Gate = gate if gate is not None else OpenGate()
        self._wants = Wants()
        self._wake = asyncio.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.sources: dict[str, ResourceSource] = {}
        self.pod_tracker: PodTracker | None = None
        self.started_total = 0
        self._reconciled = False

    def want(self, wants: Wants) -> None:
        """Set what the loaded workflows want; the running manager reconciles at once."""
        self._wants = wants
        self._wake.set()

    @property
    def current(self) -> Wants:
        return self._wants

    @property
    def synced(self) -> bool:
        """Every wanted feed that could start has listed its baseline (a feed the server cannot
        serve, e.g. an unknown CRD, is retried and logged, and does not hold readiness back)."""
        return self._reconciled and all(source.synced for source in self.sources.values())

    async def run(self) -> None:
        """Reconcile on every change of wants (and every `RESTART_SECONDS` to retry failures)."""
        try:
            while True:
                self._wake.clear()
                await self._reconcile()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=RESTART_SECONDS)
                except TimeoutError:
                    pass
        finally:
            await self._stop(list(self.tasks))

    async def _reconcile(self) -> None:
        wanted = self._wants.feeds()
        await self._stop([feed for feed in self.tasks if feed not in wanted])
        for feed, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[feed]
                self.sources.pop(feed, None)
                failure = None if task.cancelled() else task.exception()
                if failure is not None:
                    log.error("sources.crashed", feed=feed, error=repr(failure), exc_info=failure)
        for feed in sorted(wanted - set(self.tasks)):
            try:
                source = await self._build(feed)
            except (UnknownKind, BadKind, KubeError) as exc:
                log.error("sources.unavailable", feed=feed, error=str(exc), retry_seconds=RESTART_SECONDS)
                continue
            source.gate = self.gate
            self.sources[feed] = source
            self.tasks[feed] = asyncio.create_task(self._supervise(feed, source), name=f"source-{feed}")
            self.started_total += 1
            log.info("sources.started", feed=feed)
        self._reconciled = True

    async def _stop(self, feeds: list[str]) -> None:
        tasks = [self.tasks.pop(feed) for feed in feeds if feed in self.tasks]
        for feed in feeds:
            self.sources.pop(feed, None)
            if feed == PODS.key:
                self.pod_tracker = None
            log.info("sources.stopped", feed=feed)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, feed: str, source: ResourceSource) -> None:
        try:
            await source.run(self.emit)
        except KubeError as exc:
            log.error("sources.failed", feed=feed, error=str(exc), restart_seconds=RESTART_SECONDS)
            self._wake.set()

    def _wants_for(self, feed: str) -> Callable[[str], bool]:
        return lambda kind: self._wants.wants(feed, kind)

    async def _build(self, feed: str) -> ResourceSource:
        wants = self._wants_for(feed)
        if feed == PODS.key:
            classifiers, timers = self._pod_extras()
            pods = PodSource(
                self.kube,
                self.config,
                counts=self.counts,
                wants=wants,
                extra=[ChangeClassifier(wants), *classifiers],
                timers=timers,
            )
            self.pod_tracker = pods.tracker
            return pods
        if feed == EVENTS.key:
            source = WarningEventSource(
                self.kube, self.config, counts=self.counts, wants=wants, extra=self._warning_extras()
            )
            source.warnings.pods = lambda: self.pod_tracker
            return source
        resource = EVENTS if feed == ALL_EVENTS else await self.resolver.resolve(parse_kind(feed))
        digest = ObjectDigest(resource, [ChangeClassifier(wants), *self._semantic(resource)], wants=wants)
        return ResourceSource(self.kube, resource, digest, self.config, counts=self.counts)
