"""Kubernetes objects with fields removed, nulled or of the wrong type, through every source's
digest as `SourceManager` builds it (pods with their semantic classifiers and the pending timer,
Warning Events with the probe tracker, Jobs, Nodes, Deployments and a custom resource with theirs).
No exception escapes a digest; the events it does produce are valid; and after the odd object a
well-formed change of another object still gives its event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from host.model.events import Event
from host.model.resources import DEPLOYMENTS, JOBS, NODES, Resource
from host.sources.changes import ChangeClassifier
from host.sources.hooks import ModuleClassifier, semantic_for
from host.sources.k8s_events import WarningDigest
from host.sources.objects import ObjectDigest
from host.sources.pods import PodDigest
from host.sources.semantic import container_config
from host.sources.semantic.pod_pending import PendingTracker
from host.sources.semantic.probe_failing import ProbeTracker
from host.sources.tracker import PodTracker

pytestmark = pytest.mark.timeout(300)
Obj = dict[str, Any]
NOW = "2026-12-03T10:00:00Z"


def meta(name: str, uid: str, rv: str = "1", **extra: Any) -> Obj:
    return {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": rv, "labels": {"app": "web"},
            "creationTimestamp": NOW, "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "uid": "rs"}],
            **extra}


def crashing_pod(name: str, uid: str, restarts: int = 4) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta(name, uid),
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1",
                                                   "resources": {"limits": {"memory": "64Mi"}}}]},
        "status": {
            "phase": "Running", "startTime": NOW, "podIP": "10.0.0.1",
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": NOW}],
            "containerStatuses": [{
                "name": "app", "image": "web:1", "imageID": "", "ready": False, "restartCount": restarts,
                "started": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": NOW,
                                             "finishedAt": NOW}},
            }],
        },
    }


def warning(name: str, uid: str) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Event", "metadata": meta(name, uid), "type": "Warning", "reason": "Unhealthy",
        "message": "Liveness probe failed: HTTP probe failed with statuscode: 500", "count": 3,
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-0", "uid": "p0",
                           "fieldPath": "spec.containers{app}"},
        "firstTimestamp": NOW, "lastTimestamp": NOW, "source": {"component": "kubelet", "host": "n1"},
    }


def job(name: str, uid: str) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name, uid),
            "spec": {"backoffLimit": 2, "template": {"spec": {"containers": [{"name": "j", "image": "j:1"}]}}},
            "status": {"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                    "message": "Job has reached the specified backoff limit",
                                                    "lastTransitionTime": NOW}]}}


def node(name: str, uid: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {**meta(name, uid), "namespace": None},
            "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "lastTransitionTime": NOW},
                {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory",
                 "lastTransitionTime": NOW}]}}


def deployment(name: str, uid: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {**meta(name, uid), "generation": 2},
            "spec": {"replicas": 3, "progressDeadlineSeconds": 60},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2,
                       "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                       "message": "ReplicaSet web-2 has timed out progressing.",
                                       "lastTransitionTime": NOW}]}}


def widget(name: str, uid: str) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta(name, uid),
            "spec": {"size": 3}, "status": {"phase": "Broken", "conditions": [{"type": "Ready", "status": "False"}]}}


def pod_digest() -> PodDigest:
    return PodDigest(PodTracker([ChangeClassifier(), ModuleClassifier(container_config)]),
                     timers=[PendingTracker(0.0)])


def warning_digest() -> WarningDigest:
    return WarningDigest(pods=lambda: None, extra=[ProbeTracker()])


WIDGETS = Resource("example.com", "v1", "Widget", "widgets", namespaced=True)  # a custom resource


def object_digest(resource: Resource) -> Callable[[], ObjectDigest]:
    return lambda: ObjectDigest(resource, [ChangeClassifier(), *semantic_for(resource)])


FEEDS: dict[str, tuple[Callable[[str, str], Obj], Callable[[], Any]]] = {
    "pod": (crashing_pod, pod_digest),
    "warning": (warning, warning_digest),
    "job": (job, object_digest(JOBS)),
    "node": (node, object_digest(NODES)),
    "deployment": (deployment, object_digest(DEPLOYMENTS)),
    "widget": (widget, object_digest(WIDGETS)),
}


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list index path inside `doc`."""
    found: list[tuple[Any, ...]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        found.append((*prefix, key))
        found += paths(value, (*prefix, key))
    return found


ODD = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False), st.text(max_size=20),
                st.just([]), st.just({}), st.just([None]), st.just({"": None}), st.just("2026-99-99T99:99:99Z"),
                st.just([{"name": None}]), st.lists(st.integers(), max_size=2))


