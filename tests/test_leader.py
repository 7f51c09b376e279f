"""Leader election on a Lease in the local cluster: one leader, fast hand-over, takeover after death."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from host.config import LeaderElectionConfig
from host.kube.client import KubeClient
from host.leader import LeaderElector
from host.localcluster import LocalCluster
from tests.kube.support import eventually, local_cluster

REPO = Path(__file__).resolve().parent.parent

CONFIG = LeaderElectionConfig(
    enabled=True,
    lease_name="wfhost-test",
    lease_namespace="default",
    lease_duration_seconds=2,
    renew_deadline_seconds=1.5,
    retry_period_seconds=0.2,
)

CHILD = """
import asyncio, sys
from pathlib import Path
from host.config import LeaderElectionConfig
from host.kube.client import KubeClient
from host.leader import LeaderElector

async def main() -> None:
    kube = KubeClient.from_config(Path(sys.argv[1]))
    config = LeaderElectionConfig.model_validate_json(sys.argv[2])
    async def started() -> None:
        print("LEADING", flush=True)
    async def stopped() -> None:
        print("STOPPED", flush=True)
    await LeaderElector(kube, config, "child").run(started, stopped)

asyncio.run(main())
"""


class Candidate:
    """One in-process elector with its own client, recording its transitions."""

    def __init__(self, cluster: LocalCluster, identity: str, config: LeaderElectionConfig = CONFIG) -> None:
        self.kube = KubeClient.from_config(cluster.kubeconfig_path)
        self.elector = LeaderElector(self.kube, config, identity)
        self.history: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.elector.run(self._started, self._stopped))
        return self

    async def _started(self) -> None:
        self.history.append("started")

    async def _stopped(self) -> None:
        self.history.append("stopped")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.kube.close()


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with local_cluster() as lc:
        yield lc


@pytest.fixture
async def candidates(cluster: LocalCluster) -> AsyncIterator[list[Candidate]]:
    made: list[Candidate] = []
    yield made
    for candidate in made:
        await candidate.stop()


async def test_only_one_of_two_candidates_leads(cluster: LocalCluster, candidates: list[Candidate]) -> None:
    a, b = Candidate(cluster, "a").start(), Candidate(cluster, "b").start()
    candidates.extend([a, b])

    await eventually(lambda: a.elector.is_leader or b.elector.is_leader, what="a leader")
    deadline = time.monotonic() + 2 * CONFIG.lease_duration_seconds
    while time.monotonic() < deadline:
        assert [a.elector.is_leader, b.elector.is_leader].count(True) == 1
        await asyncio.sleep(0.05)

    leader = a if a.elector.is_leader else b
    lease = await leader.kube.get_lease("default", "wfhost-test")
    assert lease["spec"]["holderIdentity"] == leader.elector.identity
    assert leader.history == ["started"]


async def test_a_standby_takes_over_at_once_when_the_leader_shuts_down(
    cluster: LocalCluster, candidates: list[Candidate]
) -> None:
    first = Candidate(cluster, "first").start()
    candidates.append(first)
    await eventually(lambda: first.elector.is_leader, what="the first to lead")
    second = Candidate(cluster, "second").start()
    candidates.append(second)
    await asyncio.sleep(0.5)
    assert not second.elector.is_leader

    stopped_at = time.monotonic()
    await first.stop()
    await eventually(lambda: second.elector.is_leader, what="the standby to take over")

    # Released, not expired: the hand-over needs a retry period, not a lease duration.
    assert time.monotonic() - stopped_at < CONFIG.lease_duration_seconds
    assert first.history == ["started", "stopped"]
    lease = await second.kube.get_lease("default", "wfhost-test")
    assert lease["spec"]["holderIdentity"] == "second"
    assert lease["spec"]["leaseTransitions"] == 1


async def test_a_standby_takes_over_after_the_leader_dies(
    cluster: LocalCluster, candidates: list[Candidate]
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(cluster.kubeconfig_path),
        CONFIG.model_dump_json(),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert child.stdout is not None
        line = b""
        while line.strip() != b"LEADING":  # structlog's default output shares stdout
            line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert line, "the child exited before leading"
        standby = Candidate(cluster, "standby").start()
        candidates.append(standby)
        await asyncio.sleep(CONFIG.lease_duration_seconds * 1.5)
        assert not standby.elector.is_leader

        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await child.wait()
        await eventually(lambda: standby.elector.is_leader, timeout=30, what="the standby to take over")
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()

    waited = time.monotonic() - killed_at
    # The lease must run out first (about one lease duration), and not much longer than that.
    assert CONFIG.lease_duration_seconds * 0.5 <= waited <= CONFIG.lease_duration_seconds * 5


async def test_the_leader_steps_down_when_it_cannot_renew_within_the_deadline(
    cluster: LocalCluster, candidates: list[Candidate]
) -> None:
    leader = Candidate(cluster, "leader").start()
    candidates.append(leader)
    await eventually(lambda: leader.elector.is_leader, what="leading")

    cluster.throttle_next(10_000, retry_after=1)
    try:
        await eventually(lambda: not leader.elector.is_leader, timeout=30, what="stepping down")
    finally:
        cluster.throttle_next(0)

    # is_leader drops first; on_stopped_leading is awaited right after. Once the API answers
    # again the leader may win the lease back within one poll of ours (its first try is
    # immediate), so only the order is asserted here, not that we caught the moment between.
    await eventually(lambda: leader.history[:2] == ["started", "stopped"], what="on_stopped_leading")
    await eventually(lambda: leader.elector.is_leader, timeout=30, what="leading again once the API answers")
    await eventually(lambda: leader.history == ["started", "stopped", "started"], what="on_started_leading")
