"""The chart's RBAC on a real API server: the host runs as the chart's ServiceAccount and nothing more.

The chart is rendered with Helm's engine (as the chart tests do); its ServiceAccount, roles and
bindings are applied to the real kube-apiserver; a token is minted for that ServiceAccount and
the host (`Host`, what `wfhost run` starts) gets a kubeconfig holding only that token. What the
roles grant works; what they do not grant answers 403 from Kubernetes itself, and that reaches
the workflow as a clear error.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from kubernetes import client

from host.config import parse_config
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.model.events import Event, Target
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from tests.chart.support import NAMESPACE, fullname, render, scenario_values
from tests.controlplane.support import kubectl

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
SLEEPER = ["python", "-u", "-c", "import time\nwhile True:\n    time.sleep(0.2)"]


def apply_chart_rbac(plane: KubernetesControlPlane, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply the chart's RBAC objects as rendered for `values`, replacing an earlier rendering's."""
    objects = [o for o in render(values).objects if o["kind"] in RBAC_KINDS]
    kubectl(
        plane,
        "delete",
        "clusterrole,clusterrolebinding",
        "-l",
        "app.kubernetes.io/name=wfhost",
        "--ignore-not-found",
    )
    for namespace in ("team-a", "team-b", NAMESPACE):
        kubectl(
            plane,
            "-n",
            namespace,
            "delete",
            "role,rolebinding",
            "-l",
            "app.kubernetes.io/name=wfhost",
            "--ignore-not-found",
        )
    kubectl(
        plane, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    return objects


def token_kubeconfig(plane: KubernetesControlPlane, path: Path) -> Path:
    """A kubeconfig holding only a fresh token of the chart's ServiceAccount."""
    admin = client.CoreV1Api(client.ApiClient(_admin_config(plane)))
    minted = admin.create_namespaced_service_account_token(
        fullname(), NAMESPACE, {"spec": {"expirationSeconds": 3600}}
    )
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "sa",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": plane.url, "certificate-authority": str(plane.pki / "ca.crt")},
                    }
                ],
                "users": [{"name": "sa", "user": {"token": minted.status.token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}],
            }
        )
    )
    return path


def _admin_config(plane: KubernetesControlPlane) -> client.Configuration:
    from kubernetes import config as kube_config

    configuration = client.Configuration()
    kube_config.load_kube_config(config_file=str(plane.kubeconfig_path), client_configuration=configuration)
    return configuration


