"""What rides on the Lease (`LeaseNotes`): the leader writes its notes with the lease, soon after it
asks; a standby reads them; a deposed leader cannot overwrite its successor's (fencing). On both
control planes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from host.config import LeaderElectionConfig
from host.kube.client import KubeClient
from host.leader import LeaderElector, micro_time
from tests.clusters import CONTROL_PLANES, open_cluster
from tests.kube.support import eventually

NOTE = "wfhost.io/handled"
LEASE = "wfhost-notes-test"


def election(*, retry: float) -> LeaderElectionConfig:
    return LeaderElectionConfig(
        enabled=True, lease_name=LEASE, lease_namespace="default",
        lease_duration_seconds=max(2.0, 3 * retry), renew_deadline_seconds=max(1.5, 2 * retry),
        retry_period_seconds=retry,
    )


class Notes:
    """A `LeaseNotes` holding one value, remembering every annotation set it read."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.seen: list[dict[str, str]] = []

    def observed(self, annotations: dict[str, str]) -> None:
        self.seen.append(annotations)

    def annotations(self) -> dict[str, str]:
        return {NOTE: self.value}


class Candidate:
    def __init__(self, cluster: Any, identity: str, config: LeaderElectionConfig, notes: Notes) -> None:
        self.kube = KubeClient.from_config(cluster.kubeconfig_path)
        self.notes = notes
        self.elector = LeaderElector(self.kube, config, identity, notes=notes)
        self.history: list[str] = []
        self.task = asyncio.create_task(self.elector.run(self._started, self._stopped))

    async def _started(self) -> None:
        self.history.append("started")

    async def _stopped(self) -> None:
        self.history.append("stopped")

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.kube.close()


@pytest.fixture(params=CONTROL_PLANES)
def cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_cluster(request.param, request) as lc:
        yield lc


@pytest.fixture
async def candidates() -> AsyncIterator[list[Candidate]]:
    made: list[Candidate] = []
    yield made
    for candidate in made:
        await candidate.stop()


def lease_notes(cluster: Any) -> dict[str, str]:
    lease = cluster.coordination_v1().read_namespaced_lease(LEASE, "default")
    return dict(lease.metadata.annotations or {})


async def test_the_leader_writes_its_notes_with_the_lease_and_within_a_moment_when_it_asks(
    cluster: Any, candidates: list[Candidate]
) -> None:
    # A retry period of 20 s: without renew_soon the second value would wait that long.
    leader = Candidate(cluster, "leader", election(retry=20), Notes("first"))
    candidates.append(leader)
    await eventually(lambda: leader.elector.is_leader, timeout=30, what="a leader")
    assert lease_notes(cluster)[NOTE] == "first"
    await asyncio.sleep(0.5)  # past the first pause's start

    leader.notes.value = "second"
    asked = time.monotonic()
    leader.elector.renew_soon()
    await eventually(lambda: lease_notes(cluster).get(NOTE) == "second", timeout=5, what="the new notes")
    assert time.monotonic() - asked < 3
    lease = cluster.coordination_v1().read_namespaced_lease(LEASE, "default")
    assert lease.spec.holder_identity == "leader"


async def test_a_standby_reads_the_leaders_notes(cluster: Any, candidates: list[Candidate]) -> None:
    config = election(retry=0.2)
    leader = Candidate(cluster, "leader", config, Notes("the leader's"))
    candidates.append(leader)
    await eventually(lambda: leader.elector.is_leader, timeout=30, what="a leader")
    standby = Candidate(cluster, "standby", config, Notes("the standby's"))
    candidates.append(standby)
    await eventually(lambda: {NOTE: "the leader's"} in standby.notes.seen, timeout=10, what="the standby's read")
    assert not standby.elector.is_leader
    assert lease_notes(cluster)[NOTE] == "the leader's"  # the standby never wrote


async def test_a_deposed_leader_cannot_overwrite_its_successors_notes(
    cluster: Any, candidates: list[Candidate]
) -> None:
    config = election(retry=0.2)
    old = Candidate(cluster, "old", config, Notes("the old leader's"))
    candidates.append(old)
    await eventually(lambda: old.elector.is_leader, timeout=30, what="a leader")

    # A successor takes the lease (as one does after the old leader's lease expired unseen, e.g.
    # across a partition), with its own notes; the old leader keeps trying to renew.
    coordination = cluster.coordination_v1()
    for _ in range(50):
        lease = coordination.read_namespaced_lease(LEASE, "default")
        lease.spec.holder_identity = "successor"
        lease.spec.renew_time = micro_time()
        lease.spec.lease_duration_seconds = 60
        lease.metadata.annotations = {NOTE: "the successor's"}
        try:
            coordination.replace_namespaced_lease(LEASE, "default", lease)
            break
        except ApiException as exc:
            if exc.status != 409:  # the old leader's renewal got in between: read again
                raise
    else:
        raise AssertionError("could not replace the lease")

    await eventually(lambda: old.history == ["started", "stopped"], timeout=10, what="the old leader to step down")
    deadline = time.monotonic() + 10 * config.retry_period_seconds
    while time.monotonic() < deadline:  # it goes on trying as a candidate, and never writes
        assert lease_notes(cluster)[NOTE] == "the successor's"
        await asyncio.sleep(0.1)
    lease = coordination.read_namespaced_lease(LEASE, "default")
    assert lease.spec.holder_identity == "successor"
    assert {NOTE: "the successor's"} in old.notes.seen
