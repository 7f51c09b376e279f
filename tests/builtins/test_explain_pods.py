"""The pod explainers end to end: `image-pull-backoff-enricher`, `pod-investigator-enricher` and
`pod-evicted-enrichments` in a real host, on the real control plane with our kubelet as its node,
and on the builtin stand-in for what only a real node could produce.

What the real control plane and our kubelet produce themselves, and is asserted as they say it:

- an image from `registry.invalid`: our kubelet fails the pull with containerd's DNS error
  (`... dial tcp: lookup registry.invalid: no such host`), so `RegistryUnreachable`;
- the real scheduler's `FailedScheduling` reasons: `Insufficient cpu` (ten replicas of one
  Deployment: one finding naming all ten), `Insufficient memory`, `didn't match Pod's node
  affinity/selector`, `had untolerated taint(s)` (a taint put on the node `localnode`, removed
  after), and `persistentvolumeclaim "..." not found` (`UnboundPVC`);
- a missing ConfigMap: our kubelet does stop the container with `CreateContainerConfigError`, but
  in its own words (`couldn't find key for configMapKeyRef in environment variable "X"`), not the
  real kubelet's `configmap "x" not found`; the explainer resolves the variable through the pod
  spec and finds the ConfigMap missing (`MissingConfigMap`). The real kubelet's wording is
  replayed below;
- a command that is not in the image: our kubelet's `StartError` (`exec: "...": executable file
  not found in $PATH`), `CommandNotFound`.

Replayed, in the exact shapes a real kubelet writes (status patches stick only where no kubelet
or scheduler owns the pod, so on the stand-in a pod bound to another node, or to `localnode` once
its container runs):

- probe failures: our kubelet runs no probes, so the kubelet's `Unhealthy` Events are created on
  the real control plane itself, for a running pod whose spec defines the three probes;
- image pulls our kubelet cannot fail that way (`not found`, `401 Unauthorized`, an invalid name,
  `imagePullPolicy: Never`), the real kubelet's configuration messages (`configmap "x" not found`,
  `secret "x" not found`, `couldn't find key K in ConfigMap ns/x`), `Too many pods`, and
  evictions under memory and disk pressure (`The node was low on resource: ...`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import kubernetes
import pytest
import pytest_asyncio

from host.config import HostConfig, parse_config
from host.model.findings import Finding
from host.runtime.app import Host
from host.workflows.builtins import BUILTIN_NAMES, config_key
from tests.clusters import RealCluster, open_cluster

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow, pytest.mark.timeout(180)]

IMAGE_PULL = "image-pull-backoff-enricher"
INVESTIGATOR = "pod-investigator-enricher"
EVICTED = "pod-evicted-enrichments"
MINE = (IMAGE_PULL, INVESTIGATOR, EVICTED)
NAMESPACE = "explain"
IMAGE = "python:3.11-slim"
NODE = "localnode"
TAINT = {"key": "wfhost.test/dedicated", "value": "explain", "effect": "NoSchedule"}
FINDING_TIMEOUT = 60.0

T = TypeVar("T")


def host_config(root: Path, kubeconfig: Path) -> HostConfig:
    """The chart's defaults with only the three explainers on, and pods pending for 2 s reported."""
    workflows: dict[str, dict[str, Any]] = {}
    for name in BUILTIN_NAMES:
        key = config_key(name)
        if name in MINE or key is None:
            continue
        _, group, entry = key.split(".")
        workflows.setdefault(group, {})[entry] = {"enabled": False}
    return parse_config({
        "sandbox": {"stateDir": str(root / "state"), "invocationTimeoutSeconds": 60},
        "cluster": {"kubeconfig": str(kubeconfig)},
        "api": {"enabled": False},
        "sinks": {"files": {"enabled": True, "directory": str(root / "findings")}, "log": {"enabled": False}},
        "triggers": {"podPendingSeconds": 2, "perSubjectIntervalSeconds": 0},
        "workflows": workflows,
    })


