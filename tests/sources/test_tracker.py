"""`PodTracker`: baseline, duplicate suppression, and re-list diffs that lose and repeat nothing."""

from __future__ import annotations

from host.sources.tracker import PodTracker, is_stale
from tests.sources.pods import OOM_RECORD, POD, RUNNING_STATE, SHORT_CRASH, variant, waiting

OTHER = variant("90", uid="uid-other", name="other")
OTHER["metadata"]["namespace"] = "billing"


def kinds(changes: list) -> list[str]:  # type: ignore[type-arg]
    return [derived.kind for derived, *_ in changes]


def test_the_baseline_list_emits_nothing_and_later_changes_do() -> None:
    tracker = PodTracker()

    assert tracker.relist([POD, OTHER], namespace=None, baseline=True) == []
    assert kinds(tracker.apply("MODIFIED", variant("101", labels={"app": "web", "v": "2"}))) == ["pod.update"]


def test_conditions_present_at_baseline_do_not_fire_later() -> None:
    tracker = PodTracker()
    crashing = variant("101", app_state=waiting("CrashLoopBackOff"), app_last_state=OOM_RECORD, restarts=1)
    tracker.relist([crashing], namespace=None, baseline=True)

    running = tracker.apply(
        "MODIFIED", variant("102", app_state=RUNNING_STATE, app_last_state=OOM_RECORD, restarts=2)
    )
    crashing_again = tracker.apply(
        "MODIFIED",
        variant("103", app_state=waiting("CrashLoopBackOff"), app_last_state=SHORT_CRASH, restarts=2),
    )

    assert kinds(running) == ["pod.update"]
    assert kinds(crashing_again) == ["pod.update"]


def test_an_already_seen_or_older_resource_version_is_ignored() -> None:
    tracker = PodTracker()
    tracker.relist([POD], namespace=None, baseline=True)
    newer = variant("105", labels={"x": "1"})

    assert kinds(tracker.apply("MODIFIED", newer)) == ["pod.update"]
    assert tracker.apply("MODIFIED", newer) == []
    assert tracker.apply("MODIFIED", variant("103", labels={"x": "0"})) == []
    assert tracker.ignored_stale == 2


def test_a_relist_reports_missed_creates_updates_and_deletes_once() -> None:
    tracker = PodTracker()
    tracker.relist([POD, variant("95", uid="uid-gone", name="gone")], namespace=None, baseline=True)
    updated = variant("120", app_state=waiting("CrashLoopBackOff"), app_last_state=SHORT_CRASH, restarts=1)
    created = variant("118", uid="uid-new", name="new")

    changes = tracker.relist([updated, created], namespace=None, baseline=False)
    again = tracker.relist([updated, created], namespace=None, baseline=False)

    assert sorted((derived.kind, pod["metadata"]["name"]) for derived, pod, _ in changes) == [
        ("pod.crashLoop", "web-1"),
        ("pod.create", "new"),
        ("pod.delete", "gone"),
        ("pod.update", "web-1"),
    ]
    assert again == []


def test_a_namespace_relist_only_deletes_pods_of_that_namespace() -> None:
    tracker = PodTracker()
    tracker.relist([POD], namespace="shop", baseline=True)
    tracker.relist([OTHER], namespace="billing", baseline=True)

    changes = tracker.relist([], namespace="shop", baseline=False)

    assert [(d.kind, pod["metadata"]["name"]) for d, pod, _ in changes] == [("pod.delete", "web-1")]
    assert tracker.find("billing", "other") is not None
    assert tracker.find("shop", "web-1") is None


def test_a_deleted_pod_reports_its_final_state_and_late_events_are_ignored() -> None:
    tracker = PodTracker()
    tracker.relist([POD], namespace=None, baseline=True)
    final = variant("130", phase="Succeeded")

    deleted = tracker.apply("DELETED", final)
    late = tracker.apply("MODIFIED", variant("131", labels={}))

    assert [(d.kind, pod["metadata"]["resourceVersion"]) for d, pod, _ in deleted] == [("pod.delete", "130")]
    assert late == []
    assert len(tracker) == 0


def test_resource_versions_compare_numerically_when_they_are_numbers() -> None:
    assert is_stale("99", "100")
    assert not is_stale("100", "99")
    assert is_stale("abc", "abc")
    assert not is_stale("abd", "abc")
