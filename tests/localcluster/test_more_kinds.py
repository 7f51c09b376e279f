"""The kinds the stand-in stores without controllers: workloads, config, networking, policy, autoscaling.

Driven through the official `kubernetes` client over HTTP (typed APIs, the dynamic client that
finds kinds through discovery, and kubectl). What each kind's real strategy does is the
reference: defaults, status reset on create, status kept out of main-resource writes and spec
out of status writes, `metadata.generation`, immutable fields, validation, Secret `stringData`
and base64. Nothing acts on these objects: no controller runs in the stand-in.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import Any

import kubernetes
import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from host.localcluster import LocalCluster, resources
from host.localcluster.testing import WatchRecorder
from host.model import resources as kube
from tests.clusters import raw_request


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


def causes(error: ApiException) -> list[str]:
    return [cause.get("field") for cause in status_of(error).get("details", {}).get("causes", [])]


def template(labels: dict[str, str], restart_policy: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "python:3.12"}]}
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return {"metadata": {"labels": labels}, "spec": spec}


def workload_spec(**extra: Any) -> dict[str, Any]:
    return {"selector": {"matchLabels": {"app": "web"}}, "template": template({"app": "web"}), **extra}


# One minimal valid object of each kind, and a merge patch that changes its spec.
MANIFESTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "apps/v1/Deployment": ({"spec": workload_spec()}, {"spec": {"replicas": 3}}),
    "apps/v1/ReplicaSet": ({"spec": workload_spec()}, {"spec": {"replicas": 3}}),
    "apps/v1/StatefulSet": ({"spec": workload_spec(serviceName="web")}, {"spec": {"replicas": 3}}),
    "apps/v1/DaemonSet": ({"spec": workload_spec()}, {"spec": {"minReadySeconds": 5}}),
    "batch/v1/Job": (
        {"spec": {"template": template({}, "Never")}},
        {"spec": {"parallelism": 2}},
    ),
    "batch/v1/CronJob": (
        {
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": template({}, "OnFailure")}},
            }
        },
        {"spec": {"suspend": True}},
    ),
    "v1/ConfigMap": ({"data": {"a": "1"}}, {"data": {"a": "2"}}),
    "v1/Secret": ({"data": {"a": "MQ=="}}, {"data": {"a": "Mg=="}}),
    "v1/Service": ({"spec": {"ports": [{"port": 80}]}}, {"spec": {"sessionAffinity": "ClientIP"}}),
    "v1/PersistentVolumeClaim": (
        {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        None,  # a claim's spec is immutable until it is bound
    ),
    "v1/ServiceAccount": ({"automountServiceAccountToken": False}, {"automountServiceAccountToken": True}),
    "networking.k8s.io/v1/Ingress": (
        {"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
        {"spec": {"ingressClassName": "nginx"}},
    ),
    "networking.k8s.io/v1/NetworkPolicy": (
        {"spec": {"podSelector": {}}},
        {"spec": {"policyTypes": ["Egress"]}},
    ),
    "policy/v1/PodDisruptionBudget": (
        {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
        {"spec": {"minAvailable": 2}},
    ),
    "autoscaling/v2/HorizontalPodAutoscaler": (
        {
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 3,
            }
        },
        {"spec": {"maxReplicas": 5}},
    ),
}
NEW_KINDS = list(MANIFESTS)
# From kube-apiserver 1.37's discovery: short names, the `status` subresource, the `all` category.
EXPECTED_DISCOVERY = {
    "apps/v1/Deployment": (["deploy"], True, True),
    "apps/v1/ReplicaSet": (["rs"], True, True),
    "apps/v1/StatefulSet": (["sts"], True, True),
    "apps/v1/DaemonSet": (["ds"], True, True),
    "batch/v1/Job": ([], True, True),
    "batch/v1/CronJob": (["cj"], True, True),
    "v1/ConfigMap": (["cm"], False, False),
    "v1/Secret": ([], False, False),
    "v1/Service": (["svc"], True, True),
    "v1/PersistentVolumeClaim": (["pvc"], True, False),
    "v1/ServiceAccount": (["sa"], False, False),
    "networking.k8s.io/v1/Ingress": (["ing"], True, False),
    "networking.k8s.io/v1/NetworkPolicy": (["netpol"], False, False),
    "policy/v1/PodDisruptionBudget": (["pdb"], True, False),
    "autoscaling/v2/HorizontalPodAutoscaler": (["hpa"], True, True),
}
# Kinds whose real strategy sets metadata.generation (1 on create, +1 on a spec change).
TRACKS_GENERATION = {
    "apps/v1/Deployment",
    "apps/v1/ReplicaSet",
    "apps/v1/StatefulSet",
    "apps/v1/DaemonSet",
    "batch/v1/Job",
    "batch/v1/CronJob",
    "networking.k8s.io/v1/Ingress",
    "networking.k8s.io/v1/NetworkPolicy",
    "policy/v1/PodDisruptionBudget",
    "autoscaling/v2/HorizontalPodAutoscaler",
}
STATUS_KINDS = [key for key, (_, has_status, _) in EXPECTED_DISCOVERY.items() if has_status]
_LOAD_BALANCER = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
# A status each kind's typed status holds (the decoder drops fields a kind's status lacks).
STATUS_WRITES: dict[str, dict[str, Any]] = {
    "apps/v1/Deployment": {"observedGeneration": 7},
    "apps/v1/ReplicaSet": {"observedGeneration": 7},
    "apps/v1/StatefulSet": {"observedGeneration": 7},
    "apps/v1/DaemonSet": {"observedGeneration": 7},
    "batch/v1/Job": {"active": 1},
    "batch/v1/CronJob": {"lastScheduleTime": "2026-01-01T00:00:00Z"},
    "v1/Service": _LOAD_BALANCER,
    "v1/PersistentVolumeClaim": {"phase": "Bound"},
    "networking.k8s.io/v1/Ingress": _LOAD_BALANCER,
    "policy/v1/PodDisruptionBudget": {"observedGeneration": 7},
    "autoscaling/v2/HorizontalPodAutoscaler": {"currentReplicas": 2},
}
MERGE = "application/merge-patch+json"
_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def manifest(key: str, name: str) -> dict[str, Any]:
    resource = kube.WELL_KNOWN[key]
    body = json.loads(json.dumps(MANIFESTS[key][0]))
    return {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": name}, **body}


class Raw:
    """JSON over HTTP to the stand-in, for checks across every kind."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster

    def __call__(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        code, _, raw = raw_request(self.cluster, method, path, data, content_type)
        return code, json.loads(raw)


def watch_events(
    cluster: LocalCluster, path: str, resource_version: str, count: int
) -> list[tuple[str, str]]:
    """The first `count` events (type, name) of a watch on `path` from `resource_version`."""
    url = f"{cluster.url}{path}?watch=1&resourceVersion={resource_version}&timeoutSeconds=10"
    events: list[tuple[str, str]] = []
    with urllib.request.urlopen(url, timeout=30) as stream:
        while len(events) < count:
            line = stream.readline()
            assert line, f"the watch ended after {events}"
            event = json.loads(line)
            events.append((event["type"], event["object"]["metadata"]["name"]))
    return events


@pytest.fixture
def raw(cluster: LocalCluster) -> Raw:
    return Raw(cluster)


@pytest.fixture
def dynamic(cluster: LocalCluster) -> DynamicClient:
    return DynamicClient(cluster.api_client())


# -- the shared model ------------------------------------------------------------------------


def test_every_served_kind_is_the_clients_own_resource_model() -> None:
    for rt in resources.ALL:
        assert kube.WELL_KNOWN[rt.key] == rt.resource
        assert resources.served(rt.resource) is rt
        assert rt.path("default", "x") == rt.resource.path("default", "x")
    assert set(NEW_KINDS) <= set(resources.BY_KEY)
    assert (
        resources.DEPLOYMENTS.path("ns", "web", "status")
        == "/apis/apps/v1/namespaces/ns/deployments/web/status"
    )
    assert resources.served(kube.WELL_KNOWN["v1/Endpoints"]) is None


# -- discovery -------------------------------------------------------------------------------


def test_discovery_lists_every_new_kind_as_kube_apiserver_does(cluster: LocalCluster) -> None:
    client = cluster.api_client()
    groups = {g.name: g for g in kubernetes.client.ApisApi(client).get_api_versions().groups}
    for name, version in [
        ("apps", "v1"),
        ("batch", "v1"),
        ("networking.k8s.io", "v1"),
        ("policy", "v1"),
        ("autoscaling", "v2"),
    ]:
        assert groups[name].preferred_version.group_version == f"{name}/{version}"
    listings = {
        "v1": kubernetes.client.CoreV1Api(client).get_api_resources(),
        "apps/v1": kubernetes.client.AppsV1Api(client).get_api_resources(),
        "batch/v1": kubernetes.client.BatchV1Api(client).get_api_resources(),
        "networking.k8s.io/v1": kubernetes.client.NetworkingV1Api(client).get_api_resources(),
        "policy/v1": kubernetes.client.PolicyV1Api(client).get_api_resources(),
        "autoscaling/v2": kubernetes.client.AutoscalingV2Api(client).get_api_resources(),
    }
    for key, (short_names, has_status, in_all) in EXPECTED_DISCOVERY.items():
        resource = kube.WELL_KNOWN[key]
        listing = {r.name: r for r in listings[resource.api_version].resources}
        entry = listing[resource.plural]
        assert (entry.kind, entry.namespaced) == (resource.kind, True), key
        assert (entry.short_names or []) == short_names, key
        assert ("all" in (entry.categories or [])) == in_all, key
        assert set(entry.verbs) == {
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        }
        assert entry.singular_name == resource.kind.lower()
        assert (f"{resource.plural}/status" in listing) == has_status, key


def test_kubectl_finds_the_kinds_by_short_name_and_in_get_all(
    cluster: LocalCluster, dynamic: DynamicClient
) -> None:
    kubectl = ["kubectl", "--kubeconfig", str(cluster.kubeconfig_path)]
    listed = subprocess.run(
        [*kubectl, "api-resources"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[1:]}
    for key, (short_names, _, _) in EXPECTED_DISCOVERY.items():
        row = rows[kube.WELL_KNOWN[key].plural]
        assert all(short in row for short in short_names), row
    for key in ("apps/v1/Deployment", "batch/v1/Job", "v1/Service", "v1/ConfigMap"):
        resource = kube.WELL_KNOWN[key]
        dynamic.resources.get(api_version=resource.api_version, kind=resource.kind).create(
            body=manifest(key, "web"), namespace="default"
        )
    shown = subprocess.run(
        [*kubectl, "get", "deploy,job,svc,cm", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert shown == ["deployment.apps/web", "job.batch/web", "service/web", "configmap/web"]
    everything = subprocess.run(
        [*kubectl, "get", "all", "-o", "name"], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert {"deployment.apps/web", "job.batch/web", "service/web"} <= set(everything)
    assert "configmap/web" not in everything


# -- every kind ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", NEW_KINDS)
def test_every_kind_round_trips_through_the_dynamic_client(
    cluster: LocalCluster, dynamic: DynamicClient, key: str
) -> None:
    resource = kube.WELL_KNOWN[key]
    api = dynamic.resources.get(api_version=resource.api_version, kind=resource.kind)
    before = api.get(namespace="default").metadata.resourceVersion
    created = api.create(body=manifest(key, "one"), namespace="default")
    assert created.metadata.uid and created.kind == resource.kind
    assert api.get(name="one", namespace="default").metadata.uid == created.metadata.uid
    listed = api.get(namespace="default", field_selector="metadata.name=one")
    assert [item.metadata.name for item in listed.items] == ["one"]
    assert listed.kind == f"{resource.kind}List"
    assert api.get(namespace="default", field_selector="metadata.name=other").items == []
    assert [item.metadata.name for item in api.get(field_selector="metadata.namespace=default").items] == [
        "one"
    ]
    api.patch(name="one", namespace="default", body={"metadata": {"labels": {"seen": "yes"}}})
    api.delete(name="one", namespace="default")
    with pytest.raises(kubernetes.dynamic.exceptions.NotFoundError):
        api.get(name="one", namespace="default")
    assert watch_events(cluster, resource.path("default"), before, 3) == [
        ("ADDED", "one"),
        ("MODIFIED", "one"),
        ("DELETED", "one"),
    ]


@pytest.mark.parametrize("key", STATUS_KINDS)
def test_status_is_written_only_through_the_status_subresource(raw: Raw, key: str) -> None:
    resource = kube.WELL_KNOWN[key]
    assert resources.BY_KEY[key].has_subresource("status")
    body = manifest(key, "st")
    wanted = STATUS_WRITES[key]
    body["status"] = wanted
    code, created = raw("POST", resource.path("default"), body)
    assert code == 201, created
    initial = created["status"]
    assert not wanted.items() <= initial.items()  # the client's status is dropped on create
    code, main = raw("PATCH", resource.path("default", "st"), {"status": wanted}, MERGE)
    assert code == 200 and main["status"] == initial
    spec_before = main.get("spec")
    assert spec_before is not None
    code, written = raw(
        "PATCH",
        resource.path("default", "st", "status"),
        {"spec": None, "metadata": {"annotations": {"via": "status"}}, "status": wanted},
        MERGE,
    )
    assert code == 200, written
    assert written["spec"] == spec_before  # a status write changes no spec
    assert wanted.items() <= written["status"].items()
    assert written["metadata"]["annotations"]["via"] == "status"  # as on the real server
    code, read = raw("GET", resource.path("default", "st", "status"))
    assert code == 200 and read["status"] == written["status"]
    code, replaced = raw("PUT", resource.path("default", "st"), {**read, "status": initial})
    assert code == 200 and replaced["status"] == written["status"]  # nor does a main-resource PUT


@pytest.mark.parametrize("key", [k for k in NEW_KINDS if k not in STATUS_KINDS])
def test_kinds_without_status_have_no_status_subresource(raw: Raw, key: str) -> None:
    resource = kube.WELL_KNOWN[key]
    assert raw("POST", resource.path("default"), manifest(key, "plain"))[0] == 201
    code, answer = raw("PATCH", resource.path("default", "plain", "status"), {"metadata": {}}, MERGE)
    assert code == 404 and answer["reason"] == "NotFound"


@pytest.mark.parametrize("key", NEW_KINDS)
def test_generation_counts_spec_changes_only(raw: Raw, key: str) -> None:
    resource = kube.WELL_KNOWN[key]
    code, created = raw("POST", resource.path("default"), manifest(key, "gen"))
    assert code == 201, created
    tracked = key in TRACKS_GENERATION
    assert created["metadata"].get("generation") == (1 if tracked else None)
    _, labelled = raw("PATCH", resource.path("default", "gen"), {"metadata": {"labels": {"a": "b"}}}, MERGE)
    assert labelled["metadata"].get("generation") == (1 if tracked else None)
    assert labelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    if key in STATUS_KINDS:
        path = resource.path("default", "gen", "status")
        _, status_written = raw("PATCH", path, {"metadata": {"annotations": {"s": "1"}}}, MERGE)
        assert status_written["metadata"].get("generation") == (1 if tracked else None)
    change = MANIFESTS[key][1]
    if change is None:
        return
    code, changed = raw("PATCH", resource.path("default", "gen"), change, MERGE)
    assert code == 200, changed
    assert changed["metadata"].get("generation") == (2 if tracked else None)
    _, again = raw("PATCH", resource.path("default", "gen"), change, MERGE)  # a no-op: nothing new
    assert again["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"]


@pytest.mark.parametrize("key", NEW_KINDS)
def test_labels_are_validated_as_for_pods(raw: Raw, key: str) -> None:
    body = manifest(key, "badlabel")
    body["metadata"]["labels"] = {"app": "a b"}
    code, answer = raw("POST", kube.WELL_KNOWN[key].path("default"), body)
    assert code == 422
    assert answer["details"]["causes"][0]["field"] == "metadata.labels"
    assert "a valid label must be an empty string" in answer["message"]


@pytest.mark.parametrize("key", ["apps/v1/Deployment", "batch/v1/Job", "v1/Secret", "v1/Service"])
def test_dry_run_writes_are_answered_and_not_stored(raw: Raw, key: str) -> None:
    resource = kube.WELL_KNOWN[key]
    code, answer = raw("POST", resource.path("default") + "?dryRun=All", manifest(key, "dry"))
    assert code == 201 and answer["metadata"]["uid"]
    assert raw("GET", resource.path("default", "dry"))[0] == 404
    assert raw("POST", resource.path("default"), manifest(key, "dry"))[0] == 201
    path = resource.path("default", "dry")
    assert raw("PATCH", path + "?dryRun=All", {"metadata": {"labels": {"x": "y"}}}, MERGE)[0] == 200
    assert "x" not in (raw("GET", path)[1]["metadata"].get("labels") or {})
    assert raw("DELETE", path + "?dryRun=All")[0] == 200
    assert raw("GET", path)[0] == 200


def test_deleting_a_namespace_removes_the_objects_in_it(
    cluster: LocalCluster, dynamic: DynamicClient
) -> None:
    cluster.core_v1().create_namespace({"metadata": {"name": "shop"}})
    for key in NEW_KINDS:
        resource = kube.WELL_KNOWN[key]
        dynamic.resources.get(api_version=resource.api_version, kind=resource.kind).create(
            body=manifest(key, "x"), namespace="shop"
        )
    cluster.core_v1().delete_namespace("shop")
    for key in NEW_KINDS:
        resource = kube.WELL_KNOWN[key]
        api = dynamic.resources.get(api_version=resource.api_version, kind=resource.kind)
        assert api.get(namespace="shop").items == [], key


# -- Deployments -----------------------------------------------------------------------------


def deployment(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"tier": "front"}}, "spec": workload_spec(**spec)}


def test_a_deployment_is_created_defaulted_listed_watched_patched_and_deleted(cluster: LocalCluster) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_deployment("default", deployment("web"))
    assert created.metadata.generation == 1
    assert created.spec.replicas == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert (created.spec.revision_history_limit, created.spec.progress_deadline_seconds) == (10, 600)
    pod_spec = created.spec.template.spec
    assert (pod_spec.restart_policy, pod_spec.dns_policy, pod_spec.termination_grace_period_seconds) == (
        "Always",
        "ClusterFirst",
        30,
    )
    assert pod_spec.containers[0].termination_message_path == "/dev/termination-log"
    assert created.status.replicas is None  # no controller: nobody fills the status in

    apps.create_namespaced_deployment("default", deployment("api", replicas=2))
    assert [
        d.metadata.name for d in apps.list_namespaced_deployment("default", label_selector="tier=front").items
    ] == [
        "api",
        "web",
    ]
    assert [
        d.metadata.name
        for d in apps.list_deployment_for_all_namespaces(field_selector="metadata.name=api").items
    ] == ["api"]

    # A dict body is a strategic merge patch: containers merge by name.
    patched = apps.patch_namespaced_deployment(
        "web",
        "default",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "side", "image": "busybox"},
                            {"name": "app", "env": [{"name": "A", "value": "1"}]},
                        ]
                    }
                }
            }
        },
    )
    containers = {c.name: c for c in patched.spec.template.spec.containers}
    assert set(containers) == {"app", "side"}
    assert containers["app"].image == "python:3.12" and containers["app"].env[0].name == "A"
    assert patched.metadata.generation == 2

    scaled = apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 1, "readyReplicas": 1}}
    )
    assert (scaled.status.ready_replicas, scaled.metadata.generation) == (1, 2)
    assert apps.read_namespaced_deployment_status("web", "default").status.ready_replicas == 1

    answer = apps.delete_namespaced_deployment("web", "default")
    assert answer["status"] == "Success"  # a Status (as a dict: the client's quirk), not the object
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("web", "default")
    assert caught.value.status == 404
    assert status_of(caught.value)["message"] == 'deployments.apps "web" not found'


