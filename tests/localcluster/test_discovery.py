"""Discovery, health and the kubeconfig: what clients read before they touch a resource."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import kubernetes
import pytest
import yaml

from host.localcluster import LocalCluster


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_version_reports_a_kubernetes_server_version(cluster: LocalCluster) -> None:
    info = kubernetes.client.VersionApi(cluster.api_client()).get_code()
    assert info.major == "1"
    assert info.git_version.startswith("v1.")


def test_core_v1_lists_pods_with_their_subresources(cluster: LocalCluster) -> None:
    listing = kubernetes.client.CoreV1Api(cluster.api_client()).get_api_resources()
    names = {r.name: r for r in listing.resources}
    assert {
        "pods",
        "pods/log",
        "pods/exec",
        "pods/status",
        "pods/ephemeralcontainers",
        "events",
        "namespaces",
    } <= set(names)
    assert names["pods"].namespaced is True
    assert names["namespaces"].namespaced is False
    assert "watch" in names["pods"].verbs


def test_coordination_group_is_discoverable(cluster: LocalCluster) -> None:
    groups = kubernetes.client.ApisApi(cluster.api_client()).get_api_versions()
    assert "coordination.k8s.io" in [g.name for g in groups.groups]
    leases = kubernetes.client.CoordinationV1Api(cluster.api_client()).get_api_resources()
    assert [r.name for r in leases.resources] == ["leases"]
    code, api = get_json(f"{cluster.url}/api")
    assert code == 200
    assert api["versions"] == ["v1"]


def test_health_endpoints_answer_ok(cluster: LocalCluster) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        with urllib.request.urlopen(cluster.url + path, timeout=10) as response:
            assert response.read() == b"ok"


def test_unknown_paths_answer_a_not_found_status(cluster: LocalCluster) -> None:
    for path in ("/api/v1/widgets", "/apis/example.com/v1", "/nothing-here"):
        code, body = get_json(cluster.url + path)
        assert code == 404
        assert body["kind"] == "Status"
        assert body["reason"] == "NotFound"


def test_kubeconfig_points_the_official_loader_at_the_cluster(cluster: LocalCluster) -> None:
    config = yaml.safe_load(cluster.kubeconfig_path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == cluster.url
    kubernetes.config.load_kube_config(config_file=str(cluster.kubeconfig_path))
    assert kubernetes.client.Configuration.get_default_copy().host == cluster.url


async def test_runs_as_an_async_context_manager() -> None:
    async with LocalCluster(kubelet=False) as lc:
        code, body = get_json(f"{lc.url}/api/v1/namespaces")
        assert code == 200
        assert "default" in [item["metadata"]["name"] for item in body["items"]]


def test_hooks_refuse_to_run_on_a_stopped_cluster() -> None:
    lc = LocalCluster(kubelet=False)
    with pytest.raises(RuntimeError):
        lc.compact()


def test_a_restarted_cluster_serves_the_same_objects_on_the_same_port() -> None:
    with LocalCluster(kubelet=False) as lc:
        api = lc.core_v1()
        api.create_namespace({"metadata": {"name": "survives"}})
        url = lc.url
        version = lc.resource_version()
        lc.stop()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{url}/healthz", timeout=5)
        lc.start()
        assert lc.url == url
        assert api.read_namespace("survives").metadata.name == "survives"
        assert lc.resource_version() == version
