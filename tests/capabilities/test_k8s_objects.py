"""`k8s.get`, `k8s.list`, `k8s.owners` through the real router and client, on both control planes:
objects as the server sent them, the read policy per kind (never Secrets, ConfigMap data by name,
declared and granted), owner chains, and CRDs through discovery (real control plane)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from host.capabilities.context import CallContext
from host.capabilities.policy import Grant, Policy
from host.capabilities.reads import REDACTED_ANNOTATION, read_grant
from host.capabilities.routes import build_router
from host.config import SandboxConfig
from host.kube.client import KubeClient
from host.model.events import Event
from host.rpc import ErrorCode, RpcError
from tests.clusters import CONTROL_PLANES, RealCluster, open_cluster

NS = "reads"


@pytest.fixture(params=CONTROL_PLANES)
def cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_cluster(request.param, request, kubelet=False) as lc:
        if isinstance(lc, RealCluster):
            lc.ensure_namespace(NS)
        else:
            lc.core_v1().create_namespace({"metadata": {"name": NS}})
        yield lc


@pytest.fixture
async def kube(cluster: Any) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_config(cluster.kubeconfig_path)
    yield client
    client.close()


def ctx(
    *,
    declared: list[str],
    granted: list[str],
    config_maps: tuple[str, ...] = (),
    namespaces: frozenset[str] = frozenset(),
) -> CallContext:
    async def on_finding(_: Any) -> None:
        return None

    caps = frozenset({"k8s.read"})
    grant = Grant(
        capabilities=caps, namespaces=namespaces, reads=read_grant(granted, config_maps, source="test grant")
    )
    policy = Policy(workflow="reader", declared=caps, granted=grant, declared_reads=frozenset(declared))
    return CallContext(
        invocation_id="inv-1",
        workflow="reader",
        event=Event(kind="manual"),
        params={},
        policy=policy,
        limits=SandboxConfig(),
        on_finding=on_finding,
    )


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "python:3.11", "resources": {"limits": {"memory": "64Mi"}}}
                    ]
                },
            },
        },
    }


APPS = ["apps/v1/Deployment", "apps/v1/ReplicaSet"]


async def test_get_and_list_return_whole_objects_of_a_readable_kind(cluster: Any, kube: KubeClient) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    for name in ("web", "api", "db"):
        apps.create_namespaced_deployment(NS, deployment(name))
    router = build_router(kube=kube)
    reader = ctx(declared=APPS, granted=["apps/v1/*"])
    got = await router.call(
        reader, "k8s.get", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "web"}
    )
    assert got["kind"] == "Deployment" and got["metadata"]["uid"]
    assert got["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "64Mi"
    assert "managedFields" not in got["metadata"]
    listed = await router.call(
        reader,
        "k8s.list",
        {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "labelSelector": "app in (web,api)"},
    )
    assert sorted(item["metadata"]["name"] for item in listed["items"]) == ["api", "web"]
    assert {(item["apiVersion"], item["kind"]) for item in listed["items"]} == {("apps/v1", "Deployment")}
    assert listed["truncated"] is False
    limited = await router.call(
        reader, "k8s.list", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "limit": 2}
    )
    assert len(limited["items"]) == 2 and limited["truncated"] is True
    with pytest.raises(RpcError) as missing:
        await router.call(
            reader,
            "k8s.get",
            {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "nope"},
        )
    assert missing.value.code == ErrorCode.NOT_FOUND


async def test_reads_are_refused_unless_declared_and_granted_and_secrets_never(
    cluster: Any, kube: KubeClient
) -> None:
    core = cluster.core_v1()
    core.create_namespaced_secret(NS, {"metadata": {"name": "creds"}, "stringData": {"password": "hunter2"}})
    router = build_router(kube=kube)
    everything = ctx(declared=[*APPS, "v1/Secret"], granted=["*"])
    with pytest.raises(RpcError) as secret:
        await router.call(
            everything, "k8s.get", {"apiVersion": "v1", "kind": "Secret", "namespace": NS, "name": "creds"}
        )
    assert secret.value.code == ErrorCode.CAPABILITY_DENIED
    assert secret.value.message == "k8s.get: Secrets are never readable by workflows"
    with pytest.raises(RpcError) as listing:
        await router.call(everything, "k8s.list", {"apiVersion": "v1", "kind": "Secret", "namespace": NS})
    assert "never readable" in listing.value.message
    undeclared = ctx(declared=[], granted=["*"])
    with pytest.raises(RpcError) as info:
        await router.call(
            undeclared, "k8s.list", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS}
        )
    assert info.value.data == {
        "capability": "k8s.read",
        "kind": "apps/v1/Deployment",
        "reason": "not_declared",
    }
    assert "add 'apps/v1/Deployment' to its manifest's reads" in info.value.message
    ungranted = ctx(declared=APPS, granted=["batch/v1/*"])
    with pytest.raises(RpcError) as info:
        await router.call(
            ungranted,
            "k8s.get",
            {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "web"},
        )
    assert info.value.data is not None and info.value.data["reason"] == "not_granted"
    assert "has not granted reader reads of apps/v1/Deployment (grant: test grant" in info.value.message
    # Pods and Events come with k8s.read itself.
    pods = await router.call(undeclared, "k8s.list", {"apiVersion": "v1", "kind": "Pod", "namespace": NS})
    assert pods == {"items": [], "truncated": False}


async def test_config_map_data_is_readable_only_when_granted_by_name(cluster: Any, kube: KubeClient) -> None:
    core = cluster.core_v1()
    for name in ("app-config", "other"):
        core.create_namespaced_config_map(NS, {"metadata": {"name": name}, "data": {"LOG_LEVEL": "debug"}})
    router = build_router(kube=kube)
    reader = ctx(declared=["v1/ConfigMap"], granted=["v1/ConfigMap"], config_maps=(f"{NS}/app-*",))
    shown = await router.call(
        reader, "k8s.get", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NS, "name": "app-config"}
    )
    assert shown["data"] == {"LOG_LEVEL": "debug"}
    hidden = await router.call(
        reader, "k8s.get", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NS, "name": "other"}
    )
    assert "data" not in hidden
    assert hidden["metadata"]["annotations"][REDACTED_ANNOTATION] == "data"
    listed = await router.call(reader, "k8s.list", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": NS})
    data = {item["metadata"]["name"]: item.get("data") for item in listed["items"]}
    assert data["app-config"] == {"LOG_LEVEL": "debug"} and data["other"] is None


async def test_owners_walk_controller_references_to_the_top(cluster: Any, kube: KubeClient) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    core = cluster.core_v1()
    if isinstance(cluster, RealCluster):
        # The real controllers make the chain (and would undo one made by hand).
        body = deployment("shop")
        body["spec"]["replicas"] = 1
        body["spec"]["template"]["spec"]["containers"][0]["command"] = ["sleep", "600"]
        apps.create_namespaced_deployment(NS, body)
        pods: list[Any] = []
        for _ in range(300):
            pods = core.list_namespaced_pod(NS, label_selector="app=shop").items
            if pods:
                break
            await asyncio.sleep(0.1)
        [pod] = pods
        rs_name = pod.metadata.owner_references[0].name
    else:
        top = apps.create_namespaced_deployment(NS, deployment("shop"))

        def owner(kind: str, obj: Any) -> dict[str, Any]:
            return {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": obj.metadata.name,
                "uid": obj.metadata.uid,
                "controller": True,
            }

        template = deployment("shop")["spec"]
        rs = apps.create_namespaced_replica_set(
            NS,
            {
                "metadata": {
                    "name": "shop-abc",
                    "labels": {"app": "shop"},
                    "ownerReferences": [owner("Deployment", top)],
                },
                "spec": {"replicas": 0, "selector": template["selector"], "template": template["template"]},
            },
        )
        pod = core.create_namespaced_pod(
            NS,
            {
                "metadata": {"name": "shop-abc-1", "ownerReferences": [owner("ReplicaSet", rs)]},
                "spec": {"containers": [{"name": "app", "image": "python:3.11"}]},
            },
        )
        rs_name = "shop-abc"
    core.create_namespaced_pod(
        NS,
        {"metadata": {"name": "orphan"}, "spec": {"containers": [{"name": "app", "image": "python:3.11"}]}},
    )
    router = build_router(kube=kube)
    reader = ctx(declared=APPS, granted=APPS)
    whole = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": NS, "name": pod.metadata.name}}
    chain = await router.call(reader, "k8s.owners", {"object": whole})
    assert [(o["kind"], o["metadata"]["name"]) for o in chain["items"]] == [
        ("ReplicaSet", rs_name),
        ("Deployment", "shop"),
    ]
    orphan = await router.call(
        reader,
        "k8s.owners",
        {"object": {"apiVersion": "v1", "kind": "Pod", "namespace": NS, "name": "orphan"}},
    )
    assert orphan == {"items": []}
    # A hop to a kind the workflow may not read is refused, naming the kind.
    partial = ctx(declared=["apps/v1/ReplicaSet"], granted=APPS)
    with pytest.raises(RpcError) as info:
        await router.call(partial, "k8s.owners", {"object": whole})
    assert info.value.code == ErrorCode.CAPABILITY_DENIED and "apps/v1/Deployment" in info.value.message


@pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)
async def test_a_custom_resource_is_read_through_discovery(cluster: Any, kube: KubeClient) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(cluster.api_client())
    crd = {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
    custom = kubernetes.client.CustomObjectsApi(cluster.api_client())
    for _ in range(100):  # the CRD takes a moment to be served
        try:
            custom.create_namespaced_custom_object(
                "example.com",
                "v1",
                NS,
                "widgets",
                {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "size": 3},
            )
            break
        except ApiException as exc:
            if exc.status != 404:
                raise
            await asyncio.sleep(0.1)
    try:
        router = build_router(kube=kube)
        reader = ctx(declared=["example.com/v1/Widget"], granted=["example.com/*"])
        got = await router.call(
            reader,
            "k8s.get",
            {"apiVersion": "example.com/v1", "kind": "Widget", "namespace": NS, "name": "w1"},
        )
        assert got["size"] == 3 and got["kind"] == "Widget"
        with pytest.raises(RpcError) as info:
            await router.call(
                ctx(declared=["example.com/v1/Gadget"], granted=["*"]),
                "k8s.get",
                {"apiVersion": "example.com/v1", "kind": "Gadget", "namespace": NS, "name": "g"},
            )
        assert info.value.code == ErrorCode.NOT_FOUND and "serves no kind Gadget" in info.value.message
    finally:
        ext.delete_custom_resource_definition("widgets.example.com")