def test_deployment_watch_sees_each_write_in_order(cluster: LocalCluster) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_deployment("default", deployment("web"))
    recorder = WatchRecorder(
        apps.list_namespaced_deployment, "default", resource_version=created.metadata.resource_version
    )
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 2}})
    apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 2}})
    apps.delete_namespaced_deployment("web", "default")
    events = recorder.take(3)
    recorder.stop()
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED", "DELETED"]
    assert events[0]["object"].spec.replicas == 2 and events[0]["object"].metadata.generation == 2
    assert events[1]["object"].status.replicas == 2 and events[1]["object"].metadata.generation == 2


def test_deployment_rules_selector_template_and_immutability(cluster: LocalCluster, raw: Raw) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    # The client itself refuses a Deployment without a selector; the server does too.
    code, answer = raw(
        "POST",
        resources.DEPLOYMENTS.path("default"),
        {"metadata": {"name": "bare"}, "spec": {"template": template({"app": "web"})}},
    )
    assert code == 422
    assert [c["field"] for c in answer["details"]["causes"]] == [
        "spec.selector",
        "spec.template.metadata.labels",
    ]
    mismatched = deployment("odd")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("default", mismatched)
    assert "`selector` does not match template `labels`" in status_of(caught.value)["message"]
    bad_port = deployment("port")
    bad_port["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 70000}]
    bad_port["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    with pytest.raises(ApiException) as caught:
        apps.create_namespaced_deployment("default", bad_port)
    assert causes(caught.value) == [
        "spec.template.spec.containers[0].ports[0].containerPort",
        "spec.template.spec.restartPolicy",
    ]
    apps.create_namespaced_deployment("default", deployment("web"))
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "web",
            "default",
            {
                "spec": {
                    "selector": {"matchLabels": {"app": "web", "v": "2"}},
                    "template": {"metadata": {"labels": {"v": "2"}}},
                }
            },
        )
    assert causes(caught.value) == ["spec.selector"]
    assert "field is immutable" in status_of(caught.value)["message"]


def test_a_status_write_keeps_a_deployments_labels_but_not_other_kinds(raw: Raw) -> None:
    for key, labels_change in [("apps/v1/Deployment", False), ("apps/v1/ReplicaSet", True)]:
        resource = kube.WELL_KNOWN[key]
        raw("POST", resource.path("default"), manifest(key, "lbl"))
        _, written = raw(
            "PATCH",
            resource.path("default", "lbl", "status"),
            {"metadata": {"labels": {"via": "status"}}},
            MERGE,
        )
        assert ("via" in (written["metadata"].get("labels") or {})) == labels_change, key


# -- Jobs and CronJobs -----------------------------------------------------------------------


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"template": template({"app": "batch"}, "Never"), **spec}}


