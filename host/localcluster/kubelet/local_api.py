"""`NodeApi` inside the builtin stand-in: reads and writes its registry directly, synchronously."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from host.localcluster import objects, resources, status
from host.localcluster.kubelet.node_api import Obj, PodListener
from host.localcluster.registry import Registry
from host.localcluster.store import Change, Key, Stored

# kube-scheduler's words for a pod whose only node is cordoned.
UNSCHEDULABLE = (
    "0/1 nodes are available: 1 node(s) were unschedulable. "
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)


def _set_pod_scheduled(pod: dict[str, Any], condition: dict[str, Any]) -> None:
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "lastProbeTime": None, **condition})


class RegistryNodeApi:
    """The builtin control plane, seen by its kubelet. No scheduler runs there, so it binds."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def schedules(self) -> bool:
        return True

    async def start(self, on_pod: PodListener) -> None:
        loop = asyncio.get_running_loop()

        def changed(change: Change) -> None:
            loop.call_soon(on_pod, change.key)

        def node_changed(_: Change) -> None:
            # Uncordoned (or otherwise changed): pods left unbound get another chance.
            for key, stored in self._registry.store.items(resources.PODS.store_key):
                if not stored.obj.get("spec", {}).get("nodeName"):
                    loop.call_soon(on_pod, key)

        stop_pods = self._registry.store.subscribe(resources.PODS.store_key, changed)
        stop_nodes = self._registry.store.subscribe(resources.NODES.store_key, node_changed)

        def unsubscribe() -> None:
            stop_pods()
            stop_nodes()

        self._unsubscribe = unsubscribe

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def pod(self, key: Key) -> Stored | None:
        return self._registry.store.get(resources.PODS.store_key, key)

    def pod_keys(self) -> list[Key]:
        return [key for key, _ in self._registry.store.items(resources.PODS.store_key)]

    def write_pod_status(self, key: Key, uid: str, apply: Callable[[Obj], None]) -> Stored | None:
        return self._registry.mutate(resources.PODS, key, uid, apply)

    def finish_pod_deletion(self, key: Key, uid: str) -> None:
        self._registry.finish_graceful_delete(key, uid)

    def bind_pod(self, key: Key, stored: Stored, node_name: str) -> Stored | None:
        """Bind as kube-scheduler would. A cordoned node leaves the pod Pending: the answer is then
        the pod with `PodScheduled=False` (Unschedulable), or None when it already said so."""
        stamp = objects.now()
        node = self._registry.store.get(resources.NODES.store_key, ("", node_name))
        if node is not None and node.obj.get("spec", {}).get("unschedulable"):
            return self._unschedulable(key, stored, stamp)

        def bind(pod: dict[str, Any]) -> None:
            pod["spec"]["nodeName"] = node_name
            _set_pod_scheduled(pod, {"status": "True", "lastTransitionTime": stamp})

        return self._registry.mutate(resources.PODS, key, stored.uid, bind)

    def _unschedulable(self, key: Key, stored: Stored, stamp: str) -> Stored | None:
        conditions = stored.obj.get("status", {}).get("conditions") or []
        if any(c.get("type") == "PodScheduled" and c.get("message") == UNSCHEDULABLE for c in conditions):
            return None  # said already; writing it again would wake this pod's reconcile for ever

        def pending(pod: dict[str, Any]) -> None:
            condition = {"status": "False", "reason": "Unschedulable", "message": UNSCHEDULABLE}
            _set_pod_scheduled(pod, {**condition, "lastTransitionTime": stamp})

        return self._registry.mutate(resources.PODS, key, stored.uid, pending)

    def create_event(self, namespace: str, event: Obj) -> None:
        try:
            self._registry.create(resources.EVENTS, namespace, event)
        except status.ApiError as exc:
            if exc.code in (404, 409):  # the namespace went away with the pod, or a duplicate name
                return
            raise

    def update_event_count(self, namespace: str, name: str, count: int, stamp: str) -> None:
        current = self._registry.store.get(resources.EVENTS.store_key, (namespace, name))
        if current is None:
            return

        def bump(event: Obj) -> None:
            event["count"] = count
            event["lastTimestamp"] = stamp

        self._registry.mutate(resources.EVENTS, (namespace, name), current.uid, bump)

    def register_node(self, node: Obj) -> None:
        name = str(node["metadata"]["name"])
        if self._registry.store.get(resources.NODES.store_key, ("", name)) is None:
            self._registry.create(resources.NODES, None, node)

    def heartbeat(self, node_name: str, lease: Obj, conditions: list[Obj]) -> None:
        key = ("kube-node-lease", node_name)
        current = self._registry.store.get(resources.LEASES.store_key, key)
        if current is None:
            try:
                self._registry.create(resources.LEASES, "kube-node-lease", lease)
            except status.ApiError as exc:
                if exc.code not in (404, 409):
                    raise
        else:
            self._registry.mutate(
                resources.LEASES, key, current.uid, lambda obj: obj.__setitem__("spec", lease["spec"])
            )
        node = self._registry.store.get(resources.NODES.store_key, ("", node_name))
        if node is not None:
            self._registry.mutate(
                resources.NODES, ("", node_name), node.uid, lambda obj: _set_conditions(obj, conditions)
            )


def _set_conditions(node: Obj, conditions: list[Obj]) -> None:
    status = node.setdefault("status", {})
    status["conditions"] = merge_conditions(status.get("conditions") or [], conditions)


def merge_conditions(existing: list[Obj], fresh: list[Obj]) -> list[Obj]:
    """`fresh` replaces conditions of the same type; a condition whose status did not change keeps
    its lastTransitionTime; conditions of other types are kept."""
    by_type = {str(c.get("type")): c for c in existing if isinstance(c, dict)}
    merged: list[Obj] = []
    for condition in fresh:
        old = by_type.pop(str(condition["type"]), None)
        if old is not None and old.get("status") == condition["status"] and old.get("lastTransitionTime"):
            condition = {**condition, "lastTransitionTime": old["lastTransitionTime"]}
        merged.append(condition)
    return [*merged, *by_type.values()]
