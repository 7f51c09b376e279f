"""What the kubelet needs from a control plane, and nothing more: the narrow interface between them.

The kubelet follows the pods bound to its node, writes their status, finishes their graceful
deletion, records Events and keeps its Node and node Lease fresh. Two implementations:
`local_api.RegistryNodeApi` (in-process, the builtin stand-in: writes go straight to its
registry and it also plays the scheduler's binding step) and `remote_api.HttpNodeApi` (a client
of any API server over HTTPS, as the node's own identity `system:node:NAME`).

Every write method returns at once: the in-process implementation applies it synchronously, the
HTTP one queues it for an ordered writer task (status writes coalesced per pod), as a real
kubelet's status manager does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from host.localcluster.store import Key, Stored

Obj = dict[str, Any]
PodListener = Callable[[Key], None]


class NodeApi(Protocol):
    """The control plane as the kubelet sees it."""

    @property
    def schedules(self) -> bool:
        """True when the kubelet must bind unbound pods itself (no scheduler runs)."""
        ...

    async def start(self, on_pod: PodListener) -> None:
        """Begin following pods; `on_pod(key)` is called (on the loop) whenever one changes."""
        ...

    async def stop(self) -> None:
        """Stop following pods and flush pending writes within a bounded time."""
        ...

    def pod(self, key: Key) -> Stored | None:
        """The newest known version of a pod, or None when it is gone."""
        ...

    def pod_keys(self) -> list[Key]:
        """Every pod currently known."""
        ...

    def write_pod_status(self, key: Key, uid: str, apply: Callable[[Obj], None]) -> Stored | None:
        """Apply `apply` to the newest pod and write its status; the stored result when known at once."""
        ...

    def finish_pod_deletion(self, key: Key, uid: str) -> None:
        """Every container is stopped and the terminal status written: delete the pod now (grace 0)."""
        ...

    def bind_pod(self, key: Key, stored: Stored, node_name: str) -> Stored | None:
        """Bind an unbound pod to `node_name` (only where `schedules`): the pod as written, bound or
        marked unschedulable (PodScheduled False), or None when nothing was written."""
        ...

    def create_event(self, namespace: str, event: Obj) -> None:
        """Create a core/v1 Event (its name chosen by the caller)."""
        ...

    def update_event_count(self, namespace: str, name: str, count: int, stamp: str) -> None:
        """A repeat of a recorded Event: set its count and lastTimestamp."""
        ...

    def register_node(self, node: Obj) -> None:
        """Create the Node (or adopt an existing one) and write its status."""
        ...

    def heartbeat(self, node_name: str, lease: Obj, conditions: list[Obj]) -> None:
        """Renew the node Lease in kube-node-lease and refresh the node's conditions (Ready among them)."""
        ...
