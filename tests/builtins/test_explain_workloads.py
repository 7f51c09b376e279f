"""The Job, node, pod-creation and alert explainers end to end, under `wfhost run`.

On the real control plane (kube-apiserver with Pod Security Admission and ResourceQuota admission,
the job, ReplicaSet and quota controllers, our kubelet as the node) the cluster itself produces
each failure: a Job with `backoffLimit: 0` whose pod exits 2 (BackoffLimitExceeded), a Job past
`activeDeadlineSeconds: 1` (DeadlineExceeded), a privileged Deployment in a namespace enforcing
Pod Security "baseline" (PodCreationForbidden, naming the rule), a Deployment over a ResourceQuota
(QuotaExceeded, naming the quota), and a crash-looping Deployment an Alertmanager alert is posted
about (the host's webhook, bearer token). All of them are set going at once, then each test waits
for its finding. The real job controller also fails a Job on its `podFailurePolicy` FailJob rule
(exit 42): reason `PodFailurePolicy`, which no known cause covers (`Unknown`).

`FailedCreate` refusals this control plane has no admission for (a validating webhook's denial,
RBAC refusing the ReplicaSet controller, another plugin's `is forbidden`, a timeout) are
**replayed**: the Warning as the ReplicaSet controller writes it, about a ReplicaSet of no replicas.

Node conditions are **replayed**: on a real node our kubelet's heartbeats would overwrite them, so
the test writes the status a kubelet writes (`Ready=False KubeletNotReady`, then
`MemoryPressure=True`, `DiskPressure=True`, `PIDPressure=True`) on a second Node of the builtin stand-in, with pods bound to it in two
namespaces.

The host loads only these four explainers (copied to a temporary built-in directory), so other
built-ins do not run here. The explainers' Deno gates and unit tests (`_*_test.ts` beside their
code) run in `tests/builtins/test_gates.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from tests.clusters import RealCluster, open_cluster
from tests.conftest import REPO
from tests.integration.conftest import RunningHost, free_port, wait_for

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

BUILTINS = REPO / "builtin_workflows"
# The explainers under test, and the analyzers they import.
FILES = [
    "jobs/job-failure-reporter.ts",
    "jobs/_job_failure.ts",
    "nodes/node-status-enricher.ts",
    "nodes/_node_status.ts",
    "pod_enrichment/pod-creation-enricher.ts",
    "pod_enrichment/_pod_creation.ts",
    "alert_enrichment/default-enricher.ts",
    "alert_enrichment/_alert.ts",
]
TOKEN = "explain-token"
PSA_NAMESPACE = "explain-psa"
QUOTA_NAMESPACE = "explain-quota"
APP_NAMESPACE = "explain-apps"
PSA_LABEL = "pod-security.kubernetes.io/enforce"


# -- the host ---------------------------------------------------------------------------------


def _builtins(root: Path) -> Path:
    """A built-in directory holding only the four explainers."""
    directory = root / "builtins"
    for rel in FILES:
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUILTINS / rel, directory / rel)
    shutil.copy(BUILTINS / "deno.json", directory / "deno.json")
    return directory


def _start_host(root: Path, kubeconfig: Path) -> RunningHost:
    port = free_port()
    config = {
        "workflows": {"builtinDirectory": str(_builtins(root))},
        "sandbox": {"stateDir": str(root / "state"), "queueSize": 2000},
        "sinks": {"files": {"enabled": True, "directory": str(root / "findings")}, "log": {"enabled": False}},
        "api": {"host": "127.0.0.1", "port": port, "token": TOKEN},
        "cluster": {"kubeconfig": str(kubeconfig)},
        "triggers": {"perSubjectIntervalSeconds": 0},
        "logging": {"format": "json", "level": "info"},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    log = root / "host.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli.main", "run", "--config", str(path)],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )
    host = RunningHost(proc=proc, url=f"http://127.0.0.1:{port}", token=TOKEN, findings=root / "findings", log=log)
    try:
        wait_for(lambda: host.status("/readyz") == 200 or proc.poll() is not None, timeout=90, what="readyz")
        assert proc.poll() is None, log.read_text()[-3000:]
        wait_for(lambda: _loaded(host) == 4, timeout=120, what="the four explainers to load")
        # Every feed past its baseline: a failure from now on is new to the host.
        wait_for(
            lambda: {"batch/v1/Job", "v1/Event", "v1/Node"} <= _baselines(log), timeout=60, what="the baselines"
        )
    except BaseException:
        host.stop()
        raise
    return host


def _loaded(host: RunningHost) -> int:
    request = urllib.request.Request(f"{host.url}/api/v1/workflows", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        items = json.load(answer)["items"]
    broken = [item for item in items if item["state"] != "loaded" and item["error"]]
    assert not broken, broken
    return sum(item["state"] == "loaded" for item in items)


def _baselines(log: Path) -> set[str]:
    seen = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "source.baseline":
            seen.add(str(entry.get("resource")))
    return seen


def _findings(host: RunningHost, workflow: str) -> list[dict[str, Any]]:
    found = []
    for doc in sorted(host.findings.glob(f"{workflow}-*/finding.json")):
        found.append(json.loads(doc.read_text()))
    return found


def _finding(host: RunningHost, workflow: str, **labels: str) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        for finding in _findings(host, workflow):
            if all(finding.get("labels", {}).get(k) == v for k, v in labels.items()):
                return finding
        return None

    return find


def _await(host: RunningHost, workflow: str, timeout: float = 90, **labels: str) -> dict[str, Any]:
    find = _finding(host, workflow, **labels)
    try:
        wait_for(lambda: find() is not None, timeout=timeout, what=f"a {workflow} finding with {labels}")
    except AssertionError:
        others = [(f["title"], f.get("labels")) for f in _findings(host, workflow)]
        raise AssertionError(
            f"no {workflow} finding with {labels}; found {others}\n{host.log.read_text()[-3000:]}"
        ) from None
    finding = find()
    assert finding is not None
    return finding


def _tables(finding: dict[str, Any]) -> str:
    return "\n".join(
        " | ".join(str(cell) for cell in row) for table in finding.get("tables", []) for row in table["rows"]
    )


# -- the real control plane ----------------------------------------------------------------------


def _container(command: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": "python:3.11", "command": command, **extra}


def _job(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "containers": [_container(command)],
                }
            },
        },
    }


def _deployment(name: str, container: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [container]},
            },
        },
    }


MIGRATE = ["python", "-c", "import sys; print('migrating users'); print('ERROR: relation users exists'); sys.exit(2)"]
CRASH = [
    "python", "-u", "-c", "import sys; print('connecting to db'); print('fatal: DATABASE_URL not set'); sys.exit(3)"
]


# `FailedCreate` Warnings as the ReplicaSet controller writes them (`Error creating: ` and the API
# server's refusal; the pod name is the generateName prefix), for refusals this control plane has
# no admission for: a validating webhook's denial, RBAC refusing the controller, another admission
# plugin's `is forbidden`, and an answer nothing classifies. name -> (message, cause, what it says).
FAILED_CREATES: dict[str, tuple[str, str, str]] = {
    "webhooked": (
        'Error creating: admission webhook "deny.example.com" denied the request: pods in explain-apps must set '
        "a team label",
        "PodCreationForbidden",
        'cannot create its pods: admission webhook "deny.example.com" denies them: pods in explain-apps must set '
        "a team label",
    ),
    "unpermitted": (
        'Error creating: pods "unpermitted-7d9f8b6c5-" is forbidden: User '
        '"system:serviceaccount:kube-system:replicaset-controller" cannot create resource "pods" in API group "" '
        f'in the namespace "{APP_NAMESPACE}"',
        "PodCreationForbidden",
        "cannot create its pods: RBAC does not let system:serviceaccount:kube-system:replicaset-controller create "
        f"pods in namespace {APP_NAMESPACE}",
    ),
    "selector-conflict": (
        'Error creating: pods "selector-conflict-6c4f8d7b9-" is forbidden: pod node label selector conflicts '
        "with its namespace node label selector",
        "PodCreationForbidden",
        "cannot create its pods: creating them is forbidden: pod node label selector conflicts with its "
        "namespace node label selector",
    ),
    "timed-out": (
        "Error creating: Timeout: request did not complete within requested timeout - context deadline exceeded",
        "Unknown",
        "cannot create its pods: cause not recognised",
    ),
}


def _replay_failed_creates(core: Any, apps: Any) -> None:
    """A ReplicaSet of no replicas per refusal (the controller then writes nothing itself), and the
    controller's `FailedCreate` Warning about it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name, (message, _, _) in FAILED_CREATES.items():
        labels = {"app": name}
        rs = apps.create_namespaced_replica_set(APP_NAMESPACE, {
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [_container(["sleep", "600"])]}}},
        })
        core.create_namespaced_event(APP_NAMESPACE, {
            "metadata": {"name": f"{name}.{rs.metadata.uid[:8]}", "namespace": APP_NAMESPACE},
            "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "namespace": APP_NAMESPACE,
                               "name": name, "uid": rs.metadata.uid},
            "reason": "FailedCreate", "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "replicaset-controller"}, "reportingComponent": "replicaset-controller",
        })