@dataclass
class Env:
    """A cluster, a host running the three explainers against it, and ways to wait for findings."""

    cluster: Any
    host: Host

    @property
    def core(self) -> Any:
        return self.cluster.core_v1()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A blocking client call, off the event loop the host runs in."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def findings(self, workflow: str, where: Callable[[Finding], bool]) -> list[Finding]:
        return [f for f in self.host.findings.recent() if f.workflow == workflow and where(f)]

    async def finding(
        self, workflow: str, *, pod: str | None = None, workload: str | None = None,
        cause: str | None = None, timeout: float = FINDING_TIMEOUT,
    ) -> Finding:
        """The first finding of `workflow` about `pod` (its subject) or `workload` (its label)."""

        def matches(f: Finding) -> bool:
            if pod is not None and (f.subject is None or f.subject.name != pod):
                return False
            if workload is not None and f.labels.get("workload") != workload:
                return False
            return cause is None or f.labels.get("cause") == cause

        deadline = time.monotonic() + timeout
        while not (found := self.findings(workflow, matches)):
            if time.monotonic() > deadline:
                seen = [(f.workflow, f.labels.get("cause"), f.title) for f in self.host.findings.recent()]
                raise AssertionError(f"no {workflow} finding for {pod or workload} after {timeout:g}s; seen: {seen}")
            await asyncio.sleep(0.2)
        return found[0]


async def _start(cluster: Any, root: Path) -> Host:
    host = Host(host_config(root, cluster.kubeconfig_path))
    await host.start(watch=False)
    loaded = {w.name for w in host.registry.workflows()}
    assert set(MINE) <= loaded, loaded
    return host


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """The real control plane (its scheduler and controllers) with our kubelet as its node."""
    with open_cluster("kubernetes", request) as cluster:
        assert isinstance(cluster, RealCluster)
        await asyncio.to_thread(cluster.ensure_namespace, NAMESPACE)
        host = await _start(cluster, tmp_path_factory.mktemp("explain-real"))
        try:
            yield Env(cluster, host)
        finally:
            await host.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replay(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """The builtin stand-in, where statuses written by hand stick (no controllers)."""
    with open_cluster("builtin", request) as cluster:
        await asyncio.to_thread(cluster.core_v1().create_namespace, {"metadata": {"name": NAMESPACE}})
        host = await _start(cluster, tmp_path_factory.mktemp("explain-replay"))
        try:
            yield Env(cluster, host)
        finally:
            await host.stop()


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_body(name: str, *, container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    app = {"name": "app", "image": IMAGE, "command": ["sleep", "300"], **(container or {})}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"test": "explain"}},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [app], **spec},
    }


def kubelet_event(pod: Any, reason: str, message: str, *, type_: str = "Warning",
                  field_path: str | None = "spec.containers{app}") -> dict[str, Any]:
    """A core/v1 Event as the kubelet's recorder writes it about a pod's container."""
    stamp = now()
    involved: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "namespace": pod.metadata.namespace,
        "uid": pod.metadata.uid, "resourceVersion": pod.metadata.resource_version,
    }
    if field_path is not None:
        involved["fieldPath"] = field_path
    return {
        "metadata": {"name": f"{pod.metadata.name}.{uuid.uuid4().hex[:16]}", "namespace": pod.metadata.namespace},
        "involvedObject": involved,
        "reason": reason, "message": message, "type": type_, "count": 1,
        "firstTimestamp": stamp, "lastTimestamp": stamp,
        "source": {"component": "kubelet", "host": NODE},
        "reportingComponent": "kubelet", "reportingInstance": NODE,
    }


def waiting_status(image: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Pending",
            "containerStatuses": [{
                "name": "app", "image": image, "imageID": "", "ready": False, "restartCount": 0,
                "started": False, "state": {"waiting": {"reason": reason, "message": message}},
            }],
        }
    }


async def wait_running(env: Env, name: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        pod = await env.call(env.core.read_namespaced_pod, name, NAMESPACE)
        statuses = pod.status.container_statuses or []
        if statuses and statuses[0].state.running is not None:
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} not running after {timeout:g}s: {pod.status}")
        await asyncio.sleep(0.2)


def table_text(finding: Finding) -> str:
    """Every row of every table (headers included), cells joined by ` | `, one row a line."""
    lines: list[str] = []
    for table in finding.tables:
        lines.append(" | ".join(table.columns))
        lines.extend(" | ".join(str(cell) for cell in row) for row in table.rows)
    return "\n".join(lines)


def assert_labels(finding: Finding, cause: str, workload: str, **more: str) -> None:
    assert finding.labels.get("cause") == cause, (finding.labels, finding.title, finding.body)
    assert finding.labels.get("workload") == workload, finding.labels
    assert finding.labels.get("namespace") == NAMESPACE, finding.labels
    for key, value in more.items():
        assert finding.labels.get(key) == value, finding.labels


# --- the real control plane and our kubelet ---------------------------------------------------------