def test_a_job_gets_a_generated_selector_and_the_job_defaults(cluster: LocalCluster) -> None:
    batch = kubernetes.client.BatchV1Api(cluster.api_client())
    created = batch.create_namespaced_job("default", job("report"))
    recorder = WatchRecorder(
        batch.list_namespaced_job, "default", resource_version=created.metadata.resource_version
    )
    uid = created.metadata.uid
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.spec.template.metadata.labels == {
        "app": "batch",
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "report",
        "controller-uid": uid,
        "job-name": "report",
    }
    assert created.metadata.labels == created.spec.template.metadata.labels
    spec = created.spec
    assert (spec.parallelism, spec.completions, spec.backoff_limit) == (1, 1, 6)
    assert (spec.completion_mode, spec.suspend, spec.manual_selector) == ("NonIndexed", False, False)
    assert spec.pod_replacement_policy == "TerminatingOrFailed"
    assert created.metadata.generation == 1

    assert [
        j.metadata.name
        for j in batch.list_namespaced_job("default", field_selector="status.successful=0").items
    ] == ["report"]
    batch.patch_namespaced_job_status("report", "default", {"status": {"succeeded": 1, "active": 0}})
    assert [
        j.metadata.name
        for j in batch.list_namespaced_job("default", field_selector="status.successful=1").items
    ] == ["report"]
    suspended = batch.patch_namespaced_job("report", "default", {"spec": {"suspend": True}})
    assert (suspended.spec.suspend, suspended.metadata.generation, suspended.status.succeeded) == (True, 2, 1)
    with pytest.raises(ApiException) as caught:
        batch.patch_namespaced_job("report", "default", {"spec": {"completions": 3}})
    assert causes(caught.value) == ["spec.completions"]
    batch.delete_namespaced_job("report", "default")
    events = recorder.take(3)
    recorder.stop()
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED", "DELETED"]
    assert events[0]["object"].status.succeeded == 1 and events[1]["object"].spec.suspend is True


