"""Canned raw objects as the API server sends them: a Job, a Node, a Deployment, pods, an Event."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

T0 = "2024-05-01T10:00:00Z"
T0_EPOCH = datetime.fromisoformat("2024-05-01T10:00:00+00:00").timestamp()


def at(seconds: float) -> str:
    """T0 + seconds as an API timestamp."""
    return datetime.fromtimestamp(T0_EPOCH + seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cond(kind: str, status: str, reason: str, message: str, when: str = T0, **extra: Any) -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": when,
        **extra,
    }


def with_status(obj: Obj, version: str, **status: Any) -> Obj:
    """A later state of `obj`: new resourceVersion, `status` keys replaced."""
    copied = copy.deepcopy(obj)
    copied["metadata"]["resourceVersion"] = version
    copied["status"].update(copy.deepcopy(status))
    return copied


JOB: Obj = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": "nightly-report-28562400",
        "namespace": "batch",
        "uid": "uid-job-1",
        "resourceVersion": "500",
        "generation": 1,
        "creationTimestamp": T0,
        "labels": {"batch.kubernetes.io/job-name": "nightly-report-28562400"},
        "ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-report", "uid": "uid-cj"}
        ],
    },
    "spec": {
        "backoffLimit": 3,
        "completions": 1,
        "parallelism": 1,
        "completionMode": "NonIndexed",
        "suspend": False,
        "template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "report", "image": "shop/report:4"}]}
        },
    },
    "status": {"startTime": T0, "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}},
}

BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
FAILED_JOB_STATUS: Obj = {
    "active": 0,
    "failed": 4,
    "ready": 0,
    "terminating": 0,
    "conditions": [
        {
            **cond("FailureTarget", "True", "BackoffLimitExceeded", BACKOFF_MESSAGE, at(300)),
            "lastProbeTime": at(300),
        },
        {
            **cond("Failed", "True", "BackoffLimitExceeded", BACKOFF_MESSAGE, at(301)),
            "lastProbeTime": at(301),
        },
    ],
}


def node_status_conditions(
    ready: Obj | None = None, memory: Obj | None = None, disk: Obj | None = None, pid: Obj | None = None
) -> list[Obj]:
    beat = {"lastHeartbeatTime": at(60)}
    return [
        {
            **(
                memory
                or cond(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                )
            ),
            **beat,
        },
        {
            **(
                disk
                or cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
            ),
            **beat,
        },
        {
            **(
                pid
                or cond(
                    "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"
                )
            ),
            **beat,
        },
        {**(ready or cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")), **beat},
    ]


NODE: Obj = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "node-a",
        "uid": "uid-node-a",
        "resourceVersion": "700",
        "labels": {"kubernetes.io/hostname": "node-a", "node-role.kubernetes.io/worker": ""},
    },
    "spec": {"podCIDR": "10.244.1.0/24", "providerID": "kind://docker/kind/node-a"},
    "status": {
        "capacity": {"cpu": "4", "memory": "16303520Ki", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "16201120Ki", "pods": "110"},
        "conditions": node_status_conditions(),
        "nodeInfo": {"kubeletVersion": "v1.30.0", "containerRuntimeVersion": "containerd://1.7.15"},
    },
}

KUBELET_NOT_READY = cond(
    "Ready",
    "False",
    "KubeletNotReady",
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized",
    at(120),
)
STATUS_UNKNOWN = "Kubelet stopped posting node status."


def node_unknown(since: float = 200) -> list[Obj]:
    """What the node controller writes when the kubelet goes silent: every condition Unknown."""
    return [
        cond(kind, "Unknown", "NodeStatusUnknown", STATUS_UNKNOWN, at(since), lastHeartbeatTime=at(60))
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
    ]


MEMORY_PRESSURE = cond(
    "MemoryPressure",
    "True",
    "KubeletHasInsufficientMemory",
    "kubelet has insufficient memory available",
    at(90),
)
DISK_PRESSURE = cond("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure", at(95))


DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "uid-deploy-web",
        "resourceVersion": "800",
        "generation": 2,
        "annotations": {"deployment.kubernetes.io/revision": "2"},
    },
    "spec": {"replicas": 3, "progressDeadlineSeconds": 600, "strategy": {"type": "RollingUpdate"}},
    "status": {
        "observedGeneration": 2,
        "replicas": 4,
        "updatedReplicas": 1,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "unavailableReplicas": 1,
        "conditions": [
            {
                **cond(
                    "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
                ),
                "lastUpdateTime": T0,
            },
            {
                **cond(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    'ReplicaSet "web-5d8f6c" is progressing.',
                    at(10),
                ),
                "lastUpdateTime": at(10),
            },
        ],
    },
}

STUCK_MESSAGE = 'ReplicaSet "web-5d8f6c" has timed out progressing.'


def progressing(status: str, reason: str, message: str, when: float) -> list[Obj]:
    available = DEPLOYMENT["status"]["conditions"][0]
    return [available, {**cond("Progressing", status, reason, message, at(when)), "lastUpdateTime": at(when)}]


STUCK = progressing("False", "ProgressDeadlineExceeded", STUCK_MESSAGE, 610)


POD: Obj = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-5d8f6c-x7k2p",
        "namespace": "shop",
        "uid": "uid-web-x7k2p",
        "resourceVersion": "100",
        "creationTimestamp": T0,
        "labels": {"app": "web", "pod-template-hash": "5d8f6c"},
    },
    "spec": {
        "nodeName": "node-a",
        "initContainers": [{"name": "migrate", "image": "shop/web:2"}],
        "containers": [{"name": "app", "image": "shop/web:2"}, {"name": "sidecar", "image": "envoy:1.30"}],
        "restartPolicy": "Always",
    },
    "status": {
        "phase": "Pending",
        "qosClass": "Burstable",
        "startTime": T0,
        "conditions": [cond("PodScheduled", "True", "", "", T0)],
        "initContainerStatuses": [],
        "containerStatuses": [],
    },
}


def waiting(reason: str, message: str | None = None) -> Obj:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def terminated(
    reason: str, exit_code: int, message: str | None = None, started: str = at(5), finished: str = at(6)
) -> Obj:
    record: Obj = {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": finished}
    if message:
        record["message"] = message
    return {"terminated": record}


RUNNING: Obj = {"running": {"startedAt": at(30)}}


def cstatus(
    name: str, state: Obj, *, last: Obj | None = None, restarts: int = 0, started: bool | None = None
) -> Obj:
    status: Obj = {
        "name": name,
        "image": "shop/web:2",
        "imageID": "",
        "ready": False,
        "restartCount": restarts,
        "state": state,
        "lastState": last or {},
    }
    if started is not None:
        status["started"] = started
    return status


def pod(
    version: str,
    *,
    app: Obj | None = None,
    sidecar: Obj | None = None,
    init: Obj | None = None,
    ephemeral: list[Obj] | None = None,
) -> Obj:
    """A state of POD with these container statuses (default: all three waiting to be created)."""
    created = waiting("ContainerCreating")
    new = with_status(POD, version)
    new["status"]["initContainerStatuses"] = [init or cstatus("migrate", terminated("Completed", 0))]
    new["status"]["containerStatuses"] = [
        app or cstatus("app", created),
        sidecar or cstatus("sidecar", created),
    ]
    if ephemeral is not None:
        new["status"]["ephemeralContainerStatuses"] = ephemeral
    return new


UNSCHEDULABLE_MESSAGE = (
    "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)


def pending_pod(
    uid: str, *, since: str | None = T0, reason: str = "Unschedulable", message: str = UNSCHEDULABLE_MESSAGE
) -> Obj:
    """An unscheduled pod: no nodeName, PodScheduled=False (`since` None: no lastTransitionTime)."""
    new = copy.deepcopy(POD)
    new["metadata"].update({"uid": uid, "name": f"worker-{uid}"})
    del new["spec"]["nodeName"]
    del new["status"]["startTime"]
    scheduled = {
        "type": "PodScheduled",
        "status": "False",
        "lastProbeTime": None,
        "reason": reason,
        "message": message,
    }
    if since is not None:
        scheduled["lastTransitionTime"] = since
    new["status"]["conditions"] = [scheduled]
    return new


def scheduled_pod(pending: Obj, version: str = "101") -> Obj:
    new = copy.deepcopy(pending)
    new["metadata"]["resourceVersion"] = version
    new["spec"]["nodeName"] = "node-b"
    new["status"]["conditions"] = [cond("PodScheduled", "True", "", "", at(400))]
    return new


def unhealthy(
    message: str = "Liveness probe failed: HTTP probe failed with statuscode: 500",
    *,
    container: str = "app",
    pod_uid: str | None = "uid-web-x7k2p",
    count: int = 1,
    last: str = T0,
    uid: str = "uid-event-1",
) -> Obj:
    involved: Obj = {
        "kind": "Pod",
        "namespace": "shop",
        "name": "web-5d8f6c-x7k2p",
        "apiVersion": "v1",
        "resourceVersion": "100",
        "fieldPath": f"spec.containers{{{container}}}",
    }
    if pod_uid is not None:
        involved["uid"] = pod_uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": "web-5d8f6c-x7k2p.17c9a4d2",
            "namespace": "shop",
            "uid": uid,
            "resourceVersion": "900",
            "creationTimestamp": T0,
        },
        "involvedObject": involved,
        "reason": "Unhealthy",
        "message": message,
        "source": {"component": "kubelet", "host": "node-a"},
        "firstTimestamp": T0,
        "lastTimestamp": last,
        "count": count,
        "type": "Warning",
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": "node-a",
    }
