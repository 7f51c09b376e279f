"""The two control planes the cluster-path tests run on: the builtin stand-in and the real one.

`CONTROL_PLANES` parametrizes a fixture; `open_cluster(kind, request)` gives what the test
gets either way: a fresh `LocalCluster` (builtin), or a `RealCluster` view of the session's
real control plane (kube-apiserver, etcd, controller-manager, scheduler and our kubelet as its
node) that is cleaned after the test. Both offer `kubeconfig_path`, `url`, `api_client()`,
`core_v1()`, `coordination_v1()`, `container_pids()` and `kubelet_pids()`; only the stand-in
has fault hooks (`drop_watches`, `compact`, `throttle_next`, ...), so tests that inject faults
say so and run on it alone, unless they start a control plane of their own and use its
`restart_apiserver()` and `compact_etcd()` and the chaos proxy (`tests/faults/`). The real one
never skips: it fails when it cannot start.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from host.localcluster import LocalCluster, LocalClusterSettings
from host.localcluster.controlplane.build import ControlPlaneUnavailable
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.localcluster.harness import KubeClients

CONTROL_PLANES = ["builtin", "kubernetes"]
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
_CLEAN_TIMEOUT_SECONDS = 60.0


def start_control_plane() -> KubernetesControlPlane:
    """The real control plane with our node, its kubelet's delays shortened as the stand-in's are."""
    plane = KubernetesControlPlane(node_settings=LocalClusterSettings.for_tests())
    try:
        plane.start()
    except ControlPlaneUnavailable as exc:
        pytest.fail(f"the real control plane could not start: {exc}", pytrace=False)
    return plane


class RealCluster(KubeClients):
    """The session's real control plane as a test sees it, with LocalCluster's client helpers."""

    control_plane = "kubernetes"

    def __init__(self, plane: KubernetesControlPlane) -> None:
        self.plane = plane
        self.kubeconfig_path = plane.kubeconfig_path
        self._clients: list[Any] = []

    @property
    def url(self) -> str:
        return self.plane.url

    def container_pids(self, namespace: str, name: str) -> dict[str, int]:
        return self.plane.container_pids(namespace, name)

    def kubelet_pids(self) -> list[int]:
        return self.plane.kubelet_pids()

    def ensure_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """Create the namespace, or reuse it (namespaces outlive a test here; see `clean`)."""
        core = self.core_v1()
        body = {"metadata": {"name": name, "labels": labels or {}}}
        try:
            core.create_namespace(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            core.patch_namespace(name, {"metadata": {"labels": labels or {}}})

    def clean(self) -> None:
        """Remove what a test left: workloads, pods (at once), events and leases outside kube-*."""
        api = self.api_client()
        core = kubernetes.client.CoreV1Api(api)
        apps = kubernetes.client.AppsV1Api(api)
        batch = kubernetes.client.BatchV1Api(api)
        coordination = kubernetes.client.CoordinationV1Api(api)
        namespaces = [
            ns.metadata.name
            for ns in core.list_namespace().items
            if ns.metadata.name not in SYSTEM_NAMESPACES
        ]
        for namespace in namespaces:
            for delete in (
                apps.delete_collection_namespaced_deployment,
                apps.delete_collection_namespaced_replica_set,
                batch.delete_collection_namespaced_job,
            ):
                delete(namespace, propagation_policy="Background")
            core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
            core.delete_collection_namespaced_event(namespace)
            coordination.delete_collection_namespaced_lease(namespace)
        deadline = time.monotonic() + _CLEAN_TIMEOUT_SECONDS
        while any(core.list_namespaced_pod(ns).items for ns in namespaces) or self.kubelet_pids():
            if time.monotonic() > deadline:
                raise AssertionError("pods or their processes outlived the test's clean-up")
            time.sleep(0.1)

    def close(self) -> None:
        try:
            self.clean()
        finally:
            for client in self._clients:
                client.close()
            self._clients.clear()


@contextlib.contextmanager
def open_cluster(kind: str, request: pytest.FixtureRequest, **settings: Any) -> Iterator[Any]:
    """A cluster of `kind` for one test (or module); `settings` tune the builtin stand-in only."""
    if kind == "builtin":
        with LocalCluster(LocalClusterSettings.for_tests(**settings)) as lc:
            yield lc
        return
    view = RealCluster(request.getfixturevalue("control_plane"))
    try:
        yield view
    finally:
        view.close()


def raw_request(
    cluster: Any, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, dict[str, list[str]], bytes]:
    """One HTTP request as a client sends it (status, headers, body), to either control plane."""
    import ssl
    import urllib.error
    import urllib.request

    context: ssl.SSLContext | None = None
    if isinstance(cluster, RealCluster):
        context = ssl.create_default_context(cafile=str(cluster.plane.pki / "ca.crt"))
        context.load_cert_chain(str(cluster.plane.pki / "admin.crt"), str(cluster.plane.pki / "admin.key"))
    request = urllib.request.Request(
        cluster.url + path,
        data=body,
        method=method,
        headers={"Content-Type": content_type, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            headers: dict[str, list[str]] = {}
            for name, value in answer.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            return answer.status, headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): [v] for k, v in error.headers.items()}, error.read()
