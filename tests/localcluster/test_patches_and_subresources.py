"""Patches as the client sends them, the status subresource, and the ephemeralcontainers subresource."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from host.localcluster import LocalCluster
from host.localcluster.testing import sleeping_pod

DEBUGGER = {
    "name": "debugger",
    "image": "python:3.12",
    "command": ["python", "-c", "pass"],
    "targetContainerName": "app",
}


@pytest.fixture
def pod(api: Any) -> Any:
    manifest = sleeping_pod("target", labels={"app": "shop"})
    manifest["spec"]["containers"].append(
        {"name": "side", "image": "busybox:1.36", "env": [{"name": "A", "value": "1"}]}
    )
    return api.create_namespaced_pod("default", manifest)


def test_dict_patch_is_sent_as_strategic_merge_and_merges_containers_by_name(api: Any, pod: Any) -> None:
    patched = api.patch_namespaced_pod(
        "target", "default", {"spec": {"containers": [{"name": "side", "image": "busybox:1.37"}]}}
    )
    assert [(c.name, c.image) for c in patched.spec.containers] == [
        ("app", "python:3.12"),
        ("side", "busybox:1.37"),
    ]
    assert patched.spec.containers[1].env[0].name == "A"


def test_list_patch_is_sent_as_json_patch(api: Any, pod: Any) -> None:
    patched = api.patch_namespaced_pod(
        "target", "default", [{"op": "replace", "path": "/metadata/labels/app", "value": "cart"}]
    )
    assert patched.metadata.labels == {"app": "cart"}


def test_merge_patch_content_type_replaces_lists(api: Any, pod: Any) -> None:
    patched = api.patch_namespaced_pod(
        "target",
        "default",
        {"metadata": {"labels": {"app": None, "tier": "web"}}},
        _content_type="application/merge-patch+json",
    )
    assert patched.metadata.labels == {"tier": "web"}


def test_patch_with_a_stale_resource_version_is_a_conflict(api: Any, pod: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod(
            "target", "default", {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}}
        )
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"


def test_failed_json_patch_test_operation_is_unprocessable(api: Any, pod: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod(
            "target", "default", [{"op": "test", "path": "/metadata/labels/app", "value": "nope"}]
        )
    assert caught.value.status == 422


def test_apply_patch_is_an_unsupported_media_type(api: Any, pod: Any) -> None:
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod(
            "target",
            "default",
            {"metadata": {"labels": {"a": "b"}}},
            _content_type="application/apply-patch+yaml",
            field_manager="t",
        )
    assert caught.value.status == 415


def test_status_subresource_patch_changes_status_only(api: Any, pod: Any) -> None:
    oom = {
        "name": "app",
        "image": "python:3.12",
        "imageID": "",
        "ready": False,
        "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {
            "terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T00:00:00Z"}
        },
    }
    patched = api.patch_namespaced_pod_status(
        "target",
        "default",
        {
            "status": {"phase": "Running", "containerStatuses": [oom]},
            "metadata": {"labels": {"ignored": "yes"}},
        },
    )
    assert patched.status.container_statuses[0].last_state.terminated.reason == "OOMKilled"
    assert patched.status.container_statuses[0].restart_count == 3
    assert patched.metadata.labels == {"app": "shop"}
    read = api.read_namespaced_pod_status("target", "default")
    assert read.status.phase == "Running"


def test_status_subresource_merges_conditions_by_type(api: Any, pod: Any) -> None:
    api.patch_namespaced_pod_status(
        "target",
        "default",
        {
            "status": {
                "conditions": [{"type": "Ready", "status": "False"}, {"type": "Custom", "status": "True"}]
            }
        },
    )
    patched = api.patch_namespaced_pod_status(
        "target", "default", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert [(c.type, c.status) for c in patched.status.conditions] == [("Ready", "True"), ("Custom", "True")]


def test_replacing_status_keeps_the_spec_and_replacing_the_pod_keeps_the_status(api: Any, pod: Any) -> None:
    current = api.read_namespaced_pod("target", "default")
    current.status.phase = "Failed"
    current.spec.active_deadline_seconds = 99
    replaced = api.replace_namespaced_pod_status("target", "default", current)
    assert replaced.status.phase == "Failed"
    assert replaced.spec.active_deadline_seconds is None
    replaced.status.phase = "Succeeded"
    replaced.spec.active_deadline_seconds = 50
    again = api.replace_namespaced_pod("target", "default", replaced)
    assert again.status.phase == "Failed"
    assert again.spec.active_deadline_seconds == 50


def test_status_update_with_a_stale_version_is_a_conflict(api: Any, pod: Any) -> None:
    stale = api.read_namespaced_pod("target", "default")
    api.patch_namespaced_pod_status("target", "default", {"status": {"phase": "Running"}})
    stale.status.phase = "Failed"
    with pytest.raises(ApiException) as caught:
        api.replace_namespaced_pod_status("target", "default", stale)
    assert caught.value.status == 409


def test_ephemeral_containers_are_added_through_their_subresource(api: Any, pod: Any) -> None:
    patched = api.patch_namespaced_pod_ephemeralcontainers(
        "target", "default", {"spec": {"ephemeralContainers": [DEBUGGER]}}
    )
    assert [c.name for c in patched.spec.ephemeral_containers] == ["debugger"]
    assert patched.spec.ephemeral_containers[0].target_container_name == "app"
    assert patched.metadata.generation == 2
    read = api.read_namespaced_pod_ephemeralcontainers("target", "default")
    assert read.spec.ephemeral_containers[0].name == "debugger"


def test_ephemeral_containers_can_be_added_by_replacing_the_subresource(api: Any, pod: Any) -> None:
    current = api.read_namespaced_pod("target", "default")
    current.spec.ephemeral_containers = [DEBUGGER]
    replaced = api.replace_namespaced_pod_ephemeralcontainers("target", "default", current)
    assert [c.name for c in replaced.spec.ephemeral_containers] == ["debugger"]


def test_ephemeral_containers_cannot_be_set_through_the_pod_itself(api: Any, pod: Any) -> None:
    patched = api.patch_namespaced_pod("target", "default", {"spec": {"ephemeralContainers": [DEBUGGER]}})
    assert patched.spec.ephemeral_containers is None


def test_existing_ephemeral_containers_cannot_be_changed_or_removed(api: Any, pod: Any) -> None:
    api.patch_namespaced_pod_ephemeralcontainers(
        "target", "default", {"spec": {"ephemeralContainers": [DEBUGGER]}}
    )
    changed = {**DEBUGGER, "command": ["python", "-c", "print(1)"]}
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod_ephemeralcontainers(
            "target", "default", {"spec": {"ephemeralContainers": [changed]}}
        )
    assert caught.value.status == 422
    assert "may not be changed" in json.loads(caught.value.body)["message"]
    with pytest.raises(ApiException) as removed:
        api.patch_namespaced_pod_ephemeralcontainers(
            "target",
            "default",
            {"spec": {"ephemeralContainers": None}},
            _content_type="application/merge-patch+json",
        )
    assert removed.value.status == 422
    assert "may not be removed" in json.loads(removed.value.body)["message"]


def test_ephemeral_container_with_ports_or_an_unknown_target_is_invalid(api: Any, pod: Any) -> None:
    bad = [{**DEBUGGER, "ports": [{"containerPort": 80}], "targetContainerName": "nope"}]
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod_ephemeralcontainers(
            "target", "default", {"spec": {"ephemeralContainers": bad}}
        )
    assert caught.value.status == 422
    fields = {c["field"] for c in json.loads(caught.value.body)["details"]["causes"]}
    assert fields == {"spec.ephemeralContainers[0].ports", "spec.ephemeralContainers[0].targetContainerName"}


def test_a_cluster_that_forbids_ephemeral_containers_answers_403(
    cluster: LocalCluster, api: Any, pod: Any
) -> None:
    cluster.set_ephemeral_containers_allowed(False)
    with pytest.raises(ApiException) as caught:
        api.patch_namespaced_pod_ephemeralcontainers(
            "target", "default", {"spec": {"ephemeralContainers": [DEBUGGER]}}
        )
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["reason"] == "Forbidden"
    assert api.read_namespaced_pod("target", "default").spec.ephemeral_containers is None
