"""core/v1 Events about pods, recorded the way the kubelet and scheduler record them.

A repeat of the same event (same object, field path, type, reason and message) bumps the
existing Event's `count` and `lastTimestamp` instead of creating a new one, as client-go's
event correlator does; that is why a crash-looping container shows `BackOff (x5)`.
"""

from __future__ import annotations

import time
from typing import Any

from host.localcluster import objects
from host.localcluster.kubelet.node_api import NodeApi

Obj = dict[str, Any]
NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    def __init__(self, api: NodeApi, *, node_name: str) -> None:
        self._api = api
        self._node = node_name
        # (pod uid, field path, type, reason, message) -> (namespace, event name, count so far)
        self._seen: dict[tuple[str, str, str, str, str], tuple[str, str, int]] = {}

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
            event_namespace, event_name, count = known
            self._seen[identity] = (event_namespace, event_name, count + 1)
            self._api.update_event_count(event_namespace, event_name, count + 1, stamp)
            return
        name = f"{meta.get('name')}.{time.time_ns():x}"
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
            "metadata": {"name": name, "namespace": namespace},
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
        self._api.create_event(namespace, event)
        self._seen[identity] = (namespace, name, 1)

    def forget(self, pod_uid: str) -> None:
        """Drop correlation state of a pod that is gone."""
        for identity in [i for i in self._seen if i[0] == pod_uid]:
            del self._seen[identity]