async def test_an_image_from_a_registry_that_does_not_resolve_is_registry_unreachable(real: Env) -> None:
    image = "registry.invalid/team/app:9.9.9"
    await real.call(real.core.create_namespaced_pod, NAMESPACE, pod_body("unpullable", container={"image": image}))
    finding = await real.finding(IMAGE_PULL, pod="unpullable")
    assert_labels(finding, "RegistryUnreachable", f"Pod/{NAMESPACE}/unpullable", container="app")
    assert finding.title == (
        f'{NAMESPACE}/unpullable (container app) cannot pull image "{image}": '
        "the registry's host name does not resolve (DNS)"
    ), finding.title
    # What our kubelet wrote, quoted: containerd's DNS failure for the registry host.
    assert "dial tcp: lookup registry.invalid: no such host" in finding.body, finding.body
    assert "registry | registry.invalid" in table_text(finding)
    assert "imagePullSecrets | none" in table_text(finding)
    assert "`registry.invalid` is the right registry host" in finding.body


async def test_ten_replicas_that_no_node_fits_give_one_finding_naming_all_ten(real: Env) -> None:
    apps = kubernetes.client.AppsV1Api(real.cluster.api_client())
    labels = {"app": "wide"}
    template = pod_body("unused", container={"resources": {"requests": {"cpu": "1000"}}})
    await real.call(apps.create_namespaced_deployment, NAMESPACE, {
        "metadata": {"name": "wide", "labels": labels},
        "spec": {
            "replicas": 10, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": template["spec"]},
        },
    })
    workload = f"Deployment/{NAMESPACE}/wide"
    finding = await real.finding(INVESTIGATOR, workload=workload)
    assert_labels(finding, "InsufficientCPU", workload)
    assert finding.title.startswith(f"10 pods of Deployment/{NAMESPACE}/wide stay Pending: "), finding.title
    assert "lack unrequested CPU for its request of 1000" in finding.title, finding.title
    pods = await real.call(real.core.list_namespaced_pod, NAMESPACE, label_selector="app=wide")
    names = sorted(p.metadata.name for p in pods.items)
    assert len(names) == 10
    assert all(name in finding.body for name in names), finding.body
    assert "0/1 nodes are available: 1 Insufficient cpu." in finding.body  # the real scheduler's words
    assert "No node can ever fit it: it requests cpu 1000" in finding.body
    await asyncio.sleep(3)  # every replica's run reported under the same key: still one finding
    assert len(real.findings(INVESTIGATOR, lambda f: f.labels.get("workload") == workload)) == 1


async def test_a_memory_request_no_node_has_is_insufficient_memory(real: Env) -> None:
    body = pod_body("hungry", container={"resources": {"requests": {"memory": "1000Gi"}}})
    await real.call(real.core.create_namespaced_pod, NAMESPACE, body)
    finding = await real.finding(INVESTIGATOR, pod="hungry")
    assert_labels(finding, "InsufficientMemory", f"Pod/{NAMESPACE}/hungry")
    assert "lack unrequested memory for its request of 1000Gi" in finding.title, finding.title
    assert "memory allocatable" in table_text(finding)
    assert NODE in table_text(finding)


async def test_a_node_selector_nothing_matches_is_node_selector_mismatch(real: Env) -> None:
    await real.call(real.core.create_namespaced_pod, NAMESPACE, pod_body("picky", nodeSelector={"disktype": "ssd"}))
    finding = await real.finding(INVESTIGATOR, pod="picky")
    assert_labels(finding, "NodeSelectorMismatch", f"Pod/{NAMESPACE}/picky")
    assert "do not match its nodeSelector disktype=ssd" in finding.title, finding.title
    assert "didn't match Pod's node affinity/selector" in finding.body
    assert f"{NODE} | (absent)" in table_text(finding)
    assert f"kubectl label node {NODE} disktype=ssd" in finding.body


async def test_a_taint_on_the_node_is_untolerated_taint(real: Env) -> None:
    node = await real.call(real.core.read_node, NODE)
    before = [t.to_dict() for t in node.spec.taints or []]
    kept = [{k: v for k, v in t.items() if v is not None} for t in before]
    await real.call(real.core.patch_node, NODE, {"spec": {"taints": [*kept, TAINT]}})
    try:
        await real.call(real.core.create_namespaced_pod, NAMESPACE, pod_body("intolerant"))
        finding = await real.finding(INVESTIGATOR, pod="intolerant")
    finally:
        await real.call(real.core.patch_node, NODE, {"spec": {"taints": kept}})
    assert_labels(finding, "UntoleratedTaint", f"Pod/{NAMESPACE}/intolerant")
    assert "carry a taint the pod does not tolerate" in finding.title, finding.title
    assert "had untolerated taint" in finding.body  # the real scheduler's words
    assert f"{NODE} | wfhost.test/dedicated=explain:NoSchedule | no" in table_text(finding)
    assert f"kubectl taint nodes {NODE} wfhost.test/dedicated-" in finding.body
    after = await real.call(real.core.read_node, NODE)
    assert not any(t.key == TAINT["key"] for t in after.spec.taints or [])


