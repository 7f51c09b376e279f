"""Issue #14, point 4: 2,000 pod transitions reach their workflow exactly once through every fault.

200 pods each go through 10 OOM kills, written as a kubelet writes them (the status
subresource: a new `lastState.terminated` record with reason OOMKilled and restartCount + 1),
so each is one `pod.oomKilled` for `wfhost run`, whose workflow reports `oom <pod> <restartCount>`.
The host talks to the API server only through the chaos proxy (`host.localcluster.chaos`), which
cuts every connection every 2 s and injects bursts of 500 and of 429 with Retry-After; in the
middle the API server restarts for real and the host's resourceVersion is compacted away (a
real 410 Gone). Every one of the 2,000 findings must exist, none twice.

The test writes one round (one transition of every pod) at a time and waits for its 200
findings before the next: a pod has at most one transition the host has not seen, so a re-list
after 410 (which can only show the newest state) still shows every transition. The faults land
while a round is in flight.

On the real control plane the test starts its own (kube-apiserver and etcd, no node: the pods
carry a scheduling gate, so nothing else writes their status), twice: with the API server's
watch cache off, watches are served by etcd and the compaction reaches the host as etcd's own
410; with it on (the default of every cluster), the cache does not see a compaction, and the
410 comes from the restart (the new cache starts at the newest version). The restart is a
SIGTERM (then SIGKILL) of kube-apiserver and a new one on the same port and etcd.
On the stand-in the restart is `stop()` and `start()` (same port, same objects) and the 410 its
`compact()`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import urllib3
import yaml
from kubernetes.client.exceptions import ApiException

from host.localcluster import LocalCluster, LocalClusterSettings, kubeconfig
from host.localcluster.chaos import ChaosProxy, client_certificate_context
from host.localcluster.controlplane.build import ControlPlaneUnavailable
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from tests.conftest import REPO
from tests.integration.conftest import RunningHost, free_port, titles, wait_for

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

PODS = 200
ROUNDS = 10
NAMESPACE = "faults"
CUT_EVERY_SECONDS = 2.0
BURST_EVERY_SECONDS = 3.0
BURST_SIZE = 3
RESTART_AFTER_ROUND = 4
GONE_IN_ROUND = 7
ROUND_TIMEOUT_SECONDS = 120.0

OOM_COUNTER = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "oom-counter",
  triggers: [{ on: "pod.oomKilled" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    if (event.kind !== "pod.oomKilled") return;
    await ctx.report({ title: `oom ${event.pod.name} ${event.restartCount}` });
  },
});
"""


class Plane:
    """The control plane under test: its admin client for the test's writes, and its two faults."""

    name: str
    upstream: str
    proxy_kwargs: dict[str, Any]

    def core_v1(self) -> Any:
        raise NotImplementedError

    def restart(self) -> float:
        raise NotImplementedError

    def expire(self) -> int:
        raise NotImplementedError


class StandIn(Plane):
    name = "builtin"

    def __init__(self) -> None:
        self.cluster = LocalCluster(LocalClusterSettings.for_tests(), kubelet=False).start()
        self.upstream = self.cluster.url
        self.proxy_kwargs = {}

    def core_v1(self) -> Any:
        return self.cluster.core_v1()

    def restart(self) -> float:
        began = time.monotonic()
        self.cluster.stop()
        time.sleep(1.0)  # down for a moment, as a real one is
        self.cluster.start()
        return time.monotonic() - began

    def expire(self) -> int:
        return self.cluster.compact()

    def close(self) -> None:
        self.cluster.close()


class Real(Plane):
    def __init__(self, *, watch_cache: bool) -> None:
        self.name = "kubernetes (watch cache on)" if watch_cache else "kubernetes (watch cache off)"
        self.plane = KubernetesControlPlane(with_node=False, watch_cache=watch_cache)
        try:
            self.plane.start()
        except ControlPlaneUnavailable as exc:
            pytest.fail(f"the real control plane could not start: {exc}", pytrace=False)
        pki = self.plane.pki
        self.upstream = self.plane.url
        self.proxy_kwargs = {
            "ssl_context": client_certificate_context(
                str(pki / "ca.crt"), str(pki / "admin.crt"), str(pki / "admin.key")
            ),
            "drop_authorization": True,
        }
        self._api = kubernetes.config.new_client_from_config(str(self.plane.kubeconfig_path))

    def core_v1(self) -> Any:
        return kubernetes.client.CoreV1Api(self._api)

    def restart(self) -> float:
        return self.plane.restart_apiserver(grace_seconds=3.0)

    def expire(self) -> int:
        return self.plane.compact_etcd()

    def close(self) -> None:
        self._api.close()
        self.plane.stop()


