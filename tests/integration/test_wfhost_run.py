"""`wfhost run` against the local cluster: edge-triggered events, no loss and no duplicates, failover."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from host.localcluster import LocalCluster
from tests.integration.conftest import titles, wait_for

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def _pod(name: str, command: list[str], *, restart: str = "Always") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"restartPolicy": restart, "containers": [
        {"name": "main", "image": "python:3.11", "command": command}]}}


def _sentinel(cluster: LocalCluster, host: Any) -> None:
    """Make sure the host's watches are past their baseline: a pod created now must show up."""
    cluster.core_v1().create_namespaced_pod("default", _pod("sentinel", ["sleep", "300"]))
    wait_for(lambda: "pod.create sentinel" in titles(host.findings), timeout=60, what="the sentinel's pod.create")


def test_a_crash_looping_pod_yields_exactly_one_crashloop_invocation(cluster: LocalCluster, start_host: Any) -> None:
    host = start_host()
    _sentinel(cluster, host)
    api = cluster.core_v1()
    api.create_namespaced_pod("default", _pod("crasher", ["python", "-c", "import sys; sys.exit(3)"]))

    def restarts() -> int:
        st = api.read_namespaced_pod("crasher", "default").status.container_statuses or []
        return st[0].restart_count if st else 0

    wait_for(lambda: restarts() >= 4, timeout=90, what="four restarts")
    time.sleep(2)
    seen = Counter(titles(host.findings))
    assert seen["pod.crashLoop crasher"] == 1, seen
    assert seen["pod.create crasher"] == 1, seen


def test_a_real_oom_kill_yields_one_oomkilled_invocation(cluster: LocalCluster, start_host: Any) -> None:
    host = start_host()
    _sentinel(cluster, host)
    hog = _pod("hog", ["python", "-c", "b = []\nwhile True:\n    b.append(bytearray(16 << 20))"], restart="Never")
    hog["spec"]["containers"][0]["resources"] = {"limits": {"memory": "64Mi"}}
    cluster.core_v1().create_namespaced_pod("default", hog)
    wait_for(lambda: "pod.oomKilled hog" in titles(host.findings), timeout=60, what="pod.oomKilled")
    time.sleep(2)
    assert Counter(titles(host.findings))["pod.oomKilled hog"] == 1


# The stand-in only: the status is written by hand, which a real node's kubelet would overwrite.
@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
def test_an_oom_killed_status_yields_one_oomkilled_invocation(cluster: LocalCluster, start_host: Any) -> None:
    host = start_host()
    _sentinel(cluster, host)
    api = cluster.core_v1()
    api.create_namespaced_pod("default", _pod("hog", ["sleep", "300"]))
    wait_for(lambda: "pod.create hog" in titles(host.findings), timeout=30, what="pod.create hog")
    status = {"status": {"containerStatuses": [{
        "name": "main", "ready": True, "restartCount": 1, "image": "python:3.11", "imageID": "", "containerID": "local://x",
        "state": {"running": {"startedAt": "2026-11-23T10:00:05Z"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-23T10:00:00Z",
                                     "finishedAt": "2026-11-23T10:00:04Z"}}}]}}
    api.patch_namespaced_pod_status("hog", "default", status)
    wait_for(lambda: "pod.oomKilled hog" in titles(host.findings), timeout=30, what="pod.oomKilled")
    # The same terminated record again (an unrelated update) must not fire again.
    api.patch_namespaced_pod("hog", "default", {"metadata": {"labels": {"touched": "yes"}}})
    time.sleep(2)
    assert Counter(titles(host.findings))["pod.oomKilled hog"] == 1


