"""Integration fixtures: a local cluster and `wfhost run` as a real subprocess pointed at it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from host.localcluster import LocalCluster
from tests.clusters import CONTROL_PLANES, open_cluster
from tests.conftest import REPO

RECORDER = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "recorder",
  triggers: [
    { on: "pod.create" }, { on: "pod.crashLoop" }, { on: "pod.oomKilled" }, { on: "pod.imagePullBackOff" },
    { on: "pod.delete" }, { on: "manual" },
  ],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    const name = event.subject ? event.subject.name : "?";
    await ctx.report({ title: `${event.kind} ${name}`, body: JSON.stringify({ kind: event.kind }) });
  },
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningHost:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    findings: Path
    log: Path

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def titles(findings: Path) -> list[str]:
    out = []
    for doc in sorted(findings.glob("*/finding.json")):
        if doc.parent.name.startswith("."):
            continue  # the files sink's folder still being written (it is renamed into place)
        out.append(json.loads(doc.read_text())["title"])
    return out


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(params=CONTROL_PLANES)
def cluster(request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    """The builtin stand-in, or the session's real control plane (tests/clusters.py)."""
    with open_cluster(request.param, request) as lc:
        yield lc


@pytest.fixture
def start_host(tmp_path: Path, cluster: LocalCluster) -> Iterator[Callable[..., RunningHost]]:
    hosts: list[RunningHost] = []
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "recorder.ts").write_text(textwrap.dedent(RECORDER))
    builtin = tmp_path / "no-builtins"
    builtin.mkdir()
    findings = tmp_path / "findings"

    def start(name: str = "a", *, wait_ready: bool = True, **overrides: Any) -> RunningHost:
        port = free_port()
        config: dict[str, Any] = {
            "workflows": {"builtinDirectory": str(builtin)},
            "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(workflows)}}},
            "sandbox": {"stateDir": str(tmp_path / f"state-{name}"), "queueSize": 2000},
            "sinks": {"files": {"enabled": True, "directory": str(findings)}, "log": {"enabled": False}},
            "api": {"host": "127.0.0.1", "port": port, "token": "t"},
            "cluster": {"kubeconfig": str(cluster.kubeconfig_path)},
            "triggers": {"perSubjectIntervalSeconds": 0},
            "logging": {"format": "json", "level": "info"},
        }
        for key, value in overrides.items():
            config[key] = {**config.get(key, {}), **value}
        cfg = tmp_path / f"config-{name}.yaml"
        cfg.write_text(yaml.safe_dump(config))
        log = tmp_path / f"host-{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "host.cli.main", "run", "--config", str(cfg)],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        host = RunningHost(proc=proc, url=f"http://127.0.0.1:{port}", token="t", findings=findings, log=log)
        hosts.append(host)
        wait_for(lambda: host.status("/healthz") == 200 or proc.poll() is not None, timeout=60, what="healthz")
        assert proc.poll() is None, log.read_text()[-3000:]
        if wait_ready:
            wait_for(lambda: host.status("/readyz") == 200, timeout=60, what="readyz")
        return host

    yield start
    for h in hosts:
        h.stop()
