"""The crash-loop and OOM explainers end to end, on the real control plane and our kubelet.

The host runs in-process with only `restart-loop-reporter` and `pod-oom-killer-enricher` on; the
pods' commands run as local processes (`python:3.11` is just a name: the local python runs), so
every crash here is real: a missing module, a path it may not open, a refused connection, an
application error with its own last line, a command the shell or the runtime cannot find, a
segfault, a service exiting 0, a service its own shell stops with SIGTERM (exit 143,
`Terminated`), an exit 255 with no log (`Unknown`: "cause not recognised"), and a memory hog the
kernel OOM-kills at its 64Mi cgroup limit.
The real Deployment controller makes ten replicas crash together (one finding naming all ten),
rolls out a new image and scales down (no finding at all).

Three causes only a real node produces are replayed, on a Node object no kubelet runs
(`explain-replay`), with the exact shapes a kubelet writes: a liveness-probe kill (the prober's
`Unhealthy` event "Liveness probe failed: HTTP probe failed with statuscode: 500", the
`Killing` event "Container app failed liveness probe, will be restarted", then the container
status the kubelet posts: CrashLoopBackOff after exit 137), the same for a startup probe
("Startup probe failed: Get ...: connect: connection refused", "Container app failed startup
probe, will be restarted"), and a node-level OOM (the OOM watcher's `SystemOOM` Warning "System
OOM encountered, victim process: python, pid: 4242" on the node, and a container status with an
`OOMKilled` termination below its 1Gi limit).

Everything starts at once in the module's fixture, so the whole module takes about a minute.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import pytest_asyncio
from kubernetes.client.exceptions import ApiException

from host.config import parse_config
from host.model.findings import Finding
from host.runtime.app import Host
from tests.clusters import RealCluster, open_cluster

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow, pytest.mark.timeout(240)]

NAMESPACE = "explain"
REPLAY_NODE = "explain-replay"
CRASH = "restart-loop-reporter"
OOM = "pod-oom-killer-enricher"
FINDING_TIMEOUT = 120.0

HOG = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))"

# Bare pods whose crash loop is real: name -> (command, the cause, what the finding must say).
REAL: dict[str, tuple[list[str], str, list[str]]] = {
    "missing-package": (
        ["python", "-c", "import nosuchmodule_xyz"],
        "MissingPackage",
        ["`nosuchmodule_xyz` is missing from the image", "ModuleNotFoundError: No module named 'nosuchmodule_xyz'"],
    ),
    "permission": (
        ["python", "-c", "open('/proc/1/mem', 'w')"],
        "PermissionDenied",
        ["may not write `/proc/1/mem`", "PermissionError: [Errno 13] Permission denied: '/proc/1/mem'"],
    ),
    "dependency": (
        [
            "python", "-c",
            "import socket\nprint('connecting to 127.0.0.1:1', flush=True)\n"
            "socket.create_connection(('127.0.0.1', 1))",
        ],
        "DependencyUnreachable",
        ["cannot reach `127.0.0.1:1`", "ConnectionRefusedError: [Errno 111] Connection refused"],
    ),
    "app-error": (
        ["sh", "-c", "echo starting shop; echo 'FATAL: config /etc/shop/app.yaml not found' >&2; exit 3"],
        "ApplicationError",
        ["the application exits with code 3: FATAL: config /etc/shop/app.yaml not found", "exit code 3"],
    ),
    "no-command": (
        ["sh", "-c", "nosuchcommand-xyz"],
        "CommandNotFound",
        ["`nosuchcommand-xyz` does not exist in the image (exit code 127", "sh: 1: nosuchcommand-xyz: not found"],
    ),
    "no-binary": (
        ["nosuch-binary-xyz"],
        "CommandNotFound",
        [
            "`nosuch-binary-xyz` does not exist in the image: the runtime cannot start it (StartError)",
            'exec: "nosuch-binary-xyz": executable file not found in $PATH',
        ],
    ),
    "segfault": (
        ["python", "-c", "import ctypes; ctypes.string_at(0)"],
        "Segfault",
        ["segmentation fault (exit code 139, SIGSEGV)"],
    ),
    "exits-zero": (
        ["sh", "-c", "echo done; exit 0"],
        "ExitedZero",
        ["exits with code 0", "restartPolicy: Always"],
    ),
    # A long-running service that something inside stops with SIGTERM: the process dies of the
    # signal, and the kubelet records 143, as for a rolling update; but the pod stays.
    "sigterm": (
        ["python", "-c", "import os, signal\nprint('serving on :8080', flush=True)\n"
                         "os.kill(os.getpid(), signal.SIGTERM)"],
        "Terminated",
        ["it is stopped by SIGTERM (exit code 143): something asks the service to stop",
         "exit code 143 (SIGTERM): terminated by SIGTERM (asked to stop)"],
    ),
    # Past the application's range, no signal, no log: nothing to go on, so nothing is guessed.
    "unknown": (
        ["sh", "-c", "exit 255"],
        "Unknown",
        ["cause not recognised: it ends with exit code 255", "**Cause not recognised**",
         "**Previous run:** it wrote no log"],
    ),
}

STARTUP_UNHEALTHY = (
    'Startup probe failed: Get "http://10.244.0.7:8080/healthz": dial tcp 10.244.0.7:8080: connect: connection refused'
)
FLEET = ["sh", "-c", "echo starting fleet; echo 'FATAL: cannot open /etc/fleet/config.yaml' >&2; exit 4"]
SERVE = ["sleep", "600"]  # SIGTERM ends it with 143, as a rolling update or a scale-down does
SERVE_GRACEFULLY = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]  # exits 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(command: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": "python:3.11", "command": command, **extra}


def _pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [container], **spec},
    }


def _deployment(name: str, command: list[str], replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [_container(command)]},
            },
        },
    }


def _event(involved: dict[str, Any], reason: str, message: str, type_: str, *, namespace: str) -> dict[str, Any]:
    stamp = _now()
    return {
        "metadata": {"name": f"{involved['name']}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type_,
        "count": 3 if reason == "Unhealthy" else 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": "kubelet", "host": REPLAY_NODE},
        "reportingComponent": "kubelet",
        "reportingInstance": REPLAY_NODE,
    }


def _crash_loop_status(pod: Any, terminated: dict[str, Any]) -> dict[str, Any]:
    """The status our (and the real) kubelet posts for a container in back-off after `terminated`."""
    who = f"{pod.metadata.name}_{pod.metadata.namespace}({pod.metadata.uid})"
    return {
        "status": {
            "phase": "Running",
            "startTime": _now(),
            "containerStatuses": [{
                "name": "app",
                "image": "python:3.11",
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 3,
                "state": {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 40s restarting failed container=app pod={who}",
                }},
                "lastState": {"terminated": {
                    "startedAt": _now(), "finishedAt": _now(),
                    "containerID": f"containerd://{uuid.uuid4().hex}", **terminated,
                }},
            }],
        }
    }


@dataclass
class Env:
    cluster: RealCluster
    host: Host

    @property
    def core(self) -> Any:
        return self.cluster.core_v1()

    @property
    def apps(self) -> Any:
        return kubernetes.client.AppsV1Api(self.cluster.api_client())

    def findings(self, workflow: str, match: Callable[[Finding], bool] = lambda f: True) -> list[Finding]:
        return [f for f in self.host.findings.recent() if f.workflow == workflow and match(f)]

    async def finding(self, workflow: str, pod: str) -> Finding:
        """The first finding `workflow` reported about the pod `pod`."""
        deadline = time.monotonic() + FINDING_TIMEOUT
        while True:
            found = self.findings(workflow, lambda f: f.subject is not None and f.subject.name == pod)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                failed = [r.error for r in self.host.dispatcher.results if r.outcome != "ok"]
                raise AssertionError(f"no {workflow} finding about {pod} (failed runs: {failed})")
            await asyncio.sleep(0.2)


async def until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait until `predicate()` holds (it runs in a thread: it may call the API)."""
    deadline = time.monotonic() + timeout
    while True:
        if await asyncio.to_thread(predicate):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