# The stand-in only: it injects the dropped streams, the throttling and the compaction.
@pytest.mark.parametrize("cluster", ["builtin"], indirect=True)
def test_a_burst_survives_a_dropped_stream_and_a_410_without_loss_or_duplicates(
    cluster: LocalCluster, start_host: Any
) -> None:
    host = start_host()
    _sentinel(cluster, host)
    api = cluster.core_v1()
    n = 500

    def create(i: int) -> None:
        for _ in range(50):
            try:
                api.create_namespaced_pod("default", _pod(f"burst-{i:03d}", ["sleep", "600"]))
                return
            except ApiException as exc:  # our own requests may meet the throttling we inject
                if exc.status != 429:
                    raise
                time.sleep(0.2)
        raise AssertionError("still throttled")

    for i in range(n):
        create(i)
        if i == n // 3:
            cluster.drop_watches()  # a dropped stream: resume from the last version, no re-list
        if i == 2 * n // 3:
            # Hold the host's watches back (429 + Retry-After), move on, then expire their version:
            # when they come back, their resourceVersion is gone and they must re-list (410).
            cluster.throttle_next(6, retry_after=3)
            cluster.drop_watches()
            time.sleep(0.3)
        if i == 2 * n // 3 + 5:
            cluster.compact()
    wait_for(lambda: sum(t.startswith("pod.create burst-") for t in titles(host.findings)) >= n,
             timeout=240, what=f"{n} pod.create findings")
    time.sleep(2)
    seen = Counter(t for t in titles(host.findings) if t.startswith("pod.create burst-"))
    assert len(seen) == n
    assert set(seen.values()) == {1}, [k for k, v in seen.items() if v != 1]
    log = host.log.read_text()
    assert "watch stream dropped, re-watching" in log  # both disruptions really happened
    assert "resource version expired, re-listing" in log


def test_a_standby_stays_idle_until_the_leader_dies_then_takes_over(cluster: LocalCluster, start_host: Any) -> None:
    election = {"enabled": True, "leaseName": "wfhost-test", "leaseNamespace": "default",
                "leaseDurationSeconds": 3, "renewDeadlineSeconds": 2, "retryPeriodSeconds": 0.5}
    first = start_host("first", leaderElection=election)
    second = start_host("second", wait_ready=False, leaderElection=election)
    time.sleep(3)
    assert second.status("/readyz") == 503
    _sentinel(cluster, first)
    time.sleep(1)
    assert Counter(titles(first.findings))["pod.create sentinel"] == 1  # only the leader acted
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    wait_for(lambda: second.status("/readyz") == 200, timeout=30, what="the standby to take over")
    cluster.core_v1().create_namespaced_pod("default", _pod("after-failover", ["sleep", "300"]))
    wait_for(lambda: "pod.create after-failover" in titles(second.findings), timeout=30, what="the new leader to act")


def test_wfhost_trigger_runs_a_workflow_on_a_cluster_pod_and_returns_its_finding(
    cluster: LocalCluster, start_host: Any
) -> None:
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    host = start_host()
    _sentinel(cluster, host)
    answer = subprocess.run(
        [sys.executable, "-m", "host.cli.main", "trigger", "recorder", "--pod", "default/sentinel", "--wait",
         "--url", host.url, "--token", host.token],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert answer.returncode == 0, answer.stderr
    doc = json.loads(answer.stdout)
    assert [f["title"] for f in doc["findings"]] == ["manual sentinel"]
    assert "manual sentinel" in titles(host.findings)


def test_an_unpullable_image_yields_one_imagepullbackoff_invocation(cluster: LocalCluster, start_host: Any) -> None:
    host = start_host()
    _sentinel(cluster, host)
    body = _pod("nopull", ["sleep", "300"])
    body["spec"]["containers"][0]["image"] = "registry.invalid/team/app:1.2.3"
    cluster.core_v1().create_namespaced_pod("default", body)
    wait_for(lambda: "pod.imagePullBackOff nopull" in titles(host.findings), timeout=60, what="pod.imagePullBackOff")
    time.sleep(3)  # more back-off cycles, each a status update: still one invocation
    assert Counter(titles(host.findings))["pod.imagePullBackOff nopull"] == 1