@pytest.fixture(params=["builtin", "kubernetes", "kubernetes-watch-cache"])
def plane(request: pytest.FixtureRequest) -> Iterator[Plane]:
    made: StandIn | Real = (
        StandIn()
        if request.param == "builtin"
        else Real(watch_cache=request.param == "kubernetes-watch-cache")
    )
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def proxy(plane: Plane) -> Iterator[ChaosProxy]:
    with ChaosProxy(plane.upstream, **plane.proxy_kwargs) as chaos:
        yield chaos


@dataclass
class Faults:
    """Bursts of 500 and of 429 (Retry-After: 1), alternately, each `BURST_EVERY_SECONDS` after the
    last was used up: the host's next `BURST_SIZE` requests fail, then it gets through a while."""

    proxy: ChaosProxy
    held: threading.Event
    stopped: threading.Event
    lock: threading.Lock
    bursts: int = 0

    def run(self) -> None:
        statuses = [(500, None), (429, 1)]
        while not self.stopped.wait(BURST_EVERY_SECONDS):
            with self.lock:
                if self.held.is_set() or self.proxy.pending_failures:
                    continue
                status, retry_after = statuses[self.bursts % 2]
                self.proxy.fail_next(BURST_SIZE, status, retry_after)
                self.bursts += 1

    def hold(self, count: int, retry_after: int) -> None:
        """No more bursts until `release()`; the next `count` requests: 429 with `retry_after`."""
        with self.lock:
            self.held.set()
            self.proxy.fail_next(count, 429, retry_after)

    def release(self) -> None:
        self.held.clear()


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"oom-{i:03d}", "namespace": NAMESPACE},
        "spec": {
            # Nothing schedules or runs it: its status is the test's (the kubelet's) alone.
            "schedulingGates": [{"name": "wfhost.test/held"}],
            "containers": [{"name": "main", "image": "python:3.11", "command": ["sleep", "600"]}],
        },
    }


def _oom_status(step: int) -> dict[str, Any]:
    """The status after the pod's `step`-th OOM kill: a new termination record, one more restart."""
    started = f"2026-11-23T10:{step:02d}:00Z"
    finished = f"2026-11-23T10:{step:02d}:30Z"
    return {
        "status": {
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": step,
                    "image": "python:3.11",
                    "imageID": "",
                    "containerID": f"local://oom-{step}",
                    "state": {"running": {"startedAt": f"2026-11-23T10:{step:02d}:31Z"}},
                    "lastState": {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "OOMKilled",
                            "startedAt": started,
                            "finishedAt": finished,
                        }
                    },
                }
            ]
        }
    }


def _retrying(action: Callable[[], object], *, what: str, timeout: float = 60.0) -> None:
    """The test's own writes go straight to the API server; while it restarts they are retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            status = getattr(exc, "status", None)
            if isinstance(exc, ApiException) and status not in (None, 0, 429, 500, 503, 504):
                raise
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still failing after {timeout:.0f} s: {exc}") from exc
            time.sleep(0.2)


def _write_round(core: Any, step: int, pool: ThreadPoolExecutor) -> None:
    def patch(i: int) -> None:
        name = f"oom-{i:03d}"
        _retrying(
            lambda: core.patch_namespaced_pod_status(name, NAMESPACE, _oom_status(step)),
            what=f"patch {name} step {step}",
        )

    list(pool.map(patch, range(PODS)))


def _start_host(tmp_path: Path, proxy: ChaosProxy) -> RunningHost:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "oom-counter.ts").write_text(textwrap.dedent(OOM_COUNTER))
    builtin = tmp_path / "no-builtins"
    builtin.mkdir()
    findings = tmp_path / "findings"
    # The host reaches the API server only through the proxy, with no credentials of its own.
    config_path = kubeconfig.write(tmp_path / "via-proxy.kubeconfig", proxy.url)
    port = free_port()
    config: dict[str, Any] = {
        "workflows": {"builtinDirectory": str(builtin)},
        "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(workflows)}}},
        "sandbox": {"stateDir": str(tmp_path / "state"), "queueSize": 5000},
        "sinks": {"files": {"enabled": True, "directory": str(findings)}, "log": {"enabled": False}},
        "api": {"host": "127.0.0.1", "port": port, "token": "t"},
        "cluster": {
            "kubeconfig": str(config_path),
            "namespaces": [NAMESPACE],
            "backoff": {"initialSeconds": 0.2, "maxSeconds": 2},
        },
        "triggers": {"perSubjectIntervalSeconds": 0},
        "logging": {"format": "json", "level": "info"},
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    log = tmp_path / "host.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli.main", "run", "--config", str(cfg)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    host = RunningHost(proc=proc, url=f"http://127.0.0.1:{port}", token="t", findings=findings, log=log)
    try:
        wait_for(lambda: host.status("/readyz") == 200 or proc.poll() is not None, timeout=90, what="readyz")
        assert proc.poll() is None, log.read_text()[-3000:]
    except BaseException:
        _stop(host)
        raise
    return host


def _stop(host: RunningHost) -> None:
    if host.proc.poll() is None:
        host.proc.send_signal(signal.SIGTERM)
        try:
            host.proc.wait(20)
        except subprocess.TimeoutExpired:
            host.proc.kill()
            host.proc.wait()


def _wait_for_round(host: RunningHost, step: int) -> None:
    """Until the round's findings are all there (polled twice a second: reading 2,000 files costs)."""
    deadline = time.monotonic() + ROUND_TIMEOUT_SECONDS
    while sum(title.endswith(f" {step}") for title in titles(host.findings)) < PODS:
        if host.proc.poll() is not None:
            raise AssertionError(f"the host exited with {host.proc.returncode}: {host.log}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"round {step}: not all {PODS} findings within {ROUND_TIMEOUT_SECONDS:.0f} s"
            )
        time.sleep(0.5)


