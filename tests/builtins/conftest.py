"""A local cluster, the real host with the six built-ins, and sample pods, shared by a test module.

Everything is real: the host talks to the local cluster through the `kubernetes` client, the
debug backend adds an ephemeral container that runs the debug agent against the pod's process,
and the workflows run in their Deno sandboxes. Building it costs a few seconds, so one cluster,
host and set of pods serves a whole module (`scope="module"`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from host.config import HostConfig, parse_config
from host.localcluster import LocalCluster
from host.model.events import Event, Target
from host.model.findings import Finding
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from tests.clusters import CONTROL_PLANES, RealCluster, open_cluster

NAMESPACE = "shop"
CONTAINER = "app"
SAMPLE_APP = ["python", "-u", "-m", "host.demo.sample_app"]
SLEEPER = ["python", "-u", "-c", "import time\nwhile True:\n    time.sleep(0.2)"]

# The sample app runs with a Python sleeper beside it: two Python processes in one container.
TWO_PYTHONS = ["sh", "-c", "python -u -m host.demo.sample_app & exec python -u -c 'import time\nwhile True:\n    time.sleep(0.2)'"]

# Pods every e2e module gets: name -> command of its one container.
PODS: dict[str, list[str]] = {
    "web-1": SAMPLE_APP,  # the built-ins with defaults and overrides
    "no-python": ["sleep", "300"],  # nothing for the Python built-ins to act on
    "two-pythons": TWO_PYTHONS,  # several Python processes: all handled, or the one asked for
    "debug-defaults": SLEEPER,  # the debugger leaves debugpy listening: its own pods
    "debug-override": SLEEPER,
}

INVOCATION_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BuiltinsEnv:
    """The shared cluster and host, and a way to run a built-in against a pod."""

    cluster: LocalCluster | RealCluster
    host: Host
    config: HostConfig
    default_port: int
    _pids: dict[str, dict[int, str]] = field(default_factory=dict)

    async def run(
        self, workflow: str, pod: str, params: dict[str, Any] | None = None, *, container: str | None = CONTAINER,
    ) -> InvocationResult:
        """Trigger `workflow` on `shop/<pod>` as a manual run would and wait for its findings."""
        event = Event(kind="manual", target=Target(namespace=NAMESPACE, pod=pod, container=container))
        _, fut = self.host.dispatcher.trigger(workflow, event, dict(params or {}), wait=True)
        assert fut is not None
        return await asyncio.wait_for(fut, INVOCATION_TIMEOUT + 30)

    async def python_pids(self, pod: str) -> dict[int, str]:
        """The Python processes of a pod, pid -> command line, from a pod-process-list finding (cached)."""
        if pod not in self._pids:
            result = await self.run("pod-process-list", pod)
            assert result.outcome == "ok", result.error
            table = result.findings[0].tables[0]
            pid, python, command = (table.columns.index(c) for c in ("pid", "python", "command"))
            self._pids[pod] = {int(str(row[pid])): str(row[command]) for row in table.rows if row[python] != "no"}
        return self._pids[pod]


def only(result: InvocationResult) -> Finding:
    """The one finding of a successful run."""
    assert result.outcome == "ok", f"{result.outcome}: {result.error}"
    assert len(result.findings) == 1, [f.title for f in result.findings]
    return result.findings[0]


def table_text(finding: Finding) -> str:
    """Every cell of every table, one row a line, for substring checks."""
    lines: list[str] = []
    for table in finding.tables:
        lines.append(" | ".join(table.columns))
        lines.extend(" | ".join(str(cell) for cell in row) for row in table.rows)
    return "\n".join(lines)


def builtins_config(root: Path, kubeconfig: Path, **workflows: dict[str, Any]) -> HostConfig:
    return parse_config({
        "sandbox": {"stateDir": str(root / "state"), "invocationTimeoutSeconds": INVOCATION_TIMEOUT},
        "cluster": {"kubeconfig": str(kubeconfig), "namespaces": [NAMESPACE]},
        "api": {"enabled": False},
        "sinks": {"files": {"enabled": True, "directory": str(root / "findings")}, "log": {"enabled": False}},
        "workflows": {"podTroubleshooting": workflows},
    })


async def _wait_running(host: Host, names: list[str], *, timeout: float = 60) -> None:
    assert host.kube is not None
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            pod = await host.kube.get_pod(NAMESPACE, name)
            statuses = pod.get("status", {}).get("containerStatuses") or []
            if statuses and "running" in (statuses[0].get("state") or {}):
                pending.discard(name)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods not running after {timeout:g}s: {sorted(pending)}")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let the Python apps import and reach their loops


def pod_manifest(name: str, command: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {"containers": [{"name": CONTAINER, "image": "python:3.11-slim", "command": command}]},
    }


@asynccontextmanager
async def host_with_pods(
    lc: LocalCluster | RealCluster, root: Path, pods: dict[str, list[str]], *, default_port: int = 0,
    **workflows: dict[str, Any],
) -> AsyncIterator[BuiltinsEnv]:
    """The real host with the built-ins (`workflows` as in `builtins_config`) on `lc`, and `pods`
    (name -> command) running in NAMESPACE; the host is stopped on the way out."""
    config = builtins_config(root, lc.kubeconfig_path, **workflows)
    host = Host(config)
    await host.start(watch=False)
    try:
        core = lc.core_v1()
        if isinstance(lc, RealCluster):
            await asyncio.to_thread(lc.ensure_namespace, NAMESPACE)
        else:
            await asyncio.to_thread(core.create_namespace, {"metadata": {"name": NAMESPACE}})
        for name, command in pods.items():
            await asyncio.to_thread(core.create_namespaced_pod, NAMESPACE, pod_manifest(name, command))
        await _wait_running(host, list(pods))
        yield BuiltinsEnv(cluster=lc, host=host, config=config, default_port=default_port)
    finally:
        await host.stop()


def attachment_named(finding: Finding, name: str) -> bytes:
    """The bytes of the finding's attachment called `name` (fails listing the names it has)."""
    found = [a for a in finding.attachments if a.name == name]
    assert found, f"no {name} in {[a.name for a in finding.attachments]}"
    return found[0].data


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CONTROL_PLANES)
async def env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[BuiltinsEnv]:
    """The six built-ins end to end, on the builtin stand-in and on the real control plane."""
    root = tmp_path_factory.mktemp("builtins")
    port = free_port()
    with open_cluster(request.param, request) as lc:
        # The chart's defaults, except the two a test cannot wait for or rely on: a 60 s memory
        # window, and port 5678, which something else on the machine may hold.
        async with host_with_pods(
            lc, root, PODS, default_port=port,
            pythonMemoryAnalysis={"defaultDuration": 2}, pythonDebugger={"defaultPort": port},
        ) as built:
            yield built
