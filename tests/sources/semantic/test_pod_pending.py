"""`pod.pending`: reported once when a pod stayed unschedulable past the threshold (injected clock)."""

from __future__ import annotations

import copy

import pytest

from host.config import parse_config
from host.errors import ConfigError
from host.sources.classify import Derived
from host.sources.semantic.pod_pending import PendingTracker
from tests.sources.semantic.objects import (
    T0_EPOCH,
    UNSCHEDULABLE_MESSAGE,
    Obj,
    at,
    pending_pod,
    scheduled_pod,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


PENDING = Derived("pod.pending", reason="Unschedulable", message=UNSCHEDULABLE_MESSAGE)


def uids(found: list[tuple[Derived, Obj]]) -> list[str]:
    return [pod["metadata"]["uid"] for _, pod in found]


def test_a_pod_pending_past_the_threshold_is_reported_once() -> None:
    clock = Clock(T0_EPOCH + 5)
    tracker = PendingTracker(60, clock)
    pod = pending_pod("a", since=at(5))
    tracker.observe(pod)

    assert tracker.due(T0_EPOCH + 64) == []
    assert tracker.next_due() == T0_EPOCH + 65
    assert tracker.due(T0_EPOCH + 65) == [(PENDING, pod)]
    tracker.observe(copy.deepcopy(pod))
    assert tracker.due(T0_EPOCH + 1000) == []
    assert tracker.next_due() is None


def test_the_report_carries_the_latest_scheduler_message() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH))
    tracker.observe(pending_pod("a"))
    later = pending_pod("a", message="0/4 nodes are available: 4 Insufficient memory.")
    tracker.observe(later)

    ((derived, pod),) = tracker.due(T0_EPOCH + 60)

    assert (derived.message, pod) == ("0/4 nodes are available: 4 Insufficient memory.", later)


def test_a_pod_scheduled_before_the_threshold_is_never_reported() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH))
    pod = pending_pod("a")
    tracker.observe(pod)
    tracker.observe(scheduled_pod(pod))

    assert tracker.due(T0_EPOCH + 3600) == []
    assert len(tracker) == 0


def test_a_deleted_pod_is_forgotten() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH))
    tracker.observe(pending_pod("a"))
    tracker.observe(pending_pod("b"))
    tracker.forget("a")
    deleting = pending_pod("c")
    deleting["metadata"]["deletionTimestamp"] = at(10)
    tracker.observe(pending_pod("c"))
    tracker.observe(deleting)

    assert uids(tracker.due(T0_EPOCH + 60)) == ["b"]


def test_a_pod_already_pending_at_host_start_counts_from_its_last_transition_time() -> None:
    clock = Clock(T0_EPOCH + 3600)  # the host starts an hour after the pod became unschedulable
    tracker = PendingTracker(60, clock)
    tracker.observe(pending_pod("old", since=at(0)))
    tracker.observe(pending_pod("recent", since=at(3590)))

    assert uids(tracker.due()) == ["old"]
    clock.now += 49
    assert tracker.due() == []
    clock.now += 1
    assert uids(tracker.due()) == ["recent"]


def test_without_a_usable_transition_time_the_clock_starts_now() -> None:
    clock = Clock(T0_EPOCH + 100)
    tracker = PendingTracker(60, clock)
    tracker.observe(pending_pod("none", since=None))
    tracker.observe(pending_pod("garbage", since="yesterday"))
    tracker.observe(pending_pod("future", since=at(5000)))  # clock skew: never later than now

    assert tracker.due(T0_EPOCH + 159) == []
    assert uids(tracker.due(T0_EPOCH + 160)) == ["none", "garbage", "future"]


def test_a_gated_pod_starts_its_clock_when_the_gates_are_lifted() -> None:
    clock = Clock(T0_EPOCH)
    tracker = PendingTracker(60, clock)
    gated = pending_pod(
        "a", reason="SchedulingGated", message="Scheduling is blocked due to non-empty scheduling gates"
    )
    tracker.observe(gated)
    clock.now += 3600
    assert tracker.due() == []
    # The scheduler keeps the condition's lastTransitionTime (still False): it is not when waiting began.
    tracker.observe(pending_pod("a", since=at(0)))

    assert tracker.due(T0_EPOCH + 3659) == []
    assert uids(tracker.due(T0_EPOCH + 3660)) == ["a"]


def test_a_zero_threshold_reports_at_the_next_due() -> None:
    tracker = PendingTracker(0, Clock(T0_EPOCH + 10))
    tracker.observe(pending_pod("a", since=None))

    assert uids(tracker.due()) == ["a"]


def test_scheduler_errors_count_as_pending_with_their_reason() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH))
    tracker.observe(
        pending_pod("a", reason="SchedulerError", message='running PreBind plugin "VolumeBinding": timed out')
    )

    ((derived, _),) = tracker.due(T0_EPOCH + 60)

    assert derived.reason == "SchedulerError"


def test_memory_is_bounded_dropping_the_oldest() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH), max_pods=3)
    for name in "abcde":
        tracker.observe(pending_pod(name))

    assert len(tracker) == 3
    assert uids(tracker.due(T0_EPOCH + 60)) == ["c", "d", "e"]


def test_the_deadline_heap_stays_bounded_under_churn() -> None:
    tracker = PendingTracker(60, Clock(T0_EPOCH))
    for index in range(1000):
        pod = pending_pod(f"p{index}")
        tracker.observe(pod)
        tracker.observe(scheduled_pod(pod))

    assert len(tracker) == 0
    assert len(tracker._deadlines) <= 64 + 1
    assert tracker.next_due() is None


def test_running_and_bound_pods_are_not_tracked() -> None:
    tracker = PendingTracker(0, Clock(T0_EPOCH))
    bound = scheduled_pod(pending_pod("a"))
    no_condition = pending_pod("b")
    no_condition["status"]["conditions"] = []
    tracker.observe(bound)
    tracker.observe(no_condition)
    tracker.observe({"metadata": {}})

    assert tracker.due() == []
    assert len(tracker) == 0


def test_the_threshold_is_a_triggers_setting() -> None:
    assert parse_config({}).triggers.pod_pending_seconds == 60
    assert parse_config({"triggers": {"podPendingSeconds": 300}}).triggers.pod_pending_seconds == 300
    with pytest.raises(ConfigError, match=r"triggers\.podPendingSeconds"):
        parse_config({"triggers": {"podPendingSeconds": -1}})
    with pytest.raises(ValueError, match="threshold_seconds"):
        PendingTracker(-1)