@st.composite
def hostile(draw: st.DrawFn, make: Callable[[str, str], Obj]) -> Obj:
    """A well-formed object with one to four of its fields removed or replaced by an odd value."""
    doc = make("odd", "u-odd")
    for _ in range(draw(st.integers(1, 4))):
        where = paths(doc)
        if not where:
            break
        path = draw(st.sampled_from(where))
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        if draw(st.booleans()):
            node.pop(path[-1])  # a key of a mapping or an index of a list
        else:
            node[path[-1]] = copy.deepcopy(draw(ODD))  # st.just hands out one object
    return doc


def check(events: list[Event]) -> None:
    for event in events:
        assert isinstance(event, Event)
        event.wire()  # what goes to a workflow: it serializes


@pytest.mark.parametrize("feed", sorted(FEEDS))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_an_odd_object_never_breaks_a_digest_and_the_next_good_one_still_counts(feed: str, data: st.DataObject) -> None:
    make, build = FEEDS[feed]
    digest = build()
    check(digest.relist([make("base", "u-base")], namespace=None, baseline=True))
    odd = data.draw(hostile(make), label="odd")
    with capture_logs() as logs:
        for kind in data.draw(st.lists(st.sampled_from(["ADDED", "MODIFIED", "MODIFIED", "DELETED"]), min_size=1,
                                       max_size=3), label="kinds"):
            check(digest.apply(kind, copy.deepcopy(odd)))
        check(digest.tick(0.0))
        check(digest.relist([make("base", "u-base"), copy.deepcopy(odd)], namespace=None, baseline=False))
    # Read, not merely survived: the guard of host/sources/guard.py was not needed.
    assert [e for e in logs if e["event"] == "source.object_unreadable"] == []
    # A well-formed object after it: its creation is still seen, with its own subject.
    fresh = make("fresh", "u-fresh")
    produced = digest.apply("ADDED", fresh)
    check(produced)
    assert produced, f"{feed}: a well-formed ADDED gave no event after an odd object"


class Unreadable(Exception):
    pass


class Breaks:
    """A classifier that cannot read one object (what nobody foresaw: the guard's case)."""

    def memory(self) -> None:
        return None

    def classify(self, old: Obj | None, new: Obj, memory: None, *, deleted: bool) -> list[Any]:
        if new["metadata"]["name"] == "odd":
            raise Unreadable("cannot read this one")
        return []


def test_a_digest_step_that_raises_is_logged_naming_the_object_and_the_next_object_still_counts() -> None:
    digest = PodDigest(PodTracker([ChangeClassifier(), Breaks()]))
    digest.relist([], namespace=None, baseline=True)
    with capture_logs() as logs:
        assert digest.apply("ADDED", crashing_pod("odd", "u-odd")) == []
    (line,) = [e for e in logs if e["event"] == "source.object_unreadable"]
    assert (line["resource"], line["step"], line["namespace"], line["name"]) == ("v1/Pod", "ADDED", "shop", "odd")
    assert line["error"] == "Unreadable: cannot read this one"
    kinds = {e.kind for e in digest.apply("ADDED", crashing_pod("fresh", "u-fresh"))}
    assert kinds >= {"pod.create", "pod.crashLoop", "pod.oomKilled"}