def test_job_validation_and_the_immutable_pod_template(cluster: LocalCluster, raw: Raw) -> None:
    batch = kubernetes.client.BatchV1Api(cluster.api_client())
    always = job("always")
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(ApiException) as caught:
        batch.create_namespaced_job("default", always)
    assert causes(caught.value) == ["spec.template.spec.restartPolicy"]
    assert 'Required value: valid values: "OnFailure", "Never"' in status_of(caught.value)["message"]
    code, answer = raw(
        "POST",
        resources.JOBS.path("default"),
        {"metadata": {"name": "x"}, "spec": {"template": {"spec": {}}}},
    )
    assert code == 422
    assert {c["field"] for c in answer["details"]["causes"]} == {
        "spec.template.spec.containers",
        "spec.template.spec.restartPolicy",
    }
    batch.create_namespaced_job("default", job("fixed"))
    with pytest.raises(ApiException) as caught:
        batch.patch_namespaced_job(
            "fixed", "default", {"spec": {"template": {"spec": {"activeDeadlineSeconds": 5}}}}
        )
    assert causes(caught.value) == ["spec.template.spec"]
    # A suspended Job that never started may still move its pods elsewhere.
    batch.create_namespaced_job("default", job("held", suspend=True))
    moved = batch.patch_namespaced_job(
        "held", "default", {"spec": {"template": {"spec": {"nodeSelector": {"zone": "b"}}}}}
    )
    assert moved.spec.template.spec.node_selector == {"zone": "b"}