@pytest.fixture(scope="module")
def namespaces(control_plane: KubernetesControlPlane) -> Iterator[None]:
    for name in ("team-a", "team-b", NAMESPACE):
        kubectl(control_plane, "create", "namespace", name, "--dry-run=client", "-o", "json")
        subprocess.run(
            ["kubectl", "--kubeconfig", str(control_plane.kubeconfig_path), "create", "namespace", name],
            capture_output=True,
            timeout=60,
        )
    for namespace in ("team-a", "team-b"):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"containers": [{"name": "app", "image": "python:3.12", "command": SLEEPER}]},
        }
        kubectl(control_plane, "apply", "-f", "-", stdin=json.dumps(pod))
        kubectl(control_plane, "-n", namespace, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    yield
    for namespace in ("team-a", "team-b"):
        kubectl(control_plane, "-n", namespace, "delete", "pod", "web", "--grace-period=0", "--force")


@pytest_asyncio.fixture
async def start_host(tmp_path: Path) -> AsyncIterator[Any]:
    hosts: list[Host] = []

    async def start(kubeconfig: Path, *, namespaces: list[str], debug: dict[str, Any] | None = None) -> Host:
        config = parse_config(
            {
                **({"debug": debug} if debug is not None else {}),
                "sandbox": {
                    "stateDir": str(tmp_path / f"state-{uuid.uuid4().hex[:6]}"),
                    "invocationTimeoutSeconds": 60,
                },
                "cluster": {"kubeconfig": str(kubeconfig), "namespaces": namespaces},
                "api": {"enabled": False},
                "sinks": {"log": {"enabled": False}},
            }
        )
        host = Host(config)
        await host.start(watch=False)
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        await host.stop()


async def run(host: Host, workflow: str, namespace: str) -> InvocationResult:
    event = Event(kind="manual", target=Target(namespace=namespace, pod="web", container="app"))
    _, done = host.dispatcher.trigger(workflow, event, {}, wait=True)
    assert done is not None
    return await asyncio.wait_for(done, 120)


def _error_text(result: InvocationResult) -> str:
    return " ".join([result.error or "", *(f"{f.title} {f.body}" for f in result.findings)])


async def test_the_host_as_the_charts_service_account_debugs_where_granted_and_gets_403_elsewhere(
    control_plane: KubernetesControlPlane, namespaces: None, start_host: Any, tmp_path: Path
) -> None:
    objects = apply_chart_rbac(control_plane, {"cluster": {"namespaces": ["team-a"]}})
    assert {o["kind"] for o in objects} >= {"ServiceAccount", "ClusterRole", "RoleBinding"}
    kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
    # The host itself would refuse team-b (its policy follows cluster.namespaces); here it is
    # told "all namespaces" so that the refusal must come from Kubernetes RBAC.
    host = await start_host(kubeconfig, namespaces=[])
    granted = await run(host, "pod-process-list", "team-a")
    assert granted.outcome == "ok", granted.error
    table = granted.findings[0].tables[0]
    assert any(
        "python" in " ".join(map(str, row)) for row in table.rows
    )  # listed through a real ephemeral container + exec
    refused = await run(host, "pod-process-list", "team-b")
    text = _error_text(refused)
    assert refused.outcome != "ok" or "cannot" in text
    assert f'User "system:serviceaccount:{NAMESPACE}:{fullname()}" cannot get resource "pods"' in text, text
    assert 'in the namespace "team-b"' in text
    pod = client.CoreV1Api(client.ApiClient(_admin_config(control_plane))).read_namespaced_pod(
        "web", "team-b"
    )
    assert not pod.spec.ephemeral_containers  # nothing was done there


async def test_turning_the_debug_workflows_off_removes_the_verbs_and_a_debug_action_fails_clearly(
    control_plane: KubernetesControlPlane, namespaces: None, start_host: Any, tmp_path: Path
) -> None:
    values = {**scenario_values("debug-off"), "cluster": {"namespaces": ["team-a"]}}
    objects = apply_chart_rbac(control_plane, values)
    rules = [rule for o in objects for rule in o.get("rules", [])]
    assert not any("pods/ephemeralcontainers" in rule["resources"] for rule in rules)
    kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
    # A host still configured with a debug workflow (say, a stale config) meets the real refusal.
    host = await start_host(kubeconfig, namespaces=["team-a"])
    result = await run(host, "pod-process-list", "team-a")
    text = _error_text(result)
    # The pod may carry the debug container from an earlier test (they cannot be removed): then
    # the exec is what RBAC refuses, otherwise adding the container.
    assert 'cannot patch resource "pods/ephemeralcontainers"' in text or 'resource "pods/exec"' in text, text
    assert "RBAC: the host needs" in text
    assert "-+-+-" not in text  # the server's reason, not the websocket library's dump
    assert host.kube is not None  # the host stays up: a read it is granted still works
    assert (await host.kube.get_pod("team-a", "web"))["metadata"]["name"] == "web"


async def test_pod_security_baseline_refusal_reaches_the_workflow_with_what_to_do(
    control_plane: KubernetesControlPlane, namespaces: None, start_host: Any, tmp_path: Path
) -> None:
    kubectl(
        control_plane,
        "label",
        "namespace",
        "team-b",
        "pod-security.kubernetes.io/enforce=baseline",
        "--overwrite",
    )
    try:
        apply_chart_rbac(control_plane, {"cluster": {"namespaces": ["team-a", "team-b"]}})
        kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
        host = await start_host(kubeconfig, namespaces=["team-a", "team-b"])
        refused = await run(host, "pod-process-list", "team-b")
        text = _error_text(refused)
        assert 'violates PodSecurity "baseline:latest"' in text, text
        assert "Pod Security Admission refused the debug container" in text
        assert "pod-security.kubernetes.io/enforce=privileged" in text
        still = await run(host, "pod-process-list", "team-a")  # the host stays healthy
        assert still.outcome == "ok", still.error
    finally:
        kubectl(control_plane, "label", "namespace", "team-b", "pod-security.kubernetes.io/enforce-")


def _can_i(kubeconfig: Path, *args: str) -> bool:
    """`kubectl auth can-i` as whoever `kubeconfig` holds (a SelfSubjectAccessReview)."""
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "auth", "can-i", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), f"kubectl auth can-i {' '.join(args)}: {result.stdout}{result.stderr}"
    return answer == "yes"


def _explainers_off() -> dict[str, Any]:
    """The minimal scenario's explainer switches (all off), the debug tools left as they are."""
    workflows = scenario_values("minimal")["workflows"]
    return {"workflows": {group: names for group, names in workflows.items() if group != "podTroubleshooting"}}


