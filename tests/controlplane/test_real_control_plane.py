"""The real control plane answers as a cluster does: real version, controllers, scheduler, admission, RBAC."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from host.localcluster.controlplane.build import KUBERNETES_VERSION
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from tests.controlplane.support import kubectl

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout: float = 60.0, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def namespace(api: client.ApiClient, labels: dict[str, str] | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name, "labels": labels or {}}})
    return name


def sleeper(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "app", "image": "python:3.11", "command": ["sleep", "3600"], **container}]
        },
    }


def test_kubectl_version_shows_the_real_kube_apiserver_release(control_plane: KubernetesControlPlane) -> None:
    out = kubectl(control_plane, "version")
    assert f"Server Version: {KUBERNETES_VERSION}" in out


def test_kubectl_apply_validates_against_the_servers_openapi(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient
) -> None:
    ns = namespace(api_client)
    manifest = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
        "spec: {containers: [{name: app, image: python:3.11, command: [sleep, '60']}]}\n"
    )
    assert "pod/web created" in kubectl(control_plane, "-n", ns, "apply", "-f", "-", stdin=manifest)
    bad = manifest.replace("image:", "imagge:")
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(control_plane.kubeconfig_path), "-n", ns, "apply", "-f", "-"],
        input=bad.replace("name: web", "name: web2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert 'unknown field "spec.containers[0].imagge"' in result.stderr


def test_kubectl_get_pods_shows_the_servers_table_columns(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient
) -> None:
    ns = namespace(api_client)
    client.CoreV1Api(api_client).create_namespaced_pod(ns, sleeper("web"))
    header = kubectl(control_plane, "-n", ns, "get", "pods").splitlines()[0].split()
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_a_deployment_gets_its_replicaset_and_pods_from_the_real_controller_manager(
    api_client: client.ApiClient,
) -> None:
    ns = namespace(api_client)
    labels = {"app": "web"}
    client.AppsV1Api(api_client).create_namespaced_deployment(
        ns,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [{"name": "app", "image": "python:3.11", "command": ["sleep", "3600"]}]
                    },
                },
            },
        },
    )
    sets = eventually(
        lambda: client.AppsV1Api(api_client).list_namespaced_replica_set(ns).items, what="the ReplicaSet"
    )
    assert sets[0].metadata.owner_references[0].kind == "Deployment"
    pods = eventually(
        lambda: (
            (items := client.CoreV1Api(api_client).list_namespaced_pod(ns).items)
            and len(items) == 2
            and items
        ),
        what="two pods",
    )
    assert {p.metadata.owner_references[0].name for p in pods} == {sets[0].metadata.name}


def test_an_unplaceable_pod_gets_the_real_schedulers_failed_scheduling_event(
    api_client: client.ApiClient,
) -> None:
    ns = namespace(api_client)
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, sleeper("huge", resources={"requests": {"cpu": "1000"}}))

    def failed_scheduling() -> list[Any]:
        return [e for e in core.list_namespaced_event(ns).items if e.reason == "FailedScheduling"]

    events = eventually(failed_scheduling, what="a FailedScheduling event")
    # The scheduler's own words about our one node.
    assert events[0].message.startswith("0/1 nodes are available: 1 Insufficient cpu."), events[0].message
    assert events[0].reporting_component == "default-scheduler"
    assert events[0].type == "Warning"
    # The scheduler records the event and patches the pod's condition separately: wait for both.
    def unschedulable() -> Any:
        pod = core.read_namespaced_pod("huge", ns)
        scheduled = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
        return scheduled and pod

    pod = eventually(unschedulable, what="the PodScheduled condition")
    assert pod.status.phase == "Pending"
    scheduled = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert scheduled[0].status == "False" and scheduled[0].reason == "Unschedulable"


def test_pod_security_baseline_rejects_a_sys_ptrace_container(api_client: client.ApiClient) -> None:
    ns = namespace(api_client, {"pod-security.kubernetes.io/enforce": "baseline"})
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(
            ns, sleeper("debug", securityContext={"capabilities": {"add": ["SYS_PTRACE"]}})
        )
    assert caught.value.status == 403
    message = json.loads(caught.value.body)["message"]
    assert 'violates PodSecurity "baseline:latest"' in message
    assert "SYS_PTRACE" in message
    core.create_namespaced_pod(ns, sleeper("plain"))  # the same pod without the capability is admitted


def test_server_side_dry_run_delete_keeps_the_pod(api_client: client.ApiClient) -> None:
    ns = namespace(api_client)
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, sleeper("keep"))
    core.delete_namespaced_pod("keep", ns, dry_run="All")
    assert core.read_namespaced_pod("keep", ns).metadata.deletion_timestamp is None


def test_rbac_denies_a_service_account_without_grants(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient, tmp_path: Path
) -> None:
    ns = namespace(api_client)
    core = client.CoreV1Api(api_client)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "nobody"}})
    token = core.create_namespaced_service_account_token(
        "nobody", ns, {"spec": {"expirationSeconds": 600}}
    ).status.token
    configuration = client.Configuration()
    configuration.host = control_plane.url
    configuration.ssl_ca_cert = str(control_plane.pki / "ca.crt")
    configuration.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(configuration) as as_nobody, pytest.raises(ApiException) as caught:
        client.CoreV1Api(as_nobody).list_namespaced_pod(ns)
    assert caught.value.status == 403
    message = json.loads(caught.value.body)["message"]
    assert f'User "system:serviceaccount:{ns}:nobody" cannot list resource "pods"' in message


HELLO = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "hello", "namespace": "default"},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "python:3.12",
                "command": [
                    "python",
                    "-c",
                    "import time\nprint('hello from a real node', flush=True)\ntime.sleep(3600)",
                ],
            }
        ]
    },
}


def test_wfhost_localcluster_control_plane_kubernetes_serves_kubectl(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host.cli.main",
            "localcluster",
            "--control-plane",
            "kubernetes",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "version"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert f"Server Version: {KUBERNETES_VERSION}" in result.stdout
        # A user's first steps with that kubeconfig: a pod applied as written runs on our node.
        run = ["kubectl", "--kubeconfig", str(kubeconfig)]
        subprocess.run([*run, "apply", "-f", "-"], input=json.dumps(HELLO), text=True, check=True, timeout=60)
        subprocess.run(
            [*run, "wait", "--for=condition=Ready", "pod/hello", "--timeout=60s"], check=True, timeout=90
        )
        table = subprocess.run([*run, "get", "pods"], capture_output=True, text=True, timeout=60).stdout
        words = table.split()
        assert words[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], table
        assert words[5:9] == ["hello", "1/1", "Running", "0"], table
        logs = subprocess.run([*run, "logs", "hello"], capture_output=True, text=True, timeout=60).stdout
        assert "hello from a real node" in logs
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


def test_wfhost_localcluster_names_go_when_it_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "host.cli.main", "localcluster", "--control-plane", "kubernetes"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 1
    assert "`go` is not on PATH" in result.stderr