def test_a_cronjob_is_defaulted_and_validated(cluster: LocalCluster, raw: Raw) -> None:
    batch = kubernetes.client.BatchV1Api(cluster.api_client())
    created = batch.create_namespaced_cron_job(
        "default",
        {
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": template({}, "OnFailure")}},
            },
        },
    )
    spec = created.spec
    assert (
        spec.concurrency_policy,
        spec.suspend,
        spec.successful_jobs_history_limit,
        spec.failed_jobs_history_limit,
    ) == (
        "Allow",
        False,
        3,
        1,
    )
    assert spec.job_template.spec.template.spec.dns_policy == "ClusterFirst"
    assert spec.job_template.spec.parallelism is None  # a job template's own spec is not defaulted
    code, answer = raw("POST", resources.CRONJOBS.path("default"), {"metadata": {"name": "bad"}, "spec": {}})
    assert code == 422
    assert {c["field"] for c in answer["details"]["causes"]} == {
        "spec.jobTemplate.spec.template.spec.containers",
        "spec.jobTemplate.spec.template.spec.restartPolicy",
        "spec.schedule",
    }


def test_unsupported_field_selectors_answer_as_the_real_server_words_them(raw: Raw) -> None:
    for path, message in [
        (
            "/apis/apps/v1/namespaces/default/deployments",
            '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        ("/apis/batch/v1/namespaces/default/jobs", 'field label "spec.replicas" not supported for Job'),
        ("/api/v1/namespaces/default/secrets", "field label not supported: spec.replicas"),
        (
            "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
    ]:
        code, answer = raw("GET", f"{path}?fieldSelector=spec.replicas%3D1")
        assert (code, answer["message"]) == (400, message), path


# -- Secrets and ConfigMaps ------------------------------------------------------------------


def test_secret_string_data_is_written_into_data_and_not_stored(cluster: LocalCluster) -> None:
    core = cluster.core_v1()
    created = core.create_namespaced_secret(
        "default",
        {
            "metadata": {"name": "creds"},
            "data": {"user": "YWRh", "pass": "b2xk"},
            "stringData": {"pass": "new", "note": "hé"},
        },
    )
    assert created.data == {"user": "YWRh", "pass": "bmV3", "note": "aMOp"}
    assert created.string_data is None and created.type == "Opaque"
    assert created.metadata.generation is None
    patched = core.patch_namespaced_secret("creds", "default", {"stringData": {"extra": "1"}})
    assert patched.data["extra"] == "MQ==" and patched.string_data is None
    replaced = core.replace_namespaced_secret(
        "creds", "default", {"metadata": {"name": "creds"}, "stringData": {"only": "x"}}
    )
    assert replaced.data == {"only": "eA=="}
    assert [
        s.metadata.name for s in core.list_namespaced_secret("default", field_selector="type=Opaque").items
    ] == ["creds"]
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_secret("creds", "default", {"type": "kubernetes.io/tls"})
    assert causes(caught.value) == ["type"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": "not base64!"}, "illegal base64 data at input byte 3"),
        ({"a": "YWJj="}, "illegal base64 data at input byte 4"),
        ({"a": "YW"}, "illegal base64 data at input byte 0"),
        ({"a": 5}, "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
    ],
)
def test_secret_data_must_be_base64(raw: Raw, data: dict[str, Any], message: str) -> None:
    code, answer = raw(
        "POST", "/api/v1/namespaces/default/secrets", {"metadata": {"name": "b64"}, "data": data}
    )
    assert code == 400
    assert answer["message"] == f'Secret in version "v1" cannot be handled as a Secret: {message}'
    assert raw("GET", "/api/v1/namespaces/default/secrets/b64")[0] == 404


def test_a_patch_is_decoded_like_a_create(raw: Raw) -> None:
    path = "/api/v1/namespaces/default/secrets"
    assert raw("POST", path, {"metadata": {"name": "p"}, "data": {"a": "YQ=="}})[0] == 201
    code, answer = raw("PATCH", f"{path}/p", {"data": {"a": "!!"}}, MERGE)
    assert code == 400 and answer["message"].endswith("illegal base64 data at input byte 0")
    code, _ = raw("PATCH", f"{path}/p?fieldValidation=Strict", {"colour": "blue"}, MERGE)
    assert code == 400
    code, stored = raw("PATCH", f"{path}/p", {"colour": "blue"}, MERGE)
    assert code == 200 and "colour" not in stored


def test_config_keys_and_immutable_config_maps(cluster: LocalCluster) -> None:
    core = cluster.core_v1()
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("default", {"metadata": {"name": "bad"}, "data": {"a b": "x"}})
    assert causes(caught.value) == ["data[a b]"]
    assert "a valid config key must consist of alphanumeric characters" in status_of(caught.value)["message"]
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True}
    )
    for change, field in [({"data": {"a": "2"}}, "data"), ({"immutable": False}, "immutable")]:
        with pytest.raises(ApiException) as caught:
            core.patch_namespaced_config_map("frozen", "default", change)
        assert causes(caught.value) == [field]
    relabelled = core.patch_namespaced_config_map(
        "frozen", "default", {"metadata": {"labels": {"ok": "yes"}}}
    )
    assert relabelled.metadata.labels == {"ok": "yes"}


