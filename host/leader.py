"""Leader election on a coordination.k8s.io/v1 Lease: one active host per cluster, warm standbys.

Every candidate reads the Lease every `retryPeriodSeconds`. A candidate takes it when it is free
(no holder: never held, or released) or expired, by writing itself as holder with the
resourceVersion it read: the API server's optimistic concurrency lets exactly one writer win, and
everyone else gets `409 Conflict`. The leader renews every retry period; when no renewal has
succeeded within `renewDeadlineSeconds` (or the Lease names another holder) it stops leading at
once, before anyone else can take over, since `renewDeadline < leaseDuration`.

Expiry is judged as client-go judges it: by how long *this* candidate has watched the same Lease
record go unrenewed (a monotonic clock), not by comparing the holder's `renewTime` with our wall
clock. With clocks in agreement the two are the same (the record changes when it is renewed);
with skewed clocks the wall-clock rule would let a standby whose clock runs ahead steal a healthy
leader's lease on every try. The price: a fresh candidate that finds an abandoned Lease waits one
lease duration before taking it; a released Lease is taken at once.

On clean shutdown the leader releases the Lease (no holder, 1 s duration) so a standby takes over
at its next try instead of waiting for expiry.

The Lease also carries notes (`LeaseNotes`, the host's `host.sources.handover.HandOver`): every
read hands its annotations to `observed`, every write (take, renew, release) sets the annotations
`annotations()` returns, so the record of what the leader handled travels with the lease and is
fenced as the lease is: a write succeeds only with the resourceVersion just read and only while
the lease names us (or has expired), so a deposed leader cannot overwrite its successor's record.
`renew_soon()` asks for the next write early (at most one per `NOTE_INTERVAL_SECONDS` beyond the
renewals), so the record trails what was handled by a fraction of a second, not a retry period.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from host.config import LeaderElectionConfig
from host.errors import Conflict, KubeError, NotFound
from host.kube.client import KubeClient

log = structlog.get_logger(__name__)

Callback = Callable[[], Awaitable[None]]
NOTE_INTERVAL_SECONDS = 0.2


class LeaseNotes(Protocol):
    """What rides on the Lease beside the election: annotations read and written with it."""

    def observed(self, annotations: dict[str, str]) -> None:
        """The Lease's annotations, as just read (whoever holds it)."""
        ...

    def annotations(self) -> dict[str, str]:
        """The annotations to write with our next take, renewal or release."""
        ...


class _Outcome(enum.Enum):
    HELD = "held"  # we hold the lease now
    OTHER = "other"  # someone else holds a live lease
    CONFLICT = "conflict"  # our write lost a race; look again


