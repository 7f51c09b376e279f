"""Run the demo: local cluster -> sample pod -> host with the built-ins -> the six debug tools, then
three failing pods (a crash loop, an OOM kill, an unpullable image) explained by the explainers -> summary.

Everything it starts (the API server thread, the sample app, debug agents, Deno workers) is stopped
before it returns, also on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog

from host.agent.kernel_probe import UNSUPPORTED_MARK
from host.config import HostConfig, parse_config
from host.localcluster import LocalCluster, LocalClusterSettings
from host.model.events import Event, Subject, Target
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from host.service import Service
from host.sources.normalize import normalize_pod

log = structlog.get_logger(__name__)

NAMESPACE = "demo"
POD = "shop-web"
CONTAINER = "app"

# Each built-in with the per-call overrides the demo uses (short durations keep it under two minutes).
# The sample app mostly sleeps between requests: 250 samples a second catch its hotspot reliably
# in three seconds, where py-spy's default 100 sometimes catches nothing.
PLAN: list[tuple[str, dict[str, Any]]] = [
    ("pod-process-list", {}),
    ("python-process-inspector", {}),
    ("debugger-stack-trace", {"count": 2, "interval": 0.5}),
    ("python-profiler", {"duration": 3, "rate": 250}),
    ("python-memory-analysis", {"duration": 5}),
    ("python-debugger", {}),
]


# Pods that fail the way users' pods do, each explained by a built-in as the cluster reports it.
BROKEN: dict[str, dict[str, Any]] = {
    "shop-crasher": {"command": ["python", "-c", "import shop_payments_sdk"]},
    "shop-hog": {
        "command": ["python", "-c", "chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))"],
        "resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "32Mi"}},
    },
    "shop-nopull": {"image": "registry.invalid/shop/web:9.9.9", "command": ["sleep", "300"]},
}
# Which explainer answers for which of them.
EXPLAINERS = (
    ("restart-loop-reporter", "shop-crasher"),
    ("pod-oom-killer-enricher", "shop-hog"),
    ("image-pull-backoff-enricher", "shop-nopull"),
)
EXPLAIN_TIMEOUT_SECONDS = 20.0


@dataclass
class Row:
    workflow: str
    outcome: str
    seconds: float
    titles: list[str]
    artifacts: list[Path]
    error: str | None


def demo_config(out: Path, state: Path, kubeconfig: Path, *, port: int) -> HostConfig:
    return parse_config({
        "sandbox": {"stateDir": str(state), "invocationTimeoutSeconds": 120},
        "cluster": {"kubeconfig": str(kubeconfig), "namespaces": [NAMESPACE]},
        "sinks": {"files": {"enabled": True, "directory": str(out)}, "log": {"enabled": False}},
        "api": {"host": "127.0.0.1", "port": port, "token": secrets.token_urlsafe(24)},
        "debug": {"image": "wfhost-debug:local", "containerStartTimeoutSeconds": 30},
        "logging": {"format": "console", "level": "warning"},
    })


def _pod_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": POD, "namespace": NAMESPACE, "labels": {"app": "shop", "tier": "web"}},
        "spec": {"containers": [{
            "name": CONTAINER, "image": "python:3.11-slim",
            "command": ["python", "-u", "-m", "host.demo.sample_app"],
        }]},
    }


async def _wait_running(host: Host, *, timeout: float = 30) -> dict[str, Any]:
    assert host.kube is not None
    deadline = time.monotonic() + timeout
    while True:
        pod = await host.kube.get_pod(NAMESPACE, POD)
        statuses = pod.get("status", {}).get("containerStatuses") or []
        if statuses and "running" in (statuses[0].get("state") or {}):
            await asyncio.sleep(1.0)  # let the app import and warm up, so profiles see real work
            return pod
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sample pod did not start within {timeout:g}s")
        await asyncio.sleep(0.2)


async def _run_plan(host: Host, out: Path, pod: dict[str, Any], stream: TextIO) -> list[Row]:
    rows: list[Row] = []
    known = {w.name for w in host.registry.workflows()}
    for name, overrides in PLAN:
        if name not in known:
            rows.append(Row(name, "not loaded", 0.0, [], [], "disabled or failed to load"))
            continue
        event = Event(kind="manual", target=Target(namespace=NAMESPACE, pod=POD, container=CONTAINER),
                      subject=Subject(kind="Pod", namespace=NAMESPACE, name=POD, uid=pod["metadata"].get("uid")),
                      pod=normalize_pod(pod), requested_by="wfhost demo")
        print(f"  running {name} ...", file=stream, flush=True)
        began = time.monotonic()
        _, fut = host.dispatcher.trigger(name, event, overrides, wait=True)
        assert fut is not None
        result: InvocationResult = await fut
        await host.findings.flush()
        artifacts = []
        for f in result.findings:
            folder = out / f"{f.workflow}-{f.id}"
            artifacts += [folder / a.name for a in f.attachments]
        rows.append(Row(name, result.outcome, time.monotonic() - began, [f.title for f in result.findings],
                        artifacts, result.error))
    return rows


def _broken_pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    container = {"name": CONTAINER, "image": "python:3.11-slim", **spec}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 0, "containers": [container]},
    }


async def _replay_oom(lc: LocalCluster, name: str) -> None:
    """Where this machine cannot enforce memory limits, write the status a kubelet writes after an
    OOM kill (the demo says so), so the explainer still has something true to explain."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"containerStatuses": [{
        "name": CONTAINER, "ready": False, "restartCount": 1, "image": "python:3.11-slim", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now, "finishedAt": now}},
    }]}}
    await asyncio.to_thread(lc.core_v1().patch_namespaced_pod_status, name, NAMESPACE, status)


