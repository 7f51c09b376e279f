"""Create, read, update, delete of namespaces and pods, with the API server's metadata and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from host.localcluster.testing import WatchRecorder, python_pod, sleeping_pod


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


def test_default_namespaces_exist_and_new_ones_can_be_created(api: Any) -> None:
    names = {ns.metadata.name for ns in api.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    created = api.create_namespace({"metadata": {"name": "shop"}})
    assert created.status.phase == "Active"
    assert api.read_namespace("shop").metadata.uid == created.metadata.uid


def test_created_pod_gets_uid_timestamps_generation_and_pending_status(api: Any) -> None:
    pod = api.create_namespaced_pod("default", sleeping_pod("web"))
    meta = pod.metadata
    assert meta.uid
    assert meta.creation_timestamp is not None
    assert meta.generation == 1
    assert meta.namespace == "default"
    assert pod.status.phase == "Pending"
    assert pod.spec.restart_policy == "Always"
    assert pod.spec.containers[0].termination_message_path == "/dev/termination-log"
    assert api.read_namespaced_pod("web", "default").metadata.resource_version == meta.resource_version


def test_resource_version_is_one_counter_across_kinds(api: Any) -> None:
    first = int(api.create_namespaced_pod("default", sleeping_pod("a")).metadata.resource_version)
    namespace = int(api.create_namespace({"metadata": {"name": "n1"}}).metadata.resource_version)
    second = int(api.create_namespaced_pod("default", sleeping_pod("b")).metadata.resource_version)
    assert first < namespace < second
    assert int(api.list_namespaced_pod("default").metadata.resource_version) >= second


def test_generate_name_picks_a_fresh_name(api: Any) -> None:
    manifest = sleeping_pod("ignored")
    manifest["metadata"] = {"generateName": "worker-"}
    created = api.create_namespaced_pod("default", manifest)
    assert created.metadata.name.startswith("worker-")
    assert len(created.metadata.name) == len("worker-") + 5


def test_missing_pod_is_a_not_found_status(api: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod("ghost", "default")
    assert caught.value.status == 404
    body = status_of(caught.value)
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'pods "ghost" not found'
    assert body["details"] == {"name": "ghost", "kind": "pods"}


def test_duplicate_pod_is_already_exists(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("dup"))
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod("default", sleeping_pod("dup"))
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "AlreadyExists"


def test_pod_without_containers_is_invalid_with_causes(api: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod("default", {"metadata": {"name": "Bad_Name"}, "spec": {"containers": []}})
    assert caught.value.status == 422
    body = status_of(caught.value)
    assert body["reason"] == "Invalid"
    fields = {cause["field"] for cause in body["details"]["causes"]}
    assert {"metadata.name", "spec.containers"} <= fields


def test_pod_in_a_missing_namespace_is_not_found(api: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod("nowhere", sleeping_pod("x"))
    assert caught.value.status == 404
    assert status_of(caught.value)["message"] == 'namespaces "nowhere" not found'


def test_namespace_mismatch_between_body_and_url_is_a_bad_request(api: Any) -> None:
    manifest = sleeping_pod("x")
    manifest["metadata"]["namespace"] = "kube-system"
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod("default", manifest)
    assert caught.value.status == 400
    assert status_of(caught.value)["reason"] == "BadRequest"


def test_replace_with_a_stale_resource_version_is_a_conflict(api: Any) -> None:
    pod = api.create_namespaced_pod("default", sleeping_pod("r"))
    pod.metadata.labels = {"v": "1"}
    updated = api.replace_namespaced_pod("r", "default", pod)
    assert updated.metadata.labels == {"v": "1"}
    pod.metadata.labels = {"v": "2"}
    with pytest.raises(ApiException) as caught:
        api.replace_namespaced_pod("r", "default", pod)
    assert caught.value.status == 409
    assert status_of(caught.value)["reason"] == "Conflict"


def test_image_change_bumps_generation_but_label_change_does_not(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("g"))
    relabeled = api.patch_namespaced_pod("g", "default", {"metadata": {"labels": {"a": "b"}}})
    assert relabeled.metadata.generation == 1
    reimaged = api.patch_namespaced_pod(
        "g", "default", {"spec": {"containers": [{"name": "app", "image": "python:3.13"}]}}
    )
    assert reimaged.metadata.generation == 2
    assert reimaged.spec.containers[0].image == "python:3.13"


def test_changing_an_immutable_pod_field_is_invalid(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("imm"))
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod(
            "imm", "default", {"spec": {"containers": [{"name": "app", "command": ["true"]}]}}
        )
    assert caught.value.status == 422
    assert "pod updates may not change fields" in status_of(caught.value)["message"]


def test_an_update_that_changes_nothing_keeps_the_resource_version(api: Any) -> None:
    pod = api.create_namespaced_pod("default", sleeping_pod("same", labels={"a": "b"}))
    again = api.patch_namespaced_pod("same", "default", {"metadata": {"labels": {"a": "b"}}})
    assert again.metadata.resource_version == pod.metadata.resource_version


def test_delete_without_a_kubelet_removes_the_pod_at_once(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("gone"))
    deleted = api.delete_namespaced_pod("gone", "default")
    assert deleted.metadata.name == "gone"
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod("gone", "default")
    assert caught.value.status == 404


def test_delete_with_a_wrong_uid_precondition_is_a_conflict(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("pre"))
    with pytest.raises(ApiException) as caught:
        api.delete_namespaced_pod("pre", "default", body={"preconditions": {"uid": "not-the-uid"}})
    assert caught.value.status == 409
    api.read_namespaced_pod("pre", "default")


def test_finalizers_hold_a_deleted_object_until_they_are_removed(api: Any) -> None:
    manifest = sleeping_pod("fin")
    manifest["metadata"]["finalizers"] = ["example.com/hold"]
    created = api.create_namespaced_pod("default", manifest)
    recorder = WatchRecorder(
        api.list_namespaced_pod, "default", resource_version=created.metadata.resource_version
    )
    held = api.delete_namespaced_pod("fin", "default", grace_period_seconds=0)
    assert held.metadata.deletion_timestamp is not None
    assert api.read_namespaced_pod("fin", "default").metadata.deletion_timestamp is not None
    api.patch_namespaced_pod("fin", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod("fin", "default")
    assert caught.value.status == 404
    marked, deleted = recorder.take(2)
    recorder.stop()
    assert (marked["type"], marked["object"].metadata.finalizers) == ("MODIFIED", ["example.com/hold"])
    assert (deleted["type"], deleted["object"].metadata.finalizers) == ("DELETED", None)


def test_delete_collection_removes_only_matching_pods(api: Any) -> None:
    api.create_namespaced_pod("default", sleeping_pod("keep", labels={"tier": "db"}))
    api.create_namespaced_pod("default", sleeping_pod("drop1", labels={"tier": "web"}))
    api.create_namespaced_pod("default", sleeping_pod("drop2", labels={"tier": "web"}))
    api.delete_collection_namespaced_pod("default", label_selector="tier=web")
    assert [p.metadata.name for p in api.list_namespaced_pod("default").items] == ["keep"]


def test_pods_in_other_namespaces_are_listed_across_namespaces(api: Any) -> None:
    api.create_namespace({"metadata": {"name": "other"}})
    api.create_namespaced_pod("default", python_pod("one", "pass"))
    api.create_namespaced_pod("other", python_pod("two", "pass"))
    everywhere = api.list_pod_for_all_namespaces()
    assert sorted((p.metadata.namespace, p.metadata.name) for p in everywhere.items) == [
        ("default", "one"),
        ("other", "two"),
    ]
    assert [p.metadata.name for p in api.list_namespaced_pod("other").items] == ["two"]