# -- Services and claims ---------------------------------------------------------------------


def test_a_service_gets_a_cluster_ip_that_stays(cluster: LocalCluster) -> None:
    core = cluster.core_v1()
    created = core.create_namespaced_service(
        "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    )
    spec = created.spec
    assert spec.type == "ClusterIP" and spec.session_affinity == "None"
    assert spec.cluster_ip.startswith("10.96.") and spec.cluster_ips == [spec.cluster_ip]
    assert (spec.ports[0].protocol, spec.ports[0].target_port) == ("TCP", 80)
    assert created.status.load_balancer is not None
    replaced = core.replace_namespaced_service(
        "web", "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 81}]}}
    )
    assert replaced.spec.cluster_ip == spec.cluster_ip and replaced.spec.ports[0].target_port == 81
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_service(
            "web", "default", {"spec": {"clusterIP": "10.96.9.9", "clusterIPs": ["10.96.9.9"]}}
        )
    assert causes(caught.value) == ["spec.clusterIPs[0]"]
    deleted = core.delete_namespaced_service("web", "default")
    assert deleted.metadata.name == "web"  # services answer a delete with the object, not a Status


def test_a_claims_spec_is_immutable_until_it_is_bound(cluster: LocalCluster) -> None:
    core = cluster.core_v1()
    created = core.create_namespaced_persistent_volume_claim(
        "default", manifest("v1/PersistentVolumeClaim", "data")
    )
    assert (created.status.phase, created.spec.volume_mode) == ("Pending", "Filesystem")
    grow = {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_persistent_volume_claim("data", "default", grow)
    assert causes(caught.value) == ["spec"]
    core.patch_namespaced_persistent_volume_claim_status("data", "default", {"status": {"phase": "Bound"}})
    grown = core.patch_namespaced_persistent_volume_claim("data", "default", grow)
    assert grown.spec.resources.requests == {"storage": "2Gi"}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_persistent_volume_claim(
            "data", "default", {"spec": {"resources": {"requests": {"storage": "lots"}}}}
        )
    assert caught.value.status == 400 and "quantities must match" in status_of(caught.value)["message"]


@pytest.mark.parametrize(
    ("key", "body", "fields"),
    [
        ("networking.k8s.io/v1/Ingress", {"spec": {}}, ["spec"]),
        (
            "autoscaling/v2/HorizontalPodAutoscaler",
            {"spec": {}},
            ["spec.scaleTargetRef.kind", "spec.scaleTargetRef.name", "spec.maxReplicas"],
        ),
        (
            "autoscaling/v2/HorizontalPodAutoscaler",
            {
                "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "w"},
                    "minReplicas": 3,
                    "maxReplicas": 2,
                }
            },
            ["spec.maxReplicas"],
        ),
        ("policy/v1/PodDisruptionBudget", {"spec": {"minAvailable": 1, "maxUnavailable": 1}}, ["spec"]),
        ("v1/Service", {"spec": {}}, ["spec.ports"]),
        ("v1/Service", {"spec": {"type": "ExternalName"}}, ["spec.externalName"]),
        ("v1/PersistentVolumeClaim", {"spec": {}}, ["spec.accessModes", "spec.resources[storage]"]),
        ("v1/ConfigMap", {"data": {"k": "1"}, "binaryData": {"k": "MQ=="}}, ["data[k]"]),
        ("apps/v1/ReplicaSet", {"spec": workload_spec(replicas=-1)}, ["spec.replicas"]),
    ],
)
def test_invalid_objects_are_refused_with_the_field_at_fault(
    raw: Raw, key: str, body: dict[str, Any], fields: list[str]
) -> None:
    resource = kube.WELL_KNOWN[key]
    code, answer = raw("POST", resource.path("default"), {"metadata": {"name": "bad"}, **body})
    assert code == 422, answer
    assert [c["field"] for c in answer["details"]["causes"]] == fields
    assert answer["message"].startswith(f"{resource.kind}")


def test_a_headless_service_and_node_ports(cluster: LocalCluster) -> None:
    core = cluster.core_v1()
    headless = core.create_namespaced_service(
        "default", {"metadata": {"name": "db"}, "spec": {"clusterIP": "None"}}
    )
    assert (headless.spec.cluster_ip, headless.spec.cluster_ips) == ("None", ["None"])
    exposed = core.create_namespaced_service(
        "default", {"metadata": {"name": "edge"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    )
    assert 30000 <= exposed.spec.ports[0].node_port <= 32767
    assert exposed.spec.external_traffic_policy == "Cluster"


def test_a_daemonset_counts_template_generations_and_a_statefulset_keeps_its_service(
    cluster: LocalCluster,
) -> None:
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_daemon_set(
        "default", {"metadata": {"name": "agent"}, "spec": workload_spec()}
    )
    assert created.metadata.annotations == {"deprecated.daemonset.template.generation": "1"}
    assert created.spec.update_strategy.rolling_update.max_unavailable == 1
    resized = apps.patch_namespaced_daemon_set("agent", "default", {"spec": {"minReadySeconds": 2}})
    assert (resized.metadata.generation, resized.metadata.annotations[_TEMPLATE_GENERATION]) == (2, "1")
    changed = apps.patch_namespaced_daemon_set(
        "agent", "default", {"spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}}
    )
    assert (changed.metadata.generation, changed.metadata.annotations[_TEMPLATE_GENERATION]) == (3, "2")

    sts = apps.create_namespaced_stateful_set(
        "default", {"metadata": {"name": "db"}, "spec": workload_spec(serviceName="db")}
    )
    assert (sts.spec.pod_management_policy, sts.spec.update_strategy.rolling_update.partition) == (
        "OrderedReady",
        0,
    )
    assert sts.status.replicas == 0 and sts.status.available_replicas == 0
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_stateful_set("db", "default", {"spec": {"serviceName": "other"}})
    assert causes(caught.value) == ["spec.serviceName"]
    assert 'Invalid value: "other": field is immutable' in status_of(caught.value)["message"]
