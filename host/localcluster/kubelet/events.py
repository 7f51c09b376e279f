"""core/v1 Events about pods, recorded the way the kubelet and scheduler record them.

A repeat of the same event (same object, field path, type, reason and message) bumps the
existing Event's `count` and `lastTimestamp` instead of creating a new one, as client-go's
event correlator does; that is why a crash-looping container shows `BackOff (x5)`.
"""

from __future__ import annotations

import time
from typing import Any

from host.localcluster import objects, resources, status
from host.localcluster.registry import Registry

Obj = dict[str, Any]
NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    def __init__(self, registry: Registry, *, node_name: str) -> None:
        self._registry = registry
        self._node = node_name
        # (pod uid, field path, type, reason, message) -> (event key, event uid)
        self._seen: dict[tuple[str, str, str, str, str], tuple[tuple[str, str], str]] = {}

    def record(
        self,
        pod: Obj,
        type_: str,
        reason: str,
        message: str,
        *,
        field_path: str | None = None,
        component: str = "kubelet",
    ) -> None:
        meta = pod.get("metadata", {})
        namespace = str(meta.get("namespace", "default"))
        uid = str(meta.get("uid", ""))
        identity = (uid, field_path or "", type_, reason, message)
        stamp = objects.now()
        known = self._seen.get(identity)
        if known is not None:
            updated = self._registry.mutate(resources.EVENTS, known[0], known[1], lambda e: _bump(e, stamp))
            if updated is not None:
                return
        involved: dict[str, Any] = {
            "kind": "Pod",
            "namespace": namespace,
            "name": meta.get("name"),
            "uid": uid,
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        event = {
            "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": component, "host": self._node}
            if component == "kubelet"
            else {"component": component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": self._node if component == "kubelet" else "",
        }
        try:
            created = self._registry.create(resources.EVENTS, namespace, event)
        except status.ApiError as exc:
            if exc.code == 404:  # the namespace went away with the pod; nothing to record against
                return
            raise
        self._seen[identity] = ((namespace, str(created.obj["metadata"]["name"])), created.uid)

    def forget(self, pod_uid: str) -> None:
        """Drop correlation state of a pod that is gone."""
        for identity in [i for i in self._seen if i[0] == pod_uid]:
            del self._seen[identity]


def _bump(event: Obj, stamp: str) -> None:
    event["count"] = int(event.get("count") or 1) + 1
    event["lastTimestamp"] = stamp
