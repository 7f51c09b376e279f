"""Label and field selectors on lists and watches of pods and events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from host.localcluster.testing import WatchRecorder, sleeping_pod


@pytest.fixture
def pods(api: Any) -> Any:
    for name, labels, node in [
        ("web-1", {"app": "web", "tier": "front", "rank": "1"}, "node-a"),
        ("web-2", {"app": "web", "tier": "front", "rank": "5"}, "node-b"),
        ("db-1", {"app": "db", "rank": "9"}, "node-a"),
        ("bare", {}, None),
    ]:
        api.create_namespaced_pod("default", sleeping_pod(name, labels=labels, node_name=node))
    api.patch_namespaced_pod_status("db-1", "default", {"status": {"phase": "Running"}})
    return api


def listed(api: Any, **kwargs: Any) -> list[str]:
    return [p.metadata.name for p in api.list_namespaced_pod("default", **kwargs).items]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web-1", "web-2"]),
        ("app==db", ["db-1"]),
        ("app!=web", ["bare", "db-1"]),
        ("app in (web, db)", ["db-1", "web-1", "web-2"]),
        ("app notin (web)", ["bare", "db-1"]),
        ("tier", ["web-1", "web-2"]),
        ("!tier", ["bare", "db-1"]),
        ("app=web,rank>2", ["web-2"]),
        ("rank<5", ["web-1"]),
        ("app in (web),tier=front,!missing", ["web-1", "web-2"]),
    ],
)
def test_label_selectors_filter_pods(pods: Any, selector: str, expected: list[str]) -> None:
    assert listed(pods, label_selector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=web-2", ["web-2"]),
        ("spec.nodeName=node-a", ["db-1", "web-1"]),
        ("spec.nodeName=", ["bare"]),
        ("status.phase=Running", ["db-1"]),
        ("status.phase!=Running,spec.nodeName!=node-b", ["bare", "web-1"]),
        ("metadata.namespace==default,metadata.name!=bare", ["db-1", "web-1", "web-2"]),
    ],
)
def test_field_selectors_filter_pods(pods: Any, selector: str, expected: list[str]) -> None:
    assert listed(pods, field_selector=selector) == expected


def test_label_and_field_selectors_combine(pods: Any) -> None:
    assert listed(pods, label_selector="app=web", field_selector="spec.nodeName=node-a") == ["web-1"]


def test_unsupported_field_is_a_bad_request(pods: Any) -> None:
    with pytest.raises(ApiException) as caught:
        listed(pods, field_selector="spec.hostname=x")
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] == "field label not supported: spec.hostname"


def test_malformed_label_selector_is_a_bad_request(pods: Any) -> None:
    with pytest.raises(ApiException) as caught:
        listed(pods, label_selector="app in web")
    assert caught.value.status == 400


def test_field_selector_watch_follows_one_pod(pods: Any) -> None:
    start = pods.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(
        pods.list_namespaced_pod, "default", field_selector="metadata.name=web-1", resource_version=start
    )
    pods.patch_namespaced_pod("web-2", "default", {"metadata": {"labels": {"x": "1"}}})
    pods.patch_namespaced_pod("web-1", "default", {"metadata": {"labels": {"x": "1"}}})
    (event,) = recorder.take(1)
    assert (event["type"], event["raw_object"]["metadata"]["name"]) == ("MODIFIED", "web-1")
    recorder.stop()


def event_body(name: str, pod: str, reason: str, type_: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": pod, "apiVersion": "v1"},
        "reason": reason,
        "message": f"{reason} happened",
        "type": type_,
        "source": {"component": "test"},
    }


def test_field_selectors_filter_events(api: Any) -> None:
    api.create_namespaced_event("default", event_body("e1", "web-1", "BackOff", "Warning"))
    api.create_namespaced_event("default", event_body("e2", "web-1", "Started", "Normal"))
    api.create_namespaced_event("default", event_body("e3", "db-1", "BackOff", "Warning"))

    def events(selector: str) -> list[str]:
        return [e.metadata.name for e in api.list_event_for_all_namespaces(field_selector=selector).items]

    assert events("involvedObject.name=web-1") == ["e1", "e2"]
    assert events("type=Warning") == ["e1", "e3"]
    assert events("reason=BackOff,involvedObject.name=db-1") == ["e3"]
    assert events("involvedObject.kind=Pod,involvedObject.namespace=default,source=test") == [
        "e1",
        "e2",
        "e3",
    ]
