"""core/v1 Events, coordination.k8s.io Leases with optimistic concurrency, and 429 throttling."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from host.localcluster import LocalCluster
from host.localcluster.testing import WatchRecorder


def warning(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": "p", "apiVersion": "v1"},
        "reason": "Unhealthy",
        "message": "Readiness probe failed",
        "type": "Warning",
        "count": 1,
    }


def test_events_are_created_listed_and_watched_per_namespace_and_everywhere(api: Any) -> None:
    api.create_namespace({"metadata": {"name": "other"}})
    start = api.list_event_for_all_namespaces().metadata.resource_version
    everywhere = WatchRecorder(api.list_event_for_all_namespaces, resource_version=start)
    api.create_namespaced_event("default", warning("w1"))
    api.create_namespaced_event("other", warning("w2", "other"))
    got = everywhere.take(2)
    assert [(e["type"], e["object"].metadata.name) for e in got] == [("ADDED", "w1"), ("ADDED", "w2")]
    assert isinstance(got[0]["object"], kubernetes.client.CoreV1Event)
    assert [e.metadata.name for e in api.list_namespaced_event("other").items] == ["w2"]
    assert api.read_namespaced_event("w1", "default").reason == "Unhealthy"
    everywhere.stop()


def test_event_for_an_object_in_another_namespace_is_invalid(api: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_event("default", warning("bad", "kube-system"))
    assert caught.value.status == 422


def lease_body(holder: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "metadata": {"name": "wfhost-leader"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        },
    }


def test_lease_lifecycle_with_conflict_on_a_stale_update(cluster: LocalCluster) -> None:
    leases = cluster.coordination_v1()
    created = leases.create_namespaced_lease("default", lease_body("a"))
    assert created.spec.holder_identity == "a"
    with pytest.raises(ApiException) as exists:
        leases.create_namespaced_lease("default", lease_body("b"))
    assert exists.value.status == 409
    assert json.loads(exists.value.body)["reason"] == "AlreadyExists"

    mine = leases.read_namespaced_lease("wfhost-leader", "default")
    theirs = leases.read_namespaced_lease("wfhost-leader", "default")
    mine.spec.renew_time = datetime.now(UTC)
    renewed = leases.replace_namespaced_lease("wfhost-leader", "default", mine)
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)

    theirs.spec.holder_identity = "b"
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease("wfhost-leader", "default", theirs)
    assert stale.value.status == 409
    assert json.loads(stale.value.body)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("wfhost-leader", "default").spec.holder_identity == "a"

    patched = leases.patch_namespaced_lease(
        "wfhost-leader", "default", {"spec": {"holderIdentity": "b", "leaseTransitions": 1}}
    )
    assert (patched.spec.holder_identity, patched.spec.lease_transitions) == ("b", 1)
    deleted = leases.delete_namespaced_lease("wfhost-leader", "default")
    assert deleted["status"] == "Success"
    assert leases.list_namespaced_lease("default").items == []


def test_lease_with_a_non_positive_duration_is_invalid(cluster: LocalCluster) -> None:
    body = lease_body("a")
    body["spec"]["leaseDurationSeconds"] = 0
    with pytest.raises(ApiException) as caught:
        cluster.coordination_v1().create_namespaced_lease("default", body)
    assert caught.value.status == 422


def test_throttled_create_gets_429_with_retry_after_and_the_next_one_succeeds(
    cluster: LocalCluster, api: Any
) -> None:
    cluster.throttle_next(1, retry_after=3)
    with pytest.raises(ApiException) as caught:
        api.create_namespace({"metadata": {"name": "later"}})
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "3"
    body = json.loads(caught.value.body)
    assert (body["reason"], body["details"]["retryAfterSeconds"]) == ("TooManyRequests", 3)
    assert api.create_namespace({"metadata": {"name": "later"}}).metadata.name == "later"


def test_the_client_retries_throttled_reads_after_waiting_retry_after(
    cluster: LocalCluster, api: Any
) -> None:
    cluster.throttle_next(2, retry_after=1)
    began = time.monotonic()
    assert "default" in {ns.metadata.name for ns in api.list_namespace().items}
    assert time.monotonic() - began >= 1.9, "urllib3 honours Retry-After before each retry"


def test_a_watch_without_client_retries_surfaces_429(cluster: LocalCluster) -> None:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(
        config_file=str(cluster.kubeconfig_path), client_configuration=configuration
    )
    configuration.retries = False
    with kubernetes.client.ApiClient(configuration) as client:
        cluster.throttle_next(1, retry_after=1)
        recorder = WatchRecorder(
            kubernetes.client.CoreV1Api(client).list_namespaced_pod, "default", timeout_seconds=1
        )
        recorder.drain()
    assert isinstance(recorder.error, ApiException)
    assert recorder.error.status == 429
    assert recorder.error.headers["Retry-After"] == "1"