def micro_time(when: datetime | None = None) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaign for a Lease, lead while it is renewed, stand by otherwise."""

    def __init__(
        self, kube: KubeClient, config: LeaderElectionConfig, identity: str, *, notes: LeaseNotes | None = None
    ) -> None:
        self.kube = kube
        self.config = config
        self.identity = identity
        self.notes = notes
        self._soon = asyncio.Event()
        self.transitions = 0
        self._leader = False
        self._may_hold = False  # the lease may name us: release it on shutdown
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._log = log.bind(lease=f"{config.lease_namespace}/{config.lease_name}", identity=identity)

    @property
    def is_leader(self) -> bool:
        return self._leader

    def renew_soon(self) -> None:
        """While leading, renew (and so write the notes) within `NOTE_INTERVAL_SECONDS`."""
        self._soon.set()

    async def run(self, on_started_leading: Callback, on_stopped_leading: Callback) -> None:
        """Elect forever (until cancelled).

        `on_started_leading()` runs as its own task when leadership is won: it may return at once
        (e.g. flip a flag) or run for as long as we lead; it is cancelled when leadership ends, and
        an exception from it ends `run`. `on_stopped_leading()` is awaited whenever leadership
        ends (lost, or shutdown). On cancellation a held Lease is released.
        """
        try:
            while True:
                await self._acquire()
                await self._lead(on_started_leading, on_stopped_leading)
        finally:
            if self._may_hold:
                await self._release()

    # -- phases ------------------------------------------------------------------------------

    async def _acquire(self) -> None:
        while True:
            try:
                outcome = await self._try_acquire_or_renew()
            except KubeError as exc:
                self._log.warning("leader election: cannot read or write the lease", error=str(exc))
                outcome = _Outcome.CONFLICT
            if outcome is _Outcome.HELD:
                self._leader = True
                self._may_hold = True
                self.transitions += 1
                self._log.info("leader election: started leading")
                return
            await asyncio.sleep(self._jittered(self.config.retry_period_seconds))

    async def _lead(self, on_started_leading: Callback, on_stopped_leading: Callback) -> None:
        leading = asyncio.create_task(_run_callback(on_started_leading), name="on-started-leading")
        try:
            await self._renew_until_lost(leading)
        finally:
            self._leader = False
            if not leading.done():
                leading.cancel()
            # wait() never raises, so a cancellation of *this* task is not mistaken for the
            # callback's own and swallowed.
            await asyncio.wait([leading])
            self._log.info("leader election: stopped leading")
            await on_stopped_leading()
        error = None if leading.cancelled() else leading.exception()
        if error is not None:
            raise error

    async def _renew_until_lost(self, leading: asyncio.Task[None]) -> None:
        last_renewed = time.monotonic()
        while True:
            await self._pause()
            if leading.done() and not leading.cancelled() and leading.exception() is not None:
                return  # `_lead` re-raises it
            deadline = last_renewed + self.config.renew_deadline_seconds
            remaining = deadline - time.monotonic()
            outcome: _Outcome | None = None
            if remaining > 0:
                try:
                    outcome = await asyncio.wait_for(self._try_acquire_or_renew(), timeout=remaining)
                except (KubeError, TimeoutError) as exc:
                    self._log.warning("leader election: renewal failed", error=str(exc) or type(exc).__name__)
            if outcome is _Outcome.HELD:
                last_renewed = time.monotonic()
            elif outcome is _Outcome.OTHER:
                self._may_hold = False
                self._log.warning("leader election: the lease names another holder")
                return
            elif time.monotonic() >= deadline:
                self._log.warning(
                    "leader election: no renewal within the renew deadline",
                    renew_deadline=self.config.renew_deadline_seconds,
                )
                return

    async def _pause(self) -> None:
        """One retry period, or less when `renew_soon` asked (never under `NOTE_INTERVAL_SECONDS`)."""
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._soon.wait(), self.config.retry_period_seconds)
        except TimeoutError:
            return
        self._soon.clear()
        await asyncio.sleep(max(0.0, NOTE_INTERVAL_SECONDS - (time.monotonic() - started)))

    # -- one try -----------------------------------------------------------------------------

    async def _try_acquire_or_renew(self) -> _Outcome:
        ns, name = self.config.lease_namespace, self.config.lease_name
        now = datetime.now(UTC)
        try:
            lease = await self.kube.get_lease(ns, name)
        except NotFound:
            body = self._lease_body(name, ns, spec=self._spec(now, acquired=now, transitions=0))
            try:
                await self.kube.create_lease(ns, body)
            except Conflict:
                return _Outcome.CONFLICT
            return _Outcome.HELD
        spec = lease.get("spec") or {}
        metadata = lease.get("metadata") or {}
        if self.notes is not None:
            self.notes.observed(dict(metadata.get("annotations") or {}))
        holder = spec.get("holderIdentity") or ""
        self._observe((holder, spec.get("renewTime"), metadata.get("resourceVersion")))
        duration = float(spec.get("leaseDurationSeconds") or self.config.lease_duration_seconds)
        expired = time.monotonic() - self._observed_at > duration
        if holder and holder != self.identity and not expired:
            return _Outcome.OTHER
        ours = holder == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
        acquired = str(spec["acquireTime"]) if ours and spec.get("acquireTime") else micro_time(now)
        body = self._lease_body(name, ns, spec=self._spec(now, acquired=acquired, transitions=transitions))
        body["metadata"]["resourceVersion"] = metadata.get("resourceVersion")
        try:
            updated = await self.kube.replace_lease(ns, name, body)
        except Conflict:
            return _Outcome.CONFLICT
        new_spec = updated.get("spec") or {}
        self._observe(
            (self.identity, new_spec.get("renewTime"), (updated.get("metadata") or {}).get("resourceVersion"))
        )
        return _Outcome.HELD

    async def _release(self) -> None:
        """Give the lease up if we hold it, so a standby need not wait for it to expire."""
        ns, name = self.config.lease_namespace, self.config.lease_name
        try:
            lease = await asyncio.wait_for(self.kube.get_lease(ns, name), self.config.renew_deadline_seconds)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            body = self._lease_body(
                name,
                ns,
                spec={
                    "holderIdentity": None,
                    "leaseDurationSeconds": 1,
                    "acquireTime": spec.get("acquireTime"),
                    "renewTime": micro_time(),
                    "leaseTransitions": spec.get("leaseTransitions") or 0,
                },
            )
            body["metadata"]["resourceVersion"] = (lease.get("metadata") or {}).get("resourceVersion")
            await asyncio.wait_for(
                self.kube.replace_lease(ns, name, body), self.config.renew_deadline_seconds
            )
            self._may_hold = False
            self._log.info("leader election: released the lease")
        except (KubeError, TimeoutError) as exc:
            # Nothing lost: the lease simply expires after its duration instead.
            self._log.warning("leader election: could not release the lease", error=str(exc) or "timeout")

    # -- helpers -----------------------------------------------------------------------------

    def _observe(self, record: tuple[Any, ...]) -> None:
        if record != self._observed:
            self._observed = record
            self._observed_at = time.monotonic()

    def _spec(self, now: datetime, *, acquired: datetime | str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, math.ceil(self.config.lease_duration_seconds)),
            "acquireTime": acquired if isinstance(acquired, str) else micro_time(acquired),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }

    def _lease_body(self, name: str, namespace: str, *, spec: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        self._annotate(body)
        return body

    def _annotate(self, body: dict[str, Any]) -> None:
        if self.notes is not None:
            annotations = self.notes.annotations()
            if annotations:
                body["metadata"]["annotations"] = annotations

    @staticmethod
    def _jittered(seconds: float) -> float:
        return seconds * (1 + random.uniform(0, 0.2))


async def _run_callback(callback: Callback) -> None:
    await callback()
