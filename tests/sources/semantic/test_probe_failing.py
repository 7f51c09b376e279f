"""`pod.probeFailing`: from Unhealthy Warning Events, once per episode (injected clock)."""

from __future__ import annotations

import pytest

from host.sources.classify import Derived
from host.sources.semantic.probe_failing import ProbeTracker, container_of, parse_unhealthy, probe_type
from tests.sources.semantic.objects import T0_EPOCH, at, unhealthy

LIVENESS = "Liveness probe failed: HTTP probe failed with statuscode: 500"
READINESS = 'Readiness probe failed: Get "http://10.244.1.7:8080/ready": dial tcp 10.244.1.7:8080: connect: connection refused'


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_first_unhealthy_event_fires_with_container_probe_and_message() -> None:
    tracker = ProbeTracker(600, Clock(T0_EPOCH))

    assert tracker.observe(unhealthy(LIVENESS)) == [
        Derived("pod.probeFailing", container="app", reason="Unhealthy", message=LIVENESS, probe="liveness")
    ]


def test_repeated_failures_within_the_quiet_window_do_not_refire() -> None:
    clock = Clock(T0_EPOCH)
    tracker = ProbeTracker(600, clock)
    assert len(tracker.observe(unhealthy(count=1))) == 1
    for count in range(2, 30):  # every five minutes for over two hours: the throttled kubelet
        clock.now += 300
        assert tracker.observe(unhealthy(count=count, last=at(clock.now - T0_EPOCH))) == []


def test_quiet_for_the_window_ends_the_episode() -> None:
    clock = Clock(T0_EPOCH)
    tracker = ProbeTracker(600, clock)
    tracker.observe(unhealthy())
    clock.now += 599
    assert tracker.observe(unhealthy(count=2)) == []
    clock.now += 600  # 600 s after the last one

    assert len(tracker.observe(unhealthy(count=3))) == 1


def test_each_probe_type_and_container_is_its_own_episode() -> None:
    tracker = ProbeTracker(600, Clock(T0_EPOCH))

    fired = [
        tracker.observe(unhealthy(LIVENESS)),
        tracker.observe(unhealthy(READINESS)),
        tracker.observe(unhealthy(LIVENESS, container="sidecar")),
        tracker.observe(unhealthy(LIVENESS, pod_uid="uid-other-pod")),
        tracker.observe(unhealthy(READINESS)),
    ]

    assert [[(d.container, d.probe) for d in step] for step in fired] == [
        [("app", "liveness")],
        [("app", "readiness")],
        [("sidecar", "liveness")],
        [("app", "liveness")],
        [],
    ]


def test_combined_messages_still_name_their_probe() -> None:
    tracker = ProbeTracker(600, Clock(T0_EPOCH))
    tracker.observe(unhealthy(READINESS))

    combined = f"(combined from similar events): {READINESS.replace('refused', 'reset by peer')}"
    assert tracker.observe(unhealthy(combined)) == []
    assert probe_type(combined) == "readiness"
    assert probe_type("Startup probe errored and resulted in unknown state: rpc error") == "startup"
    assert probe_type("something else") is None


def test_baseline_events_prime_an_ongoing_episode_but_not_an_old_one() -> None:
    clock = Clock(T0_EPOCH + 1000)
    tracker = ProbeTracker(600, clock)
    assert tracker.observe(unhealthy(LIVENESS, count=12, last=at(900)), baseline=True) == []
    assert (
        tracker.observe(unhealthy(READINESS, count=3, last=at(100)), baseline=True) == []
    )  # 900 s ago: over

    assert tracker.observe(unhealthy(LIVENESS, count=13)) == []
    assert len(tracker.observe(unhealthy(READINESS, count=4))) == 1


def test_pods_without_a_uid_are_keyed_by_namespace_and_name() -> None:
    tracker = ProbeTracker(600, Clock(T0_EPOCH))
    failure = parse_unhealthy(unhealthy(pod_uid=None))

    assert failure is not None and failure.key == ("shop/web-5d8f6c-x7k2p", "app", "liveness")
    assert len(tracker.observe(unhealthy(pod_uid=None))) == 1
    assert tracker.observe(unhealthy(pod_uid=None, count=2)) == []


def test_other_events_are_ignored() -> None:
    tracker = ProbeTracker(600, Clock(T0_EPOCH))
    back_off = unhealthy()
    back_off["reason"] = "BackOff"
    normal = unhealthy()
    normal["type"] = "Normal"
    about_a_node = unhealthy()
    about_a_node["involvedObject"] = {"kind": "Node", "name": "node-a", "uid": "uid-node-a"}

    assert [tracker.observe(e) for e in (back_off, normal, about_a_node)] == [[], [], []]
    assert len(tracker) == 0


def test_field_paths() -> None:
    assert container_of("spec.containers{app}") == "app"
    assert container_of("spec.initContainers{istio-proxy}") == "istio-proxy"
    assert container_of("") is None
    assert container_of(None) is None


def test_memory_is_bounded_and_ended_episodes_are_dropped() -> None:
    clock = Clock(T0_EPOCH)
    tracker = ProbeTracker(600, clock, max_episodes=10)
    for index in range(50):
        tracker.observe(unhealthy(pod_uid=f"pod-{index}"))
    assert len(tracker) == 10
    # The oldest were dropped: pod-0 fires again (a bounded cost), the newest does not.
    assert len(tracker.observe(unhealthy(pod_uid="pod-0"))) == 1
    assert tracker.observe(unhealthy(pod_uid="pod-49")) == []

    clock.now += 600
    tracker.observe(unhealthy(pod_uid="fresh"))
    assert len(tracker) == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="quiet_seconds"):
        ProbeTracker(0)
    with pytest.raises(ValueError, match="max_episodes"):
        ProbeTracker(600, max_episodes=0)