def _create(create: Callable[..., Any], *args: Any) -> Any:
    """Create an object, waiting out a fresh namespace's missing default ServiceAccount."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return create(*args)
        except ApiException as exc:
            if exc.status != 403 or "serviceaccount" not in str(exc.body) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _config(root: Path, kubeconfig: Path) -> Any:
    off = {"enabled": False}
    return parse_config({
        "sandbox": {"stateDir": str(root / "state"), "invocationTimeoutSeconds": 90, "queueSize": 500},
        "cluster": {"kubeconfig": str(kubeconfig)},
        "api": {"enabled": False},
        "sinks": {"files": {"enabled": True, "directory": str(root / "findings")}, "log": {"enabled": False}},
        "workflows": {
            "podTroubleshooting": {
                key: off for key in ("pythonProfiler", "podProcessList", "pythonMemoryAnalysis",
                                     "debuggerStackTrace", "pythonProcessInspector", "pythonDebugger",
                                     "goProfiler", "nodeProfiler", "javaProfiler", "networkCheck")
            },
            "podEnrichment": {
                # 8 s rather than the default 5: this machine is shared, and ten replicas must all
                # have crashed once before the first run lists them.
                "restartLoopReporter": {"tailLines": 20, "groupSeconds": 8},
                "imagePullBackoffEnricher": off, "podInvestigatorEnricher": off,
                "podEvictedEnrichments": off, "podCreationEnricher": off,
            },
            "oomKiller": {"podOomKillerEnricher": {"attachLogs": True}},
            "jobs": {"jobFailureReporter": off},
            "nodes": {"nodeStatusEnricher": off},
            "alertEnrichment": {"defaultEnricher": off},
        },
    })


def _replay(env: Env) -> None:
    """The liveness kill and the node-level OOM, as a kubelet would write them (see the docstring)."""
    core = env.core
    liveness = _create(core.create_namespaced_pod, NAMESPACE, _pod(
        "liveness",
        _container(["sleep", "600"], livenessProbe={
            "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10, "failureThreshold": 3,
        }),
        nodeName=REPLAY_NODE,
    ))
    node_oom = _create(core.create_namespaced_pod, NAMESPACE, _pod(
        "node-oom",
        _container(["python", "-c", HOG], resources={"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}),
        nodeName=REPLAY_NODE,
    ))
    pod_ref = {"apiVersion": "v1", "kind": "Pod", "namespace": NAMESPACE, "fieldPath": "spec.containers{app}"}
    core.create_namespaced_event(NAMESPACE, _event(
        {**pod_ref, "name": "liveness", "uid": liveness.metadata.uid}, "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500", "Warning", namespace=NAMESPACE,
    ))
    core.create_namespaced_event(NAMESPACE, _event(
        {**pod_ref, "name": "liveness", "uid": liveness.metadata.uid}, "Killing",
        "Container app failed liveness probe, will be restarted", "Normal", namespace=NAMESPACE,
    ))
    core.create_namespaced_event("default", _event(
        {"kind": "Node", "name": REPLAY_NODE, "uid": REPLAY_NODE}, "SystemOOM",
        "System OOM encountered, victim process: python, pid: 4242", "Warning", namespace="default",
    ))
    core.patch_namespaced_pod_status("liveness", NAMESPACE, _crash_loop_status(
        liveness, {"exitCode": 137, "reason": "Error"}
    ))
    core.patch_namespaced_pod_status("node-oom", NAMESPACE, _crash_loop_status(
        node_oom, {"exitCode": 137, "reason": "OOMKilled"}
    ))
    # A startup probe that never passes: the prober's `Unhealthy` event, the `Killing` event of
    # kuberuntime_manager.go, then the kubelet's status after the kill (137, reason Error).
    startup = _create(core.create_namespaced_pod, NAMESPACE, _pod(
        "startup",
        _container(["sleep", "600"], startupProbe={
            "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5, "failureThreshold": 6,
        }),
        nodeName=REPLAY_NODE,
    ))
    core.create_namespaced_event(NAMESPACE, _event(
        {**pod_ref, "name": "startup", "uid": startup.metadata.uid}, "Unhealthy",
        STARTUP_UNHEALTHY, "Warning", namespace=NAMESPACE,
    ))
    core.create_namespaced_event(NAMESPACE, _event(
        {**pod_ref, "name": "startup", "uid": startup.metadata.uid}, "Killing",
        "Container app failed startup probe, will be restarted", "Normal", namespace=NAMESPACE,
    ))
    core.patch_namespaced_pod_status("startup", NAMESPACE, _crash_loop_status(
        startup, {"exitCode": 137, "reason": "Error"}
    ))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    root = tmp_path_factory.mktemp("explain")
    with open_cluster("kubernetes", request) as cluster:
        assert isinstance(cluster, RealCluster)
        core = cluster.core_v1()
        await asyncio.to_thread(cluster.ensure_namespace, NAMESPACE)
        # A node no kubelet runs, for the replays: unschedulable, so nothing else lands there.
        await asyncio.to_thread(core.create_node, {"metadata": {"name": REPLAY_NODE}, "spec": {"unschedulable": True}})
        host = Host(_config(root, cluster.kubeconfig_path))
        env = Env(cluster=cluster, host=host)
        try:
            await host.start(watch=False)
            assert {w.name for w in host.registry.workflows()} == {CRASH, OOM}
            await asyncio.sleep(1.5)  # the pod watch takes its baseline: what follows is new

            def create_everything() -> None:
                for name, (command, _, _) in REAL.items():
                    _create(core.create_namespaced_pod, NAMESPACE, _pod(name, _container(command)))
                _create(core.create_namespaced_pod, NAMESPACE, _pod(
                    "oom", _container(["python", "-c", HOG], resources={"limits": {"memory": "64Mi"}})
                ))
                env.apps.create_namespaced_deployment(NAMESPACE, _deployment("fleet", FLEET, 10))
                env.apps.create_namespaced_deployment(NAMESPACE, _deployment("steady", SERVE, 2))
                env.apps.create_namespaced_deployment(NAMESPACE, _deployment("shrink", SERVE_GRACEFULLY, 3))
                _replay(env)

            await asyncio.to_thread(create_everything)
            yield env
        finally:
            await host.stop()
            await asyncio.to_thread(core.delete_collection_namespaced_pod, NAMESPACE, grace_period_seconds=0)
            await asyncio.to_thread(core.delete_node, REPLAY_NODE)


def _says(finding: Finding, expected: list[str]) -> None:
    text = f"{finding.title}\n{finding.body}"
    for part in expected:
        assert part in text, f"{part!r} not in:\n{text}"


@pytest.mark.parametrize("pod", list(REAL))
async def test_a_real_crash_loop_is_explained(env: Env, pod: str) -> None:
    _, cause, expected = REAL[pod]
    finding = await env.finding(CRASH, pod)
    assert finding.labels == {
        "cause": cause, "namespace": NAMESPACE, "workload": f"Pod/{NAMESPACE}/{pod}", "container": "app",
    }, finding.title
    assert finding.title.startswith(f"{NAMESPACE}/{pod} (container app) is crash-looping: "), finding.title
    _says(finding, expected)
    # A recognised cause ends with its fix; "cause not recognised" gives the evidence and no fix.
    ending = "**Cause not recognised**" if cause == "Unknown" else "**Likely fix**"
    _says(finding, ["**Last termination:**", "**Restart timeline of container app**", ending])
    if cause == "Unknown":
        assert "**Likely fix**" not in finding.body


async def test_a_memory_hog_at_its_64mi_limit_is_oom_killed_and_no_crash_finding_says_otherwise(env: Env) -> None:
    finding = await env.finding(OOM, "oom")
    assert finding.labels["cause"] == "OOMKilled", finding.title
    # The API server defaults a request missing beside a limit to the limit.
    assert finding.title == (
        f"{NAMESPACE}/oom (container app) was OOM-killed: it reached its memory limit of 64Mi (request 64Mi)"
    )
    _says(finding, ["reason OOMKilled, exit code 137 (SIGKILL)", "| app | 64Mi | 64Mi | OOMKilled |",
                    "no SystemOOM or memory-pressure event on node localnode"])
    crash = await env.finding(CRASH, "oom")
    assert crash.labels["cause"] == "OOMKilled", crash.title
    assert "at its memory limit of 64Mi" in crash.title


async def test_a_system_oom_on_the_node_is_node_oom_replayed(env: Env) -> None:
    finding = await env.finding(OOM, "node-oom")
    assert finding.labels["cause"] == "NodeOOM", finding.title
    assert finding.labels["node"] == REPLAY_NODE
    _says(finding, [
        f"because node {REPLAY_NODE} ran out of memory (the kubelet reported SystemOOM: "
        "System OOM encountered, victim process: python, pid: 4242), below its own limit of 1Gi",
        "**Not read:** the killed run's log",  # no kubelet serves this node's logs
    ])
    crash = await env.finding(CRASH, "node-oom")
    assert crash.labels["cause"] == "OOMKilled", crash.title  # the termination's own reason


async def test_a_liveness_probe_kill_is_explained_replayed(env: Env) -> None:
    finding = await env.finding(CRASH, "liveness")
    assert finding.labels["cause"] == "LivenessProbeFailed", finding.title
    _says(finding, [
        "liveness probe fails and the kubelet restarts it: Liveness probe failed: HTTP probe failed with statuscode: 500",
        "HTTP GET /healthz on port 8080, initialDelaySeconds 0, periodSeconds 10",
        "Container app failed liveness probe, will be restarted",
    ])


async def test_a_startup_probe_kill_is_explained_replayed(env: Env) -> None:
    finding = await env.finding(CRASH, "startup")
    assert finding.labels["cause"] == "StartupProbeFailed", finding.title
    _says(finding, [
        f"startup probe fails and the kubelet restarts it: {STARTUP_UNHEALTHY}",
        "HTTP GET /healthz on port 8080, initialDelaySeconds 0, periodSeconds 5, timeoutSeconds 1, failureThreshold 6",
        "Container app failed startup probe, will be restarted",
        "within `failureThreshold \N{MULTIPLICATION SIGN} periodSeconds` of the startup probe",  # the fix
    ])


async def test_ten_replicas_crashing_together_give_one_finding_naming_all_ten(env: Env) -> None:
    workload = f"Deployment/{NAMESPACE}/fleet"
    pods = await asyncio.to_thread(env.core.list_namespaced_pod, NAMESPACE, label_selector="app=fleet")
    names = sorted(p.metadata.name for p in pods.items)
    assert len(names) == 10
    await until(lambda: bool(env.findings(CRASH, lambda f: f.labels.get("workload") == workload)),
                timeout=FINDING_TIMEOUT, what="a finding about the fleet")
    # The other replicas' runs are queued behind the first: let them all report (as duplicates).
    await until(lambda: env.host.dispatcher.depth(CRASH) == 0, timeout=60, what="the queued runs")
    await asyncio.sleep(2)
    [finding] = env.findings(CRASH, lambda f: f.labels.get("workload") == workload)
    assert finding.labels["cause"] == "ApplicationError", finding.title
    assert finding.title.startswith(f"10 pods of {workload} (container app) are crash-looping: "
                                    "the application exits with code 4: FATAL: cannot open /etc/fleet/config.yaml")
    [table] = [t for t in finding.tables if (t.title or "").startswith("Crash-looping pods of")]
    assert table.title == f"Crash-looping pods of {workload} (10)"
    assert sorted(str(row[0]) for row in table.rows) == names


async def test_a_rolling_update_and_a_scale_down_give_no_finding(env: Env) -> None:
    apps = env.apps

    def ready(name: str, replicas: int) -> bool:
        status = apps.read_namespaced_deployment_status(name, NAMESPACE).status
        return (status.updated_replicas or 0) == replicas and (status.available_replicas or 0) == replicas and (
            status.replicas or 0) == replicas

    async def settle(name: str, replicas: int) -> None:
        await until(lambda: ready(name, replicas), timeout=90, what=f"{name} to settle at {replicas}")

    await settle("steady", 2)
    await settle("shrink", 3)
    image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "python:3.12"}]}}}}
    await asyncio.to_thread(apps.patch_namespaced_deployment, "steady", NAMESPACE, image)
    await asyncio.to_thread(apps.patch_namespaced_deployment, "shrink", NAMESPACE, {"spec": {"replicas": 1}})
    await settle("steady", 2)
    await settle("shrink", 1)

    def gone() -> bool:  # the old pods, SIGTERMed (143 and 0), are deleted
        pods = env.core.list_namespaced_pod(NAMESPACE, label_selector="app in (steady,shrink)").items
        return len(pods) == 3

    await until(gone, timeout=60, what="the replaced and scaled-down pods to be deleted")
    await asyncio.sleep(4)  # past the reporter's own wait: a wrong finding would be out by now
    wrong = [f.title for f in env.host.findings.recent()
             if f.labels.get("workload", "").split("/")[-1] in ("steady", "shrink")]
    assert wrong == []
