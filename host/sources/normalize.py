"""Raw Kubernetes objects -> the normalized shapes workflows receive (docs/protocol.md, "Event").

Workflows see a small, stable `Pod` and `K8sEvent` instead of the API server's full objects: the
shape does not change with the cluster version, and it keeps events small on the wire. The one
annotation dropped is kubectl's `last-applied-configuration` (a copy of the whole manifest).
"""

from __future__ import annotations

from typing import Any

from host.model.events import Subject

DROPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})

Obj = dict[str, Any]


def _dict(value: object) -> Obj:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    """A string, else None: what a name, namespace, uid, reason or message may be."""
    return value if isinstance(value, str) else None


def _count(value: object) -> int:
    """A non-negative integer, else 0 (a count the API server would never send otherwise)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _list(value: object) -> list[Obj]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def normalize_state(state: object) -> Obj:
    """A container state as `{running: {startedAt}} | {waiting: {...}} | {terminated: {...}}` or `{}`."""
    state = _dict(state)
    if "terminated" in state and isinstance(state["terminated"], dict):
        t = state["terminated"]
        terminated: Obj = {
            "exitCode": t.get("exitCode"),
            "reason": t.get("reason"),
            "startedAt": t.get("startedAt"),
            "finishedAt": t.get("finishedAt"),
        }
        if t.get("signal") is not None:
            terminated["signal"] = t["signal"]
        return {"terminated": terminated}
    if "waiting" in state and isinstance(state["waiting"], dict):
        w = state["waiting"]
        return {"waiting": {"reason": w.get("reason"), "message": w.get("message")}}
    if "running" in state and isinstance(state["running"], dict):
        return {"running": {"startedAt": state["running"].get("startedAt")}}
    return {}


def normalize_container_status(status: Obj) -> Obj:
    return {
        "name": status.get("name"),
        "ready": bool(status.get("ready", False)),
        "restartCount": _count(status.get("restartCount")),
        "image": status.get("image"),
        "state": normalize_state(status.get("state")),
        "lastState": normalize_state(status.get("lastState")),
    }


def normalize_pod(pod: Obj) -> Obj:
    """The protocol's `Pod` from a raw pod object."""
    meta = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    annotations = {k: v for k, v in _dict(meta.get("annotations")).items() if k not in DROPPED_ANNOTATIONS}
    normalized: Obj = {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "node": spec.get("nodeName"),
        "phase": status.get("phase"),
        "labels": dict(_dict(meta.get("labels"))),
        "annotations": annotations,
        "containers": [
            {"name": c.get("name"), "image": c.get("image")} for c in _list(spec.get("containers"))
        ],
        "containerStatuses": [normalize_container_status(s) for s in _list(status.get("containerStatuses"))],
    }
    for key in ("reason", "message", "startTime"):
        if status.get(key) is not None:
            normalized[key] = status[key]
    return normalized


def pod_subject(pod: Obj) -> Subject:
    meta = _dict(pod.get("metadata"))
    return Subject(
        kind="Pod", namespace=_text(meta.get("namespace")), name=_text(meta.get("name")) or "",
        uid=_text(meta.get("uid")),
    )


def event_count(event: Obj) -> int:
    """How many times an Event occurred: `count`, else `series.count`, else once."""
    count = event.get("count")
    if isinstance(count, int) and count > 0:
        return count
    series_count = _dict(event.get("series")).get("count")
    if isinstance(series_count, int) and series_count > 0:
        return series_count
    return 1


def normalize_k8s_event(event: Obj) -> Obj:
    """The protocol's `K8sEvent` from a raw core/v1 Event (newer fields used as fallbacks)."""
    meta = _dict(event.get("metadata"))
    involved = _dict(event.get("involvedObject"))
    series = _dict(event.get("series"))
    first = event.get("firstTimestamp") or event.get("eventTime") or meta.get("creationTimestamp")
    last = event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime") or first
    involved_object: Obj = {
        "kind": involved.get("kind"),
        "namespace": involved.get("namespace"),
        "name": involved.get("name"),
    }
    if involved.get("uid"):
        involved_object["uid"] = involved["uid"]
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "type": _text(event.get("type")),
        "reason": _text(event.get("reason")),
        "message": _text(event.get("message")),
        "count": event_count(event),
        "firstTimestamp": first,
        "lastTimestamp": last,
        "involvedObject": involved_object,
    }


def involved_subject(event: Obj) -> Subject | None:
    """The object an Event is about, as a `Subject` (None when the Event names none)."""
    involved = _dict(event.get("involvedObject"))
    name = _text(involved.get("name"))
    if not name:
        return None
    return Subject(
        kind=_text(involved.get("kind")) or "Unknown",
        namespace=_text(involved.get("namespace")) or None,  # None for cluster-scoped objects (nodes)
        name=name,
        uid=_text(involved.get("uid")) or None,
    )
