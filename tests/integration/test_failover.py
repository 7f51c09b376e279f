"""Failover without loss (issue #14, point 3): the leader is SIGKILLed during a burst of
transitions; the standby, which kept watching, takes over within the lease duration and fires
every transition of the gap exactly once. Stopped cleanly (SIGTERM) instead, the leader drains
before it releases the Lease, and every transition of the burst fires exactly once. Two real
`wfhost run` processes, on both control planes.

Every finding lands in one files-sink directory shared by both hosts, so the test counts the
invocations outside either host. The killed host is started again on its own state directory (as
Kubernetes restarts a container): findings it stored before the kill but had not yet delivered
are delivered then (docs/reliability.md), so "fired" means "stored by the host that ran it".
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

from host.localcluster import LocalCluster
from tests.integration.conftest import RunningHost, titles, wait_for

LEASE_SECONDS = 4.0
RETRY_SECONDS = 0.5
ELECTION = {"enabled": True, "leaseName": "wfhost-failover", "leaseNamespace": "default",
            "leaseDurationSeconds": LEASE_SECONDS, "renewDeadlineSeconds": 3, "retryPeriodSeconds": RETRY_SECONDS}
PODS = 90
KILL_AFTER = 15  # pods whose two transitions are written before the leader is killed
CRASH_LOOP = {"status": {"phase": "Running", "containerStatuses": [{
    "name": "main", "ready": False, "restartCount": 3, "image": "python:3.11", "imageID": "",
    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-23T10:00:00Z",
                                 "finishedAt": "2026-11-23T10:00:01Z"}}}]}}


def _idle_pod(name: str) -> dict[str, Any]:
    """A pod no scheduler or kubelet touches (another schedulerName): only the test writes its status."""
    return {"metadata": {"name": name}, "spec": {"schedulerName": "nobody", "containers": [
        {"name": "main", "image": "python:3.11", "command": ["sleep", "600"]}]}}


class ReadyWatch(threading.Thread):
    """Polls a host's /readyz and notes when it first answers 200."""

    def __init__(self, host: RunningHost) -> None:
        super().__init__(daemon=True)
        self.host = host
        self.ready_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.ready_at is None:
            if self.host.status("/readyz") == 200:
                self.ready_at = time.monotonic()
            time.sleep(0.05)


def _metric(host: RunningHost, name: str) -> float:
    with urllib.request.urlopen(f"{host.url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


def _baselined(host: RunningHost) -> bool:
    return '"source.baseline"' in host.log.read_text()


def _burst(cluster: LocalCluster, start_host: Any, sig: signal.Signals) -> dict[str, Any]:
    """Two hosts, a burst, the leader signalled after `KILL_AFTER` pods; the counts and times."""
    first = start_host("first", leaderElection=ELECTION)
    second = start_host("second", wait_ready=False, leaderElection=ELECTION)
    wait_for(lambda: _baselined(second), timeout=60, what="the standby's baseline")
    api = cluster.core_v1()
    api.create_namespaced_pod("default", _idle_pod("sentinel"))
    wait_for(lambda: "pod.create sentinel" in titles(first.findings), timeout=60, what="the sentinel")
    assert second.status("/readyz") == 503
    # The standby saw the sentinel too, and dropped it once the leader's record covered it.
    wait_for(lambda: _metric(second, "wfhost_handover_pending") == 0, timeout=10, what="the standby to prune")

    takeover = ReadyWatch(second)
    written: dict[str, float] = {}  # transition -> when the test wrote it
    killed_at = 0.0
    for i in range(PODS):
        name = f"burst-{i:02d}"
        api.create_namespaced_pod("default", _idle_pod(name))
        written[f"pod.create {name}"] = time.monotonic()
        api.patch_namespaced_pod_status(name, "default", CRASH_LOOP)
        written[f"pod.crashLoop {name}"] = time.monotonic()
        if i + 1 == KILL_AFTER:
            os.kill(first.proc.pid, sig)
            killed_at = time.monotonic()
            takeover.start()
        time.sleep(0.05)
    wait_for(lambda: takeover.ready_at is not None, timeout=60, what="the standby to take over")
    assert takeover.ready_at is not None
    took = takeover.ready_at - killed_at

    # Kubernetes would restart the container: its own store delivers what it had stored.
    first.proc.wait(60)
    start_host("first", wait_ready=False, leaderElection=ELECTION)

    def fired() -> Counter[str]:
        return Counter(t for t in titles(first.findings) if t in written or t == "pod.create sentinel")

    wait_for(lambda: set(fired()) >= set(written), timeout=180,
             what=f"every transition to fire ({len(set(written) - set(fired()))} missing)")
    time.sleep(3)  # time for a second copy to show
    counts = fired()
    before = {t for t, at in written.items() if at < killed_at}
    gap = {t for t, at in written.items() if killed_at <= at < takeover.ready_at}
    after = set(written) - before - gap
    twice_before = sorted(t for t in before if counts[t] > 1)
    print(f"\n{sig.name}: takeover {took:.2f} s after the signal; transitions: {len(before)} before it, "
          f"{len(gap)} in the gap, {len(after)} after; fired twice: {len(twice_before)} {twice_before}")
    assert set(counts) == set(written) | {"pod.create sentinel"}  # nothing lost
    assert counts["pod.create sentinel"] == 1
    assert '"handover.took_over"' in second.log.read_text()
    fired_from_pending = _metric(second, "wfhost_handover_takeover_fired")
    print(f"fired from the standby's pending events at the take-over: {fired_from_pending:g}")
    return {"fired": fired_from_pending, "took": took, "counts": counts, "before": before, "gap": gap, "after": after}


def test_a_leader_killed_during_a_burst_loses_no_transition_and_the_gap_fires_exactly_once(
    cluster: LocalCluster, start_host: Any
) -> None:
    run = _burst(cluster, start_host, signal.SIGKILL)
    counts, before, gap, after = run["counts"], run["before"], run["gap"], run["after"]
    assert run["took"] <= LEASE_SECONDS + 2 * RETRY_SECONDS + 1.5, f"took over {run['took']:.2f} s after the kill"
    assert len(gap) >= 10, "the burst must write transitions while no host leads"
    assert run["fired"] >= 10  # the gap came from the standby's pending events, not from a re-list
    assert {t: counts[t] for t in gap | after if counts[t] != 1} == {}  # the gap, exactly once
    # Before the kill at least once: a second copy only for what the old leader had not yet
    # recorded as finished (the window docs/reliability.md describes), never a third.
    assert max(counts[t] for t in before) <= 2
    assert sum(counts[t] > 1 for t in before) <= len(before) // 2


def test_a_leader_stopped_during_a_burst_drains_first_and_every_transition_fires_exactly_once(
    cluster: LocalCluster, start_host: Any
) -> None:
    run = _burst(cluster, start_host, signal.SIGTERM)
    counts = run["counts"]
    assert run["took"] < LEASE_SECONDS, "released, not expired"
    assert {t: n for t, n in counts.items() if n != 1} == {}