def _log_records(log: Path) -> list[dict[str, Any]]:
    records = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _log_messages(records: list[dict[str, Any]]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for record in records:
        message = str(record.get("event"))
        seen[message] += 1
        if record.get("reason"):
            seen[f"{message} ({record['reason']})"] += 1
    return seen


def test_2000_transitions_through_cuts_bursts_a_restart_and_a_410_each_fire_exactly_once(
    plane: Plane, proxy: ChaosProxy, tmp_path: Path
) -> None:
    core = plane.core_v1()
    _retrying(lambda: core.create_namespace({"metadata": {"name": NAMESPACE}}), what="create namespace")
    pool = ThreadPoolExecutor(max_workers=4)
    for i in range(PODS):
        core.create_namespaced_pod(NAMESPACE, _pod(i))
    host = _start_host(tmp_path, proxy)  # the pods are its baseline: no event for them
    faults = Faults(proxy, held=threading.Event(), stopped=threading.Event(), lock=threading.Lock())
    bursts = threading.Thread(target=faults.run, name="bursts", daemon=True)
    timings: dict[str, float] = {}
    began = time.monotonic()
    try:
        proxy.cut_every = CUT_EVERY_SECONDS
        bursts.start()

        for step in range(1, ROUNDS + 1):
            if step == GONE_IN_ROUND:
                # Hold the host back (its next 3 requests: 429, Retry-After 4: 12 s), write the round
                # while it is away, then compact its resourceVersion away: it comes back to a 410.
                faults.hold(3, retry_after=4)
                proxy.cut_connections()
                _write_round(core, step, pool)
                timings["compacted_at_revision"] = plane.expire()
                faults.release()
            else:
                _write_round(core, step, pool)
            if step == RESTART_AFTER_ROUND:
                timings["restart_seconds"] = round(plane.restart(), 2)
            _wait_for_round(host, step)
        time.sleep(3)  # anything fired twice late would show now
        timings["seconds"] = round(time.monotonic() - began, 1)
    finally:
        faults.stopped.set()
        bursts.join(5)
        proxy.cut_every = None
        pool.shutdown()
        _stop(host)

    seen = Counter(titles(host.findings))
    expected = {f"oom oom-{i:03d} {step}" for i in range(PODS) for step in range(1, ROUNDS + 1)}
    assert set(seen) == expected, (sorted(expected - set(seen))[:10], sorted(set(seen) - expected)[:10])
    assert [title for title, n in seen.items() if n != 1] == []
    assert len(seen) == PODS * ROUNDS == 2000

    # The faults really reached the host, and it took each the way it should.
    records = _log_records(host.log)
    messages = _log_messages(records)
    # Each 429 the proxy sent said Retry-After 1 (the bursts) or 4 (round 7): waited exactly that.
    waits = Counter(r.get("delay") for r in records if r.get("reason") == "throttled (429)")
    stats = proxy.stats
    report = {
        "plane": plane.name,
        **timings,
        "bursts": faults.bursts,
        "proxy": stats.as_dict(),
        "throttled_waits": {str(k): v for k, v in waits.items()},
        "gone": [
            r.get("detail") for r in records if r.get("event") == "resource version expired, re-listing"
        ],
        "host": {k: v for k, v in messages.items() if "watch" in k or "listing" in k},
    }
    print(json.dumps(report, indent=1))
    assert stats.cuts >= timings["seconds"] // CUT_EVERY_SECONDS - 2
    assert stats.injected.get(500, 0) >= 3 and stats.injected.get(429, 0) >= 3, stats
    assert messages["resource version expired, re-listing"] >= 1, messages
    assert messages["waiting before watching again (throttled (429))"] >= 1, messages
    assert set(waits) <= {1.0, 4.0} and waits[4.0] >= 1, waits
    assert messages["watch failed, backing off"] >= 1, messages
    assert messages["watch stream dropped, re-watching"] >= 1, messages
