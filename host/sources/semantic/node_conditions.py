"""`node.notReady` and `node.pressure`: a v1 Node's `Ready` and pressure conditions.

`node.notReady` — **episode**: from the moment `Ready` is `False` (the kubelet says it is not
ready: `KubeletNotReady`, e.g. the container runtime or the network plugin is down) or `Unknown`
(the node controller stopped hearing from the kubelet: `NodeStatusUnknown`, "Kubelet stopped
posting node status.") until `Ready` is `True` again. It fires only when the node was last seen
`Ready=True`: `False` -> `Unknown` (or back) is the same episode, and a node that has not been
ready since we know it does not fire — a node joining the cluster reports `KubeletNotReady` until
its network plugin is up, which is not an outage (it fires once it has been ready and then is
not). A node first seen not ready at the baseline is therefore not reported on its next update;
only after it has recovered. A missing `Ready` condition (a node registering) changes nothing.

`node.pressure` — **episode**, per condition type (`MemoryPressure`, `DiskPressure`,
`PIDPressure`, each its own): from the condition turning `True` until it is `False` again.
`Unknown` (the node controller marks every condition `Unknown` when the kubelet goes silent)
neither starts nor ends an episode: pressure that is still there when the kubelet comes back is not
reported twice. A condition already `True` when first seen fires, except at the baseline (whose
events are discarded, so it primes the memory).

`Derived`: notReady — `reason` = the `Ready` condition's reason, `message` = its message; pressure
— `reason` = the condition type (e.g. `MemoryPressure`), `message` = the condition's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, condition, text

READY = "Ready"
PRESSURE_TYPES = ("MemoryPressure", "DiskPressure", "PIDPressure")


@dataclass
class Memory:
    """Per Node: the last `Ready` seen (True, False for False/Unknown, None before any) and the
    pressure types in an episode."""

    ready: bool | None = None
    pressure: set[str] = field(default_factory=set)


def classify(old: Obj | None, new: Obj, memory: Memory, *, deleted: bool = False) -> list[Derived]:
    """The node's new episodes in the transition to `new` (old None: the node is new to us)."""
    found: list[Derived] = []
    ready = condition(new, READY)
    status = ready.get("status") if ready is not None else None
    if ready is not None and status == "True":
        memory.ready = True
    elif ready is not None and status in ("False", "Unknown"):
        if memory.ready is True:
            found.append(
                Derived("node.notReady", reason=text(ready.get("reason")), message=text(ready.get("message")))
            )
        memory.ready = False
    for kind in PRESSURE_TYPES:
        pressure = condition(new, kind)
        status = pressure.get("status") if pressure is not None else None
        if pressure is not None and status == "True":
            if kind not in memory.pressure:
                memory.pressure.add(kind)
                found.append(Derived("node.pressure", reason=kind, message=text(pressure.get("message"))))
        elif status == "False":
            memory.pressure.discard(kind)
    return found