async def _explain_broken(host: Host, lc: LocalCluster, out: Path, stream: TextIO) -> list[Row]:
    """Start the failing pods and wait for each explainer's finding (they react to the cluster's events)."""
    known = {w.name for w in host.registry.workflows()}
    began = time.monotonic()
    for name, spec in BROKEN.items():
        await asyncio.to_thread(lc.core_v1().create_namespaced_pod, NAMESPACE, _broken_pod(name, spec))
    enforced = lc.call(lambda server: bool(server.kubelet and server.kubelet.limits_enforced))
    if not enforced:
        print("  (this machine cannot enforce memory limits: the OOM kill is replayed as a kubelet writes it)",
              file=stream, flush=True)
        await asyncio.sleep(1.0)
        await _replay_oom(lc, "shop-hog")
    print("  waiting for the explainers ...", file=stream, flush=True)
    rows: list[Row] = []
    for workflow, pod in EXPLAINERS:
        if workflow not in known:
            rows.append(Row(workflow, "not loaded", 0.0, [], [], "disabled or failed to load"))
            continue
        found = None
        while found is None and time.monotonic() - began < EXPLAIN_TIMEOUT_SECONDS:
            found = next((f for f in host.findings.recent()
                          if f.workflow == workflow and f.subject is not None and f.subject.name == pod), None)
            if found is None:
                await asyncio.sleep(0.2)
        if found is None:
            rows.append(Row(workflow, "no finding", time.monotonic() - began, [], [],
                            f"no finding within {EXPLAIN_TIMEOUT_SECONDS:g}s"))
        else:
            cause = found.labels.get("cause", "?")
            rows.append(Row(workflow, "ok", time.monotonic() - began, [f"[{cause}] {found.title}"], [], None))
    await host.findings.flush()
    return rows


def _summary(rows: list[Row], out: Path, url: str | None, token: str | None, stream: TextIO) -> None:
    print("\nwfhost demo — findings", file=stream)
    print(f"{'workflow':<28} {'outcome':<10} {'time':>6}  finding", file=stream)
    print("-" * 140, file=stream)
    for r in rows:
        title = r.titles[0] if r.titles else (r.error or "no finding")
        extra = f" (+{len(r.titles) - 1} more)" if len(r.titles) > 1 else ""
        print(f"{r.workflow:<28} {r.outcome:<10} {r.seconds:5.1f}s  {title[:110]}{extra}", file=stream)
    flame = next((a for r in rows for a in r.artifacts if a.suffix == ".svg"), None)
    print(f"\nFindings written to {out}", file=stream)
    if flame is not None:
        print(f"Flamegraph: {flame}", file=stream)
    if url:
        print(f"Findings page: {url}/ (it asks for a token: paste this demo's API token, {token})", file=stream)
        print(f"  from a shell: curl -H 'Authorization: Bearer {token}' {url}/api/v1/findings", file=stream)


async def run_demo(out: Path, *, serve: bool, port: int = 0, stream: TextIO = sys.stdout) -> int:
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    state = out / ".state"
    began = time.monotonic()
    settings = LocalClusterSettings(crashloop_backoff_base_seconds=1, crashloop_backoff_cap_seconds=10)
    print("wfhost demo: starting a local cluster, the sample app and the host ...", file=stream, flush=True)
    async with LocalCluster(settings) as lc:
        config = demo_config(out, state, lc.kubeconfig_path, port=port if serve else 0)
        host = Host(config)
        service = Service(host, api=serve)
        try:
            await service.start()
            assert host.kube is not None
            await asyncio.to_thread(lc.core_v1().create_namespace, {"metadata": {"name": NAMESPACE}})
            await asyncio.to_thread(lc.core_v1().create_namespaced_pod, NAMESPACE, _pod_manifest())
            pod = await _wait_running(host)
            loaded = sorted(w.name for w in host.registry.workflows())
            print(f"  host ready with {len(loaded)} workflows: {', '.join(loaded)}", file=stream, flush=True)
            rows = await _run_plan(host, out, pod, stream)
            rows += await _explain_broken(host, lc, out, stream)
            _summary(rows, out, service.url, config.api.token, stream)
            print(f"Done in {time.monotonic() - began:.1f}s.", file=stream, flush=True)
            if serve:
                print("Serving the findings page; press Ctrl-C to stop.", file=stream, flush=True)
                await asyncio.Event().wait()
        finally:
            await service.stop()
    failed = [r for r in rows if r.outcome != "ok"]
    # A kernel that refuses gdb's register writes makes the code-injecting built-ins impossible
    # here (they refuse rather than kill the app): say so, and count only real failures.
    unsupported = [r for r in failed if r.error and UNSUPPORTED_MARK in r.error]
    if unsupported:
        names = ", ".join(r.workflow for r in unsupported)
        print(f"Note: this machine's kernel does not allow gdb code injection; not possible here: {names} "
              "(docs/debugging.md, injection_unsupported).", file=stream, flush=True)
    return 1 if len(failed) > len(unsupported) else 0
