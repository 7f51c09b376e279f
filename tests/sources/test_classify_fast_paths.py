"""The classifier's fast paths decide exactly what the plain reading decides.

`changed_keys` skips the readers of a top-level part (status, metadata, spec) that is equal in
both states, and the edge detectors are skipped when the status is unchanged: both must give the
answers of reading every key, on every kind of change.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from host.sources import classify as classify_module
from host.sources.classify import CHANGE_KEYS, PodMemory, changed_keys, classify
from tests.sources.pods import OOM_RECORD, POD, SHORT_CRASH, Obj, variant, waiting


def plainly_changed(old: Obj, new: Obj) -> tuple[str, ...]:
    return tuple(name for name, read in CHANGE_KEYS.items() if read(old) != read(new))


def _set(pod: Obj, path: str, value: object) -> Obj:
    changed = copy.deepcopy(pod)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return changed


MUTATIONS = [
    ("metadata.resourceVersion", "101"),
    ("metadata.labels", {"app": "web", "seq": "1"}),
    ("metadata.annotations", {}),
    ("metadata.deletionTimestamp", "2024-05-01T11:00:00Z"),
    ("status.phase", "Failed"),
    ("status.podIP", "10.0.0.9"),
    ("status.reason", "Evicted"),
    ("status.message", "The node was low on resource: memory."),
    ("status.conditions", [{"type": "Ready", "status": "False"}]),
    ("status.containerStatuses", []),
    ("status.hostIP", "10.1.1.1"),  # read by no key
    ("spec.nodeName", "node-b"),
    ("spec.containers", [{"name": "app", "image": "shop/web:2"}]),
    ("spec.ephemeralContainers", [{"name": "debugger", "image": "wfhost-debug:1"}]),
    ("spec.tolerations", []),  # read by no key
    ("status", "not an object"),
    ("spec", None),
]


def test_every_part_of_the_pod_reads_as_one_section() -> None:
    assert set(classify_module._SECTION_OF) == set(CHANGE_KEYS)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(range(len(MUTATIONS)), 2)))
def test_changed_keys_matches_reading_every_key_for_any_two_changes(first: int, second: int) -> None:
    new = _set(_set(POD, *MUTATIONS[first]), *MUTATIONS[second])
    assert changed_keys(POD, new) == plainly_changed(POD, new)
    assert changed_keys(new, POD) == plainly_changed(new, POD)


def test_conditions_in_another_order_are_no_change_either_way() -> None:
    conditions = [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]
    old = _set(POD, "status.conditions", conditions)
    new = _set(POD, "status.conditions", list(reversed(conditions)))
    assert changed_keys(old, new) == plainly_changed(old, new) == ()


def test_an_update_with_the_same_status_fires_no_edge_but_a_status_change_still_does() -> None:
    memory = PodMemory()
    crashing = variant("101", app_state=waiting("CrashLoopBackOff", "back-off 10s"), app_last_state=SHORT_CRASH,
                       restarts=3, ready=False)
    assert [d.kind for d in classify(POD, crashing, memory)] == ["pod.update", "pod.crashLoop"]
    relabelled = variant("102", labels={"app": "web", "seq": "2"}, base=crashing)
    assert [(d.kind, d.changes) for d in classify(crashing, relabelled, memory)] == [("pod.update", ("labels",))]
    oom = variant("103", app_last_state=OOM_RECORD, restarts=4, base=relabelled)
    assert "pod.oomKilled" in [d.kind for d in classify(relabelled, oom, memory)]
    again = variant("104", labels={"app": "web", "seq": "3"}, base=oom)
    assert [d.kind for d in classify(oom, again, memory)] == ["pod.update"]
