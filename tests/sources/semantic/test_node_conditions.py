"""`node.notReady` and `node.pressure`: edge-triggered, once per episode, primed at the baseline."""

from __future__ import annotations

import itertools

from host.sources.classify import Derived
from host.sources.semantic import node_conditions
from tests.sources.semantic.objects import (
    DISK_PRESSURE,
    KUBELET_NOT_READY,
    MEMORY_PRESSURE,
    NODE,
    STATUS_UNKNOWN,
    Obj,
    cond,
    node_status_conditions,
    node_unknown,
    with_status,
)


def walk(*states: Obj, memory: node_conditions.Memory | None = None) -> list[list[Derived]]:
    memory = memory if memory is not None else node_conditions.Memory()
    results = [node_conditions.classify(None, states[0], memory)]
    results.extend(node_conditions.classify(old, new, memory) for old, new in itertools.pairwise(states))
    return results


def node(version: str, **kwargs: Obj) -> Obj:
    return with_status(NODE, version, conditions=node_status_conditions(**kwargs))


NOT_READY = Derived("node.notReady", reason="KubeletNotReady", message=KUBELET_NOT_READY["message"])
UNKNOWN = Derived("node.notReady", reason="NodeStatusUnknown", message=STATUS_UNKNOWN)


def test_a_ready_node_going_not_ready_fires_once_with_the_ready_conditions_reason() -> None:
    assert walk(NODE, node("701", ready=KUBELET_NOT_READY), node("702", ready=KUBELET_NOT_READY)) == [
        [],
        [NOT_READY],
        [],
    ]


def test_the_node_controller_marking_it_unknown_fires_with_node_status_unknown() -> None:
    silent = with_status(NODE, "701", conditions=node_unknown())

    assert walk(NODE, silent) == [[], [UNKNOWN]]


def test_false_then_unknown_is_one_episode_and_ready_again_ends_it() -> None:
    silent = with_status(NODE, "702", conditions=node_unknown())

    fired = walk(NODE, node("701", ready=KUBELET_NOT_READY), silent, node("703"), silent)

    assert fired == [[], [NOT_READY], [], [], [UNKNOWN]]


def test_a_node_not_ready_at_the_baseline_does_not_fire_until_it_recovered() -> None:
    memory = node_conditions.Memory()
    baseline = node("700", ready=KUBELET_NOT_READY)
    node_conditions.classify(None, baseline, memory)  # baseline: events discarded

    still = node("701", ready=KUBELET_NOT_READY)
    silent = with_status(NODE, "702", conditions=node_unknown())
    assert node_conditions.classify(baseline, still, memory) == []
    assert node_conditions.classify(still, silent, memory) == []
    assert node_conditions.classify(silent, node("703"), memory) == []
    assert node_conditions.classify(node("703"), node("704", ready=KUBELET_NOT_READY), memory) == [NOT_READY]


def test_a_joining_node_that_was_never_ready_does_not_fire() -> None:
    registering = with_status(NODE, "700", conditions=[])

    fired = walk(
        registering, node("701", ready=KUBELET_NOT_READY), node("702"), node("703", ready=KUBELET_NOT_READY)
    )

    assert fired == [[], [], [], [NOT_READY]]


def test_memory_pressure_fires_once_and_again_after_it_cleared() -> None:
    pressured = node("701", memory=MEMORY_PRESSURE)
    message = MEMORY_PRESSURE["message"]

    fired = walk(
        NODE, pressured, node("702", memory=MEMORY_PRESSURE), node("703"), node("704", memory=MEMORY_PRESSURE)
    )

    assert fired == [
        [],
        [Derived("node.pressure", reason="MemoryPressure", message=message)],
        [],
        [],
        [Derived("node.pressure", reason="MemoryPressure", message=message)],
    ]


def test_each_pressure_type_is_its_own_episode() -> None:
    pid = cond("PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")

    fired = walk(
        NODE,
        node("701", memory=MEMORY_PRESSURE),
        node("702", memory=MEMORY_PRESSURE, disk=DISK_PRESSURE),
        node("703", disk=DISK_PRESSURE, pid=pid),
    )

    assert [[d.reason for d in step] for step in fired] == [
        [],
        ["MemoryPressure"],
        ["DiskPressure"],
        ["PIDPressure"],
    ]


def test_unknown_neither_ends_nor_starts_a_pressure_episode() -> None:
    silent = with_status(NODE, "702", conditions=node_unknown())

    fired = walk(NODE, node("701", disk=DISK_PRESSURE), silent, node("703", disk=DISK_PRESSURE))

    assert [[d.reason for d in step] for step in fired] == [[], ["DiskPressure"], ["NodeStatusUnknown"], []]


def test_pressure_at_the_baseline_is_primed_but_pressure_on_a_new_node_fires() -> None:
    memory = node_conditions.Memory()
    baseline = node("700", disk=DISK_PRESSURE)
    node_conditions.classify(None, baseline, memory)
    assert node_conditions.classify(baseline, node("701", disk=DISK_PRESSURE), memory) == []

    assert walk(node("700", disk=DISK_PRESSURE))[0] == [
        Derived("node.pressure", reason="DiskPressure", message="kubelet has disk pressure")
    ]


def test_not_ready_and_pressure_in_one_update_both_fire() -> None:
    both = node("701", ready=KUBELET_NOT_READY, memory=MEMORY_PRESSURE)

    assert [d.kind for d in walk(NODE, both)[1]] == ["node.notReady", "node.pressure"]
