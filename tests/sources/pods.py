"""Canned raw pods (as the API server sends them) and a builder for their variants."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

RUNNING_STATE = {"running": {"startedAt": "2024-05-01T10:00:05Z"}}

POD: Obj = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "uid-web-1",
        "resourceVersion": "100",
        "labels": {"app": "web"},
        "annotations": {
            "team": "checkout",
            "kubectl.kubernetes.io/last-applied-configuration": "{...}",
        },
        "managedFields": [{"manager": "kubectl"}],
    },
    "spec": {
        "nodeName": "node-a",
        "initContainers": [{"name": "init", "image": "busybox:1"}],
        "containers": [{"name": "app", "image": "shop/web:1"}, {"name": "sidecar", "image": "envoy:1"}],
    },
    "status": {
        "phase": "Running",
        "startTime": "2024-05-01T10:00:00Z",
        "podIP": "10.0.0.5",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T10:00:06Z"}],
        "initContainerStatuses": [
            {
                "name": "init",
                "ready": True,
                "restartCount": 0,
                "image": "busybox:1",
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": "2024-05-01T10:00:01Z",
                        "finishedAt": "2024-05-01T10:00:02Z",
                    }
                },
                "lastState": {},
            }
        ],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": 0,
                "image": "shop/web:1",
                "imageID": "sha256:1",
                "state": RUNNING_STATE,
                "lastState": {},
            },
            {
                "name": "sidecar",
                "ready": True,
                "restartCount": 0,
                "image": "envoy:1",
                "state": RUNNING_STATE,
                "lastState": {},
            },
        ],
    },
}


def variant(
    version: str,
    *,
    app_state: Obj | None = None,
    app_last_state: Obj | None = None,
    restarts: int | None = None,
    ready: bool | None = None,
    labels: Obj | None = None,
    status_reason: str | None = None,
    status_message: str | None = None,
    phase: str | None = None,
    base: Obj = POD,
    uid: str | None = None,
    name: str | None = None,
) -> Obj:
    """A copy of `base` at `version` with the app container / pod status changed as given."""
    pod = copy.deepcopy(base)
    pod["metadata"]["resourceVersion"] = version
    if uid is not None:
        pod["metadata"]["uid"] = uid
    if name is not None:
        pod["metadata"]["name"] = name
    app = pod["status"]["containerStatuses"][0]
    if app_state is not None:
        app["state"] = app_state
    if app_last_state is not None:
        app["lastState"] = app_last_state
    if restarts is not None:
        app["restartCount"] = restarts
    if ready is not None:
        app["ready"] = ready
    if labels is not None:
        pod["metadata"]["labels"] = labels
    if status_reason is not None:
        pod["status"]["reason"] = status_reason
    if status_message is not None:
        pod["status"]["message"] = status_message
    if phase is not None:
        pod["status"]["phase"] = phase
    return pod


def waiting(reason: str, message: str = "") -> Obj:
    return {"waiting": {"reason": reason, "message": message or f"{reason} message"}}


def terminated(reason: str, *, started: str, finished: str, exit_code: int = 137) -> Obj:
    return {
        "terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": finished}
    }


OOM_RECORD = terminated("OOMKilled", started="2024-05-01T10:00:05Z", finished="2024-05-01T10:03:00Z")
SECOND_OOM_RECORD = terminated("OOMKilled", started="2024-05-01T10:03:10Z", finished="2024-05-01T10:05:00Z")
SHORT_CRASH = terminated(
    "Error", started="2024-05-01T10:03:10Z", finished="2024-05-01T10:03:12Z", exit_code=1
)
LONG_RUN_CRASH = terminated(
    "Error", started="2024-05-01T10:05:00Z", finished="2024-05-01T12:05:00Z", exit_code=1
)