async def test_a_claim_that_does_not_exist_is_unbound_pvc(real: Env) -> None:
    body = pod_body(
        "unclaimed",
        container={"volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "missing-data"}}],
    )
    await real.call(real.core.create_namespaced_pod, NAMESPACE, body)
    finding = await real.finding(INVESTIGATOR, pod="unclaimed")
    assert_labels(finding, "UnboundPVC", f"Pod/{NAMESPACE}/unclaimed")
    assert finding.title.endswith('its PersistentVolumeClaim "missing-data" does not exist'), finding.title
    assert 'persistentvolumeclaim "missing-data" not found' in finding.body  # the real scheduler's words
    assert "missing-data | does not exist" in table_text(finding)
    assert f"Create PersistentVolumeClaim `missing-data` in namespace `{NAMESPACE}`" in finding.body


async def test_a_missing_config_map_stops_the_container_and_is_named(real: Env) -> None:
    ref = {"configMapKeyRef": {"name": "missing-config", "key": "DATABASE_URL"}}
    body = pod_body("unconfigured", container={"env": [{"name": "DATABASE_URL", "valueFrom": ref}]})
    await real.call(real.core.create_namespaced_pod, NAMESPACE, body)
    finding = await real.finding(INVESTIGATOR, pod="unconfigured")
    assert_labels(finding, "MissingConfigMap", f"Pod/{NAMESPACE}/unconfigured", container="app")
    assert finding.title == (
        f"{NAMESPACE}/unconfigured (container app) cannot start (CreateContainerConfigError): "
        "ConfigMap missing-config does not exist"
    ), finding.title
    # Our kubelet's own message, quoted as it wrote it; the spec and the lookup name the ConfigMap.
    assert 'couldn\'t find key for configMapKeyRef in environment variable "DATABASE_URL"' in finding.body
    assert "ConfigMap | missing-config | DATABASE_URL | env DATABASE_URL | no | no" in table_text(finding)


async def test_a_command_missing_from_the_image_is_command_not_found(real: Env) -> None:
    body = pod_body("typo", container={"command": ["no-such-command-xyz"]}, restartPolicy="Never")
    await real.call(real.core.create_namespaced_pod, NAMESPACE, body)
    finding = await real.finding(INVESTIGATOR, pod="typo")
    assert_labels(finding, "CommandNotFound", f"Pod/{NAMESPACE}/typo", container="app")
    assert "its command no-such-command-xyz does not exist in the image" in finding.title, finding.title
    assert "executable file not found in $PATH" in finding.body


async def test_failing_probes_are_explained_with_the_pod_spec_s_probe(real: Env) -> None:
    """Our kubelet runs no probes: the `Unhealthy` Events a real kubelet records are created here."""
    probes = {
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8081}},
        "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30},
    }
    container = {"ports": [{"name": "http", "containerPort": 8080}], **probes}
    await real.call(real.core.create_namespaced_pod, NAMESPACE, pod_body("unhealthy", container=container))
    pod = await wait_running(real, "unhealthy")
    messages = {
        "LivenessProbeFailed": "Liveness probe failed: HTTP probe failed with statuscode: 500",
        "ReadinessProbeFailed": 'Readiness probe failed: Get "http://10.244.0.7:8081/ready": dial tcp '
        "10.244.0.7:8081: connect: connection refused",
        "StartupProbeFailed": "Startup probe failed: dial tcp 10.244.0.7:8080: i/o timeout",
    }
    for message in messages.values():
        await real.call(real.core.create_namespaced_event, NAMESPACE, kubelet_event(pod, "Unhealthy", message))
    found = {cause: await real.finding(INVESTIGATOR, pod="unhealthy", cause=cause) for cause in messages}
    liveness = found["LivenessProbeFailed"]
    assert_labels(liveness, "LivenessProbeFailed", f"Pod/{NAMESPACE}/unhealthy", container="app", probe="liveness")
    assert "unhealthy (container app): the liveness probe (GET http://:8080/healthz) fails: the health endpoint answered HTTP 500" in liveness.title
    assert "periodSeconds | 5" in table_text(liveness)
    readiness = found["ReadinessProbeFailed"]
    assert "nothing listens on the probed port" in readiness.title, readiness.title
    assert "checks port `8081`, which container app does not declare (http=8080)" in readiness.body
    startup = found["StartupProbeFailed"]
    assert "(tcp :8080) fails: the check did not answer within `timeoutSeconds`" in startup.title, startup.title
    assert "failureThreshold | 30" in table_text(startup)