@dataclass
class Scene:
    cluster: RealCluster
    host: RunningHost


@pytest.fixture(scope="module")
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """The host on the real control plane, with every failure set going at once."""
    root = tmp_path_factory.mktemp("explain-real")
    with open_cluster("kubernetes", request) as cluster:
        core = cluster.core_v1()
        cluster.ensure_namespace(PSA_NAMESPACE, {PSA_LABEL: "baseline"})
        cluster.ensure_namespace(QUOTA_NAMESPACE)
        cluster.ensure_namespace(APP_NAMESPACE)
        quota = {"metadata": {"name": "compute-quota"}, "spec": {"hard": {"limits.cpu": "1"}}}
        try:
            core.create_namespaced_resource_quota(QUOTA_NAMESPACE, quota)
        except ApiException as exc:
            if exc.status != 409:
                raise
        # Admission refuses every pod while the quota controller has not counted usage yet.
        wait_for(
            lambda: bool(core.read_namespaced_resource_quota("compute-quota", QUOTA_NAMESPACE).status.hard),
            timeout=30, what="the quota controller to fill the quota's status",
        )
        host = _start_host(root, cluster.kubeconfig_path)
        try:
            api = cluster.api_client()
            batch = kubernetes.client.BatchV1Api(api)
            apps = kubernetes.client.AppsV1Api(api)
            batch.create_namespaced_job(APP_NAMESPACE, _job("migrate", MIGRATE, backoffLimit=0))
            batch.create_namespaced_job(APP_NAMESPACE, _job("slow", ["sleep", "60"], activeDeadlineSeconds=1))
            privileged = _container(["sleep", "600"], securityContext={"privileged": True})
            apps.create_namespaced_deployment(PSA_NAMESPACE, _deployment("priv", privileged, replicas=3))
            greedy = _container(["sleep", "600"], resources={"limits": {"cpu": "2"}})
            apps.create_namespaced_deployment(QUOTA_NAMESPACE, _deployment("greedy", greedy))
            apps.create_namespaced_deployment(APP_NAMESPACE, _deployment("crasher", _container(CRASH)))
            batch.create_namespaced_job(APP_NAMESPACE, _job(
                "policy", ["sh", "-c", "echo checking; exit 42"], backoffLimit=6,
                podFailurePolicy={"rules": [
                    {"action": "FailJob", "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]}},
                ]},
            ))
            _replay_failed_creates(core, apps)
            yield Scene(cluster=cluster, host=host)
        finally:
            host.stop()
            core.delete_namespaced_resource_quota("compute-quota", QUOTA_NAMESPACE)
            core.patch_namespace(PSA_NAMESPACE, {"metadata": {"labels": {PSA_LABEL: None}}})


def test_a_job_past_its_backoff_limit_is_explained_by_its_pods_exit_code(real: Scene) -> None:
    finding = _await(real.host, "job-failure-reporter", workload=f"Job/{APP_NAMESPACE}/migrate")
    assert finding["labels"]["cause"] == "BackoffLimitExceeded", finding["title"]
    assert finding["labels"]["namespace"] == APP_NAMESPACE
    assert finding["title"].startswith(f"Job {APP_NAMESPACE}/migrate failed: its pods failed 1 time, past its "
                                       "backoffLimit of 0; the last one, migrate-"), finding["title"]
    assert "container app exited with code 2 (the application's own error code)" in (
        finding["title"]
    )
    body = finding["body"]
    assert "ApplicationError (container app exited with code 2" in body, body
    assert "ERROR: relation users exists" in body, body  # the pod's log tail
    assert " | terminated | Error | 2 | " in _tables(finding), _tables(finding)


def test_a_job_past_its_active_deadline_is_explained(real: Scene) -> None:
    finding = _await(real.host, "job-failure-reporter", workload=f"Job/{APP_NAMESPACE}/slow")
    assert finding["labels"]["cause"] == "DeadlineExceeded", finding["title"]
    assert finding["title"].startswith(
        f"Job {APP_NAMESPACE}/slow failed: it was still running after its activeDeadlineSeconds of 1 s"
    ), finding["title"]
    assert "DeadlineExceeded: Job was active longer than specified deadline" in finding["body"], finding["body"]
    assert "Raise `spec.activeDeadlineSeconds` (now 1)" in finding["body"]


def test_a_deployment_pod_security_forbids_gets_one_finding_naming_the_rule(real: Scene) -> None:
    workload = f"Deployment/{PSA_NAMESPACE}/priv"
    finding = _await(real.host, "pod-creation-enricher", workload=workload)
    assert finding["labels"]["cause"] == "PodCreationForbidden", finding["title"]
    assert finding["subject"]["kind"] == "ReplicaSet", finding["subject"]
    rule = 'Pod Security "baseline:latest" forbids them: privileged (container "app" must not set ' \
        'securityContext.privileged=true)'
    assert finding["title"].endswith(f"cannot create its pods: {rule}"), finding["title"]
    assert "privileged: remove `securityContext.privileged: true`" in finding["body"], finding["body"]
    assert "ReplicaFailure" in _tables(finding), _tables(finding)
    # Three replicas, and the controller retries each: still one finding for the workload.
    time.sleep(3)
    assert sum(f["labels"].get("workload") == workload for f in _findings(real.host, "pod-creation-enricher")) == 1


def test_a_deployment_over_its_quota_is_explained_naming_the_quota(real: Scene) -> None:
    finding = _await(real.host, "pod-creation-enricher", workload=f"Deployment/{QUOTA_NAMESPACE}/greedy")
    assert finding["labels"]["cause"] == "QuotaExceeded", finding["title"]
    rule = "they would exceed ResourceQuota compute-quota (requested: limits.cpu=2; used: limits.cpu=0; limited: " \
        "limits.cpu=1)"
    assert finding["title"].endswith(f"cannot create its pods: {rule}"), finding["title"]
    quota = next(t for t in finding["tables"] if t["title"] == "ResourceQuota compute-quota")
    assert quota["rows"] == [["limits.cpu", "1", "0", "2"]], quota
    assert f"kubectl edit resourcequota compute-quota -n {QUOTA_NAMESPACE}" in finding["body"]


@pytest.mark.parametrize("name", list(FAILED_CREATES))
def test_a_replica_set_refused_by_admission_is_explained_replayed(real: Scene, name: str) -> None:
    message, cause, says = FAILED_CREATES[name]
    finding = _await(real.host, "pod-creation-enricher", workload=f"ReplicaSet/{APP_NAMESPACE}/{name}")
    assert finding["labels"]["cause"] == cause, finding["title"]
    assert finding["subject"] == {"kind": "ReplicaSet", "namespace": APP_NAMESPACE, "name": name}, finding["subject"]
    assert finding["title"] == f"ReplicaSet {APP_NAMESPACE}/{name} {says}", finding["title"]
    assert message.removeprefix("Error creating: ") in finding["body"], finding["body"]
    if cause == "Unknown":
        assert "**Cause not recognised**" in finding["body"] and "**Likely fix**" not in finding["body"]
    else:
        assert "**Likely fix**" in finding["body"], finding["body"]


def test_a_job_failed_by_its_pod_failure_policy_is_not_guessed_at(real: Scene) -> None:
    # The real job controller fails the Job on the FailJob rule: reason PodFailurePolicy, which no
    # known cause covers, so the finding quotes the condition and says "cause not recognised".
    finding = _await(real.host, "job-failure-reporter", workload=f"Job/{APP_NAMESPACE}/policy")
    assert finding["labels"]["cause"] == "Unknown", finding["title"]
    assert finding["title"] == f"Job {APP_NAMESPACE}/policy failed (PodFailurePolicy): cause not recognised", (
        finding["title"])
    body = finding["body"]
    assert "PodFailurePolicy" in body and "failed with exit code 42 matching FailJob rule at index 0" in body, body
    assert "**Cause not recognised**" in body and "**Likely fix**" not in body, body


def test_an_alert_about_a_crash_looping_pod_gets_its_explanation(real: Scene) -> None:
    core = real.cluster.core_v1()

    def crashed() -> str | None:
        for pod in core.list_namespaced_pod(APP_NAMESPACE, label_selector="app=crasher").items:
            for status in pod.status.container_statuses or []:
                if status.last_state and status.last_state.terminated:
                    return str(pod.metadata.name)
        return None

    wait_for(lambda: crashed() is not None, timeout=90, what="the crasher to restart")
    pod = crashed()
    assert pod is not None
    alert = {
        "version": "4",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": "KubePodCrashLooping", "namespace": APP_NAMESPACE, "pod": pod, "container": "app",
                "severity": "warning",
            },
            "annotations": {
                "summary": "Pod is crash looping.",
                "description": f"Pod {APP_NAMESPACE}/{pod} (app) is in waiting state.",
                "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
            },
            "startsAt": "2026-01-01T10:00:00Z",
        }],
    }
    request = urllib.request.Request(
        f"{real.host.url}/api/v1/alerts", data=json.dumps(alert).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202
        assert "default-enricher" in json.load(answer)["events"][0]["workflows"]
    finding = _await(real.host, "default-enricher", alertname="KubePodCrashLooping")
    assert finding["labels"]["cause"] == "ApplicationError", finding["title"]
    assert finding["labels"]["workload"] == f"Deployment/{APP_NAMESPACE}/crasher", finding["labels"]
    assert finding["title"].startswith(
        f"Alert KubePodCrashLooping: Pod {APP_NAMESPACE}/{pod} (of Deployment {APP_NAMESPACE}/crasher): container app "
        "exited with code 3 (the application's own error code), restarted"
    ), finding["title"]
    body = finding["body"]
    assert "fatal: DATABASE_URL not set" in body, body  # the previous run's log
    assert "**Alert summary:** Pod is crash looping." in body, body
    assert "**Runbook:** https://runbooks.prometheus-operator.dev/" in body, body


# -- node conditions, replayed on the builtin stand-in ---------------------------------------------


def _worker(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110"},
        },
    }