def test_the_kinds_custom_workflows_read_are_granted_to_the_service_account_and_secrets_never(
    control_plane: KubernetesControlPlane, namespaces: None, tmp_path: Path
) -> None:
    apply_chart_rbac(control_plane, {**_explainers_off(), "customWorkflows": {"typescript": {"enabled": True}}})
    kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
    assert _can_i(kubeconfig, "list", "deployments.apps", "--all-namespaces")
    assert _can_i(kubeconfig, "watch", "jobs.batch", "-n", "team-a")
    assert _can_i(kubeconfig, "watch", "nodes")
    assert _can_i(kubeconfig, "get", "pods/log", "-n", "team-a")
    assert not _can_i(kubeconfig, "get", "secrets", "-n", NAMESPACE)
    assert not _can_i(kubeconfig, "list", "secrets", "--all-namespaces")
    assert not _can_i(kubeconfig, "list", "configmaps", "--all-namespaces")  # not in the defaults
    assert not _can_i(kubeconfig, "delete", "deployments.apps", "-n", "team-a")
    # Custom workflows and every built-in off: back to pods, logs and events.
    apply_chart_rbac(control_plane, scenario_values("minimal"))
    assert not _can_i(kubeconfig, "list", "deployments.apps", "--all-namespaces")
    assert not _can_i(kubeconfig, "watch", "nodes")
    assert _can_i(kubeconfig, "list", "pods", "--all-namespaces")
    assert _can_i(kubeconfig, "get", "pods/log", "-n", "team-a")
    assert _can_i(kubeconfig, "watch", "events", "-n", "team-a")


def test_the_explainers_get_the_kinds_they_read_and_never_a_debug_verb(
    control_plane: KubernetesControlPlane, namespaces: None, tmp_path: Path
) -> None:
    # The explainers on (the default), every debug tool off.
    apply_chart_rbac(control_plane, scenario_values("debug-off"))
    kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
    for verb, resource in [
        ("list", "deployments.apps"), ("watch", "replicasets.apps"), ("get", "statefulsets.apps"),
        ("list", "daemonsets.apps"), ("watch", "jobs.batch"), ("get", "cronjobs.batch"),
        ("get", "persistentvolumeclaims"), ("list", "resourcequotas"), ("get", "configmaps"),
    ]:
        assert _can_i(kubeconfig, verb, resource, "--all-namespaces"), (verb, resource)
    assert _can_i(kubeconfig, "watch", "nodes")
    assert not _can_i(kubeconfig, "patch", "pods/ephemeralcontainers", "-n", "team-a")
    assert not _can_i(kubeconfig, "create", "pods/exec", "-n", "team-a")
    assert not _can_i(kubeconfig, "get", "secrets", "-n", "team-a")
    assert not _can_i(kubeconfig, "update", "deployments.apps", "-n", "team-a")
    # Only the Job explainer on: Jobs and CronJobs, not Nodes or Deployments.
    only_jobs = scenario_values("minimal")
    only_jobs["workflows"]["jobs"]["jobFailureReporter"]["enabled"] = True
    apply_chart_rbac(control_plane, only_jobs)
    assert _can_i(kubeconfig, "watch", "jobs.batch", "-n", "team-a")
    assert _can_i(kubeconfig, "list", "cronjobs.batch", "--all-namespaces")
    assert not _can_i(kubeconfig, "watch", "nodes")
    assert not _can_i(kubeconfig, "list", "deployments.apps", "--all-namespaces")
    assert not _can_i(kubeconfig, "get", "configmaps", "-n", "team-a")


async def test_with_auto_the_charts_node_pod_role_is_enough_to_debug_where_pod_security_refuses(
    control_plane: KubernetesControlPlane, namespaces: None, start_host: Any, tmp_path: Path
) -> None:
    kubectl(control_plane, "label", "namespace", "team-b", "pod-security.kubernetes.io/enforce=baseline", "--overwrite")
    kubectl(control_plane, "label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=privileged", "--overwrite")
    try:
        values = {"cluster": {"namespaces": ["team-a", "team-b"]}, "debug": {"mechanism": "auto"}}
        objects = apply_chart_rbac(control_plane, values)
        (role,) = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("-debug-node-pods")]
        assert role["metadata"]["namespace"] == NAMESPACE
        kubeconfig = token_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
        assert not _can_i(kubeconfig, "create", "pods", "-n", "team-a")  # only in its own namespace
        debug = render(values).host_config.debug.model_dump(by_alias=True)
        host = await start_host(kubeconfig, namespaces=["team-a", "team-b"], debug=debug)
        result = await run(host, "pod-process-list", "team-b")
        assert result.outcome == "ok", result.error
        (finding,) = result.findings
        assert "python" in " ".join(str(cell) for row in finding.tables[0].rows for cell in row)
        assert f"ran from a node pod in namespace {NAMESPACE}" in finding.body
        admin = client.CoreV1Api(client.ApiClient(_admin_config(control_plane)))
        for _ in range(100):  # deleted by the host, as the role allows
            if not admin.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=debug-node-pod").items:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the node pod outlived its action")
        assert not admin.read_namespaced_pod("web", "team-b").spec.ephemeral_containers
    finally:
        kubectl(control_plane, "label", "namespace", "team-b", "pod-security.kubernetes.io/enforce-")
        kubectl(control_plane, "label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce-")