# --- replayed on the stand-in -----------------------------------------------------------------------


async def replay_pod(env: Env, name: str, image: str = IMAGE, **spec: Any) -> Any:
    """A pod bound to a node no kubelet serves: nothing but the test writes its status."""
    body = pod_body(name, container={"image": image}, nodeName="elsewhere", **spec)
    return await env.call(env.core.create_namespaced_pod, NAMESPACE, body)


IMAGE_REPLAYS = [
    pytest.param(
        "ImageNotFound", "nginx:1.999", "ErrImagePull", "Failed",
        'Failed to pull image "nginx:1.999": failed to pull and unpack image "docker.io/library/nginx:1.999": '
        'failed to resolve reference "docker.io/library/nginx:1.999": docker.io/library/nginx:1.999: not found',
        "the tag (or the repository) does not exist in the registry", id="not-found",
    ),
    pytest.param(
        "ImagePullUnauthorized", "ghcr.io/acme/web:1.4", "ErrImagePull", "Failed",
        'Failed to pull image "ghcr.io/acme/web:1.4": failed to pull and unpack image "ghcr.io/acme/web:1.4": '
        'failed to resolve reference "ghcr.io/acme/web:1.4": failed to authorize: failed to fetch anonymous token: '
        "unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fweb%3Apull"
        "&service=ghcr.io: 401 Unauthorized",
        "the registry wants credentials the pod does not give", id="unauthorized",
    ),
    pytest.param(
        "InvalidImageName", "Shop/Web:1.0", "InvalidImageName", "InspectFailed",
        'Failed to apply default image tag "Shop/Web:1.0": couldn\'t parse image name "Shop/Web:1.0": invalid '
        "reference format: repository name (library/Shop/Web) must be lowercase",
        "the image reference is not a valid image name", id="invalid-name",
    ),
    pytest.param(
        "ImageNeverPull", "shop/web:dev", "ErrImageNeverPull", "ErrImageNeverPull",
        'Container image "shop/web:dev" is not present with pull policy of Never',
        "`imagePullPolicy: Never` and the image is not on the node", id="never-pull",
    ),
]


@pytest.mark.parametrize(("cause", "image", "reason", "event_reason", "message", "means"), IMAGE_REPLAYS)
async def test_replayed_image_pull_failures_are_classified(
    replay: Env, cause: str, image: str, reason: str, event_reason: str, message: str, means: str,
) -> None:
    name = f"pull-{cause.lower()}"
    pod = await replay_pod(replay, name, image)
    await replay.call(replay.core.create_namespaced_event, NAMESPACE, kubelet_event(pod, event_reason, message))
    status_message = f'Back-off pulling image "{image}": ErrImagePull: {message.split(": ", 1)[1]}' \
        if reason == "ErrImagePull" else message
    await replay.call(replay.core.patch_namespaced_pod_status, name, NAMESPACE,
                      waiting_status(image, reason, status_message))
    finding = await replay.finding(IMAGE_PULL, pod=name)
    assert_labels(finding, cause, f"Pod/{NAMESPACE}/{name}", container="app")
    assert means in finding.title, finding.title
    assert f"the kubelet's {event_reason} event" in finding.body, finding.body
    assert not replay.findings(INVESTIGATOR, lambda f: f.subject is not None and f.subject.name == name)


CONFIG_REPLAYS = [
    pytest.param("MissingConfigMap", 'configmap "app-config" not found', "ConfigMap app-config does not exist",
                 id="configmap"),
    pytest.param("MissingSecret", 'secret "db-credentials" not found', "Secret db-credentials does not exist",
                 id="secret"),
    pytest.param("MissingConfigKey", f"couldn't find key DATABASE_URL in ConfigMap {NAMESPACE}/app-config",
                 "key DATABASE_URL is not in ConfigMap app-config", id="key"),
]


