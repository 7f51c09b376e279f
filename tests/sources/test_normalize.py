"""Raw objects -> the protocol's `Pod` and `K8sEvent` shapes."""

from __future__ import annotations

from host.model.events import Event
from host.sources.normalize import involved_subject, normalize_k8s_event, normalize_pod
from tests.sources.pods import OOM_RECORD, POD, variant, waiting

EVENT = {
    "metadata": {
        "name": "web-1.17a",
        "namespace": "shop",
        "uid": "ev-1",
        "creationTimestamp": "2024-05-01T10:00:00Z",
    },
    "type": "Warning",
    "reason": "BackOff",
    "message": "Back-off restarting failed container",
    "count": 4,
    "firstTimestamp": "2024-05-01T10:00:00Z",
    "lastTimestamp": "2024-05-01T10:04:00Z",
    "involvedObject": {
        "kind": "Pod",
        "namespace": "shop",
        "name": "web-1",
        "uid": "uid-web-1",
        "fieldPath": "spec.containers{app}",
    },
}

SERIES_EVENT = {
    "metadata": {
        "name": "n.1",
        "namespace": "default",
        "uid": "ev-2",
        "creationTimestamp": "2024-05-01T09:00:00Z",
    },
    "type": "Warning",
    "reason": "NodeNotReady",
    "eventTime": "2024-05-01T09:00:00.000000Z",
    "series": {"count": 7, "lastObservedTime": "2024-05-01T09:30:00.000000Z"},
    "involvedObject": {"kind": "Node", "name": "node-a"},
}


def test_a_pod_is_normalized_to_the_protocol_shape() -> None:
    pod = normalize_pod(
        variant(
            "101", app_state=waiting("CrashLoopBackOff", "back-off"), app_last_state=OOM_RECORD, restarts=2
        )
    )

    assert set(pod) == {
        "namespace",
        "name",
        "uid",
        "node",
        "phase",
        "labels",
        "annotations",
        "containers",
        "containerStatuses",
        "startTime",
    }
    assert (pod["namespace"], pod["name"], pod["uid"], pod["node"], pod["phase"]) == (
        "shop",
        "web-1",
        "uid-web-1",
        "node-a",
        "Running",
    )
    assert pod["annotations"] == {"team": "checkout"}
    assert pod["containers"] == [
        {"name": "app", "image": "shop/web:1"},
        {"name": "sidecar", "image": "envoy:1"},
    ]
    assert pod["containerStatuses"][0] == {
        "name": "app",
        "ready": True,
        "restartCount": 2,
        "image": "shop/web:1",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
        "lastState": {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": "2024-05-01T10:00:05Z",
                "finishedAt": "2024-05-01T10:03:00Z",
            }
        },
    }
    assert pod["containerStatuses"][1]["state"] == {"running": {"startedAt": "2024-05-01T10:00:05Z"}}
    assert pod["containerStatuses"][1]["lastState"] == {}


def test_a_pod_without_status_still_normalizes() -> None:
    pod = normalize_pod(
        {
            "metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }
    )

    assert pod["phase"] is None
    assert pod["containerStatuses"] == []
    assert pod["labels"] == {}


def test_a_normalized_pod_fits_the_event_model_on_the_wire() -> None:
    wire = Event(kind="pod.create", pod=normalize_pod(POD)).wire()

    assert wire["pod"]["containerStatuses"][0]["restartCount"] == 0


def test_a_k8s_event_is_normalized_with_its_involved_object() -> None:
    normalized = normalize_k8s_event(EVENT)

    assert normalized == {
        "namespace": "shop",
        "name": "web-1.17a",
        "type": "Warning",
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "count": 4,
        "firstTimestamp": "2024-05-01T10:00:00Z",
        "lastTimestamp": "2024-05-01T10:04:00Z",
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "uid-web-1"},
    }
    subject = involved_subject(EVENT)
    assert subject is not None
    assert (subject.kind, subject.namespace, subject.name, subject.uid) == (
        "Pod",
        "shop",
        "web-1",
        "uid-web-1",
    )


def test_a_series_event_takes_count_and_times_from_the_newer_fields() -> None:
    normalized = normalize_k8s_event(SERIES_EVENT)

    assert normalized["count"] == 7
    assert normalized["firstTimestamp"] == "2024-05-01T09:00:00.000000Z"
    assert normalized["lastTimestamp"] == "2024-05-01T09:30:00.000000Z"
    subject = involved_subject(SERIES_EVENT)
    assert subject is not None
    assert (subject.kind, subject.namespace, subject.name) == ("Node", None, "node-a")
