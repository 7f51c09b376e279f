"""The pod status the kubelet reports, derived from its containers (phase, conditions, container statuses).

The phase follows the kubelet's rules: a container still waiting to start for the first time
keeps the pod Pending; restarting containers count as stopped, and with restartPolicy Always the
pod stays Running; Succeeded and Failed are terminal and never change again. Conditions owned by
the kubelet are replaced; any other condition in the status (e.g. one written by a test) stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from host.localcluster.kubelet.container import Container, Running, Terminated, Waiting

NODE_IP = "127.0.0.1"
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
TERMINAL = ("Succeeded", "Failed")


def phase(containers: Sequence[Container], restart_policy: str, previous: str | None) -> str:
    if previous in TERMINAL:
        return previous
    running = waiting = stopped = succeeded = 0
    for container in containers:
        state = container.state
        if isinstance(state, Running):
            running += 1
        elif isinstance(state, Terminated):
            stopped += 1
            succeeded += state.exit_code == 0
        elif isinstance(state, Waiting):
            if container.last_terminated is not None:
                stopped += 1
            else:
                waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(
    previous: dict[str, dict[str, Any]],
    kind: str,
    ok: bool,
    now: str,
    reason: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    value = "True" if ok else "False"
    old = previous.get(kind)
    transition = (
        old["lastTransitionTime"]
        if old and old.get("status") == value and old.get("lastTransitionTime")
        else now
    )
    condition: dict[str, Any] = {
        "type": kind,
        "status": value,
        "lastProbeTime": None,
        "lastTransitionTime": transition,
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def apply(
    pod: dict[str, Any],
    *,
    containers: Sequence[Container],
    ephemeral: Sequence[Container],
    start_time: str,
    now: str,
    final: bool = False,
) -> None:
    """Write the kubelet-owned status fields of `pod` in place.

    `final` is set once the pod's containers were stopped for its deletion: nothing restarts
    any more, so the pod reaches a terminal phase (Succeeded or Failed) as on a real node.
    """
    status = pod.setdefault("status", {})
    spec = pod.get("spec", {})
    policy = "Never" if final else str(spec.get("restartPolicy", "Always"))
    new_phase = phase(containers, policy, status.get("phase"))
    previous: dict[str, dict[str, Any]] = {
        str(c.get("type")): c for c in status.get("conditions") or [] if isinstance(c, dict)
    }
    unready = [c.name for c in containers if not isinstance(c.state, Running)]
    if new_phase in TERMINAL:
        ready_args: dict[str, Any] = {"ok": False, "reason": "PodCompleted"}
    elif unready:
        ready_args = {
            "ok": False,
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{' '.join(unready)}]",
        }
    else:
        ready_args = {"ok": True}
    sandbox_ready = new_phase not in TERMINAL
    owned = [
        _condition(previous, "PodReadyToStartContainers", ok=sandbox_ready, now=now),
        _condition(previous, "Initialized", ok=True, now=now),
        _condition(previous, "Ready", now=now, **ready_args),
        _condition(previous, "ContainersReady", now=now, **ready_args),
    ]
    others = [c for kind, c in previous.items() if kind not in KUBELET_CONDITIONS]
    status["conditions"] = [*owned, *others]
    status["phase"] = new_phase
    status["hostIP"] = NODE_IP
    status["hostIPs"] = [{"ip": NODE_IP}]
    status["podIP"] = NODE_IP
    status["podIPs"] = [{"ip": NODE_IP}]
    status["startTime"] = start_time
    status["observedGeneration"] = pod.get("metadata", {}).get("generation", 1)
    status["containerStatuses"] = [c.status() for c in containers]
    if ephemeral:
        status["ephemeralContainerStatuses"] = [c.status() for c in ephemeral]