DISK_OK = ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
PID_OK = ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available")


def _conditions(
    ready: tuple[str, str, str], memory: tuple[str, str, str],
    disk: tuple[str, str, str] = DISK_OK, pid: tuple[str, str, str] = PID_OK,
) -> list[dict[str, str]]:
    """The four conditions as a kubelet writes them (`status`, `reason`, `message`)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = [
        ("MemoryPressure", *memory),
        ("DiskPressure", *disk),
        ("PIDPressure", *pid),
        ("Ready", *ready),
    ]
    return [
        {"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": now, "lastTransitionTime": now}
        for t, s, r, m in rows
    ]


READY = ("True", "KubeletReady", "kubelet is posting ready status")
NOT_READY = (
    "False", "KubeletNotReady", "container runtime is down: PLEG is not healthy: pleg was last seen active 3m5s ago"
)
MEMORY_OK = ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
MEMORY_LOW = ("True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
# The kubelet's own words (pkg/kubelet/nodestatus/setters.go).
DISK_LOW = ("True", "KubeletHasDiskPressure", "kubelet has disk pressure")
PID_LOW = ("True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")


def test_a_node_going_not_ready_then_under_memory_pressure_is_explained_replayed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with open_cluster("builtin", request) as cluster:
        core = cluster.core_v1()
        core.create_node(_worker("worker-2"))
        core.patch_node_status("worker-2", {"status": {"conditions": _conditions(READY, MEMORY_OK)}})
        core.create_namespace({"metadata": {"name": "shop"}})
        bound = (("default", "cache-1", "3Gi"), ("shop", "web-1", "2Gi"), ("shop", "batch-1", None))
        for namespace, name, memory in bound:
            resources = {"requests": {"cpu": "500m", "memory": memory}} if memory else {}
            core.create_namespaced_pod(namespace, {
                "metadata": {"name": name},
                "spec": {"nodeName": "worker-2", "containers": [_container(["sleep", "600"], resources=resources)]},
            })
        host = _start_host(tmp_path, cluster.kubeconfig_path)
        try:
            core.patch_node_status("worker-2", {"status": {"conditions": _conditions(NOT_READY, MEMORY_OK)}})
            finding = _await(host, "node-status-enricher", timeout=60, cause="NodeNotReady")
            assert finding["labels"] == {"cause": "NodeNotReady", "workload": "Node/worker-2", "node": "worker-2"}
            assert finding["severity"] == "critical"
            assert finding["title"] == (
                "Node worker-2 is NotReady (KubeletNotReady: container runtime is down: PLEG is not healthy: pleg "
                "was last seen active 3m5s ago); 3 pods run on it"
            ), finding["title"]
            usage = next(t for t in finding["tables"] if t["title"].startswith("Requests of its 3 pods"))
            assert ["memory", "7Gi", "5Gi", "71%", "none (3 pods without a limit)", ""] in usage["rows"], usage
            pods = next(t for t in finding["tables"] if t["title"].startswith("Pods on worker-2"))
            assert [row[0] for row in pods["rows"]] == ["default/cache-1", "shop/web-1", "shop/batch-1"], pods
            assert "The container runtime is unhealthy" in finding["body"]

            core.patch_node_status("worker-2", {"status": {"conditions": _conditions(NOT_READY, MEMORY_LOW)}})
            pressure = _await(host, "node-status-enricher", timeout=60, cause="NodeMemoryPressure")
            assert pressure["title"] == (
                "Node worker-2 is under memory pressure (kubelet has insufficient memory available); its 3 pods "
                "request 5Gi of 7Gi allocatable memory (71%)"
            ), pressure["title"]
            assert "shop/batch-1" in pressure["body"]  # the BestEffort pod, named in the fix
            assert len(_findings(host, "node-status-enricher")) == 2

            # Disk, then PID pressure on top: each pressure type is an episode of its own.
            core.patch_node_status("worker-2", {"status": {"conditions": _conditions(NOT_READY, MEMORY_LOW, DISK_LOW)}})
            disk = _await(host, "node-status-enricher", timeout=60, cause="NodeDiskPressure")
            assert disk["labels"] == {"cause": "NodeDiskPressure", "workload": "Node/worker-2", "node": "worker-2"}
            assert disk["title"] == (
                "Node worker-2 is under disk pressure (kubelet has disk pressure); none of its 3 pods requests "
                "ephemeral-storage"
            ), disk["title"]
            assert "| DiskPressure | True | KubeletHasDiskPressure |" in disk["body"], disk["body"]
            assert "Set `ephemeral-storage` requests and limits" in disk["body"]

            core.patch_node_status("worker-2", {"status": {"conditions": _conditions(
                NOT_READY, MEMORY_LOW, DISK_LOW, PID_LOW)}})
            pid = _await(host, "node-status-enricher", timeout=60, cause="NodePIDPressure")
            assert pid["labels"] == {"cause": "NodePIDPressure", "workload": "Node/worker-2", "node": "worker-2"}
            assert pid["title"] == (
                "Node worker-2 is under PID pressure (kubelet has insufficient PID available); 3 pods run on it"
            ), pid["title"]
            assert "| PIDPressure | True | KubeletHasInsufficientPID |" in pid["body"], pid["body"]
            assert "`podPidsLimit`" in pid["body"]
            assert len(_findings(host, "node-status-enricher")) == 4
        finally:
            host.stop()