@pytest.mark.parametrize(("cause", "message", "means"), CONFIG_REPLAYS)
async def test_replayed_configuration_errors_name_what_is_missing(
    replay: Env, cause: str, message: str, means: str,
) -> None:
    name = f"config-{cause.lower()}"
    env = [
        {"name": "DATABASE_URL", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}},
    ]
    body = pod_body(name, container={"env": env}, nodeName="elsewhere")
    pod = await replay.call(replay.core.create_namespaced_pod, NAMESPACE, body)
    await replay.call(replay.core.create_namespaced_event, NAMESPACE, kubelet_event(pod, "Failed", f"Error: {message}"))
    await replay.call(replay.core.patch_namespaced_pod_status, name, NAMESPACE,
                      waiting_status(IMAGE, "CreateContainerConfigError", message))
    finding = await replay.finding(INVESTIGATOR, pod=name)
    assert_labels(finding, cause, f"Pod/{NAMESPACE}/{name}", container="app")
    assert finding.title == f"{NAMESPACE}/{name} (container app) cannot start (CreateContainerConfigError): {means}", finding.title
    assert "Secret | db-credentials | password | env DB_PASSWORD | no | not readable" in table_text(finding)


async def test_replayed_too_many_pods_is_too_many_pods(replay: Env) -> None:
    name = "crowded"
    body = pod_body(name, schedulerName="replay-scheduler")  # no binder takes it: it stays unscheduled
    await replay.call(replay.core.create_namespaced_pod, NAMESPACE, body)
    message = ("0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: "
               "1 No preemption victims found for incoming pod.")
    await replay.call(replay.core.patch_namespaced_pod_status, name, NAMESPACE, {"status": {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": message, "lastTransitionTime": now()}],
    }})
    finding = await replay.finding(INVESTIGATOR, pod=name)
    assert_labels(finding, "TooManyPods", f"Pod/{NAMESPACE}/{name}")
    assert "already run as many pods as they allow" in finding.title, finding.title
    assert "no lower-priority pods whose eviction would make room" in finding.body


EVICTION_REPLAYS = [
    pytest.param(
        "EvictedMemoryPressure", "memory", "100Mi",
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 96412Ki. "
        "Container app was using 1234Mi, request is 100Mi, has larger consumption of memory. ",
        "the node was low on memory (available 96412Ki, eviction threshold 100Mi); "
        "container app used 1234Mi (request 100Mi)",
        "app | memory | 1234Mi | 100Mi | 12.3\N{MULTIPLICATION SIGN}",
        id="memory",
    ),
    pytest.param(
        "EvictedDiskPressure", "ephemeral-storage", "0",
        "The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 1468Mi. "
        "Container app was using 6Gi, request is 0, has larger consumption of ephemeral-storage. ",
        "the node was low on ephemeral-storage (available 1468Mi, eviction threshold 10%); "
        "container app used 6Gi (request 0)",
        "app | ephemeral-storage | 6Gi | 0 | no request",
        id="disk",
    ),
]


@pytest.mark.parametrize(("cause", "resource", "request_", "message", "why", "row"), EVICTION_REPLAYS)
async def test_replayed_evictions_name_the_starved_resource_and_the_container(
    replay: Env, cause: str, resource: str, request_: str, message: str, why: str, row: str,
) -> None:
    """On `localnode` of the stand-in: the kubelet runs the container, then the test evicts it."""
    name = f"evicted-{resource}"
    body = pod_body(name, container={"resources": {"requests": {resource: request_}} if request_ != "0" else {}})
    await replay.call(replay.core.create_namespaced_pod, NAMESPACE, body)
    pod = await wait_running(replay, name)
    await replay.call(replay.core.create_namespaced_event, NAMESPACE,
                      kubelet_event(pod, "Evicted", message, field_path=None))
    stamp = now()
    await replay.call(replay.core.patch_namespaced_pod_status, name, NAMESPACE, {"status": {
        "phase": "Failed", "reason": "Evicted", "message": message,
        "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                        "message": message, "lastTransitionTime": stamp}],
        "containerStatuses": [{
            "name": "app", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0, "started": False,
            "state": {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": stamp, "finishedAt": stamp}},
        }],
    }})
    finding = await replay.finding(EVICTED, pod=name)
    assert_labels(finding, cause, f"Pod/{NAMESPACE}/{name}", node=NODE)
    assert finding.title == f"{NAMESPACE}/{name} was evicted from node {NODE}: {why}", finding.title
    assert row in table_text(finding), table_text(finding)
    pressure = "MemoryPressure" if resource == "memory" else "DiskPressure"
    assert f"{pressure} | False" in table_text(finding)  # the node's conditions, read after the eviction
