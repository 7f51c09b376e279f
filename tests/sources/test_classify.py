"""Edge-triggered classification on canned pods: every kind fires, and fires once per transition."""

from __future__ import annotations

import itertools

from host.sources.classify import Derived, PodMemory, classify
from tests.sources.pods import (
    LONG_RUN_CRASH,
    OOM_RECORD,
    POD,
    RUNNING_STATE,
    SECOND_OOM_RECORD,
    SHORT_CRASH,
    Obj,
    variant,
    waiting,
)


def kinds(derived: list[Derived]) -> list[str]:
    return [d.kind for d in derived]


def walk(*states: Obj) -> list[list[Derived]]:
    """Classify a sequence of states of one pod (the first one is the pod appearing)."""
    memory = PodMemory()
    results = [classify(None, states[0], memory)]
    for old, new in itertools.pairwise(states):
        results.append(classify(old, new, memory))
    return results


def test_a_new_pod_is_a_create() -> None:
    assert kinds(classify(None, POD, PodMemory())) == ["pod.create"]


def test_an_update_that_changes_nothing_meaningful_is_skipped() -> None:
    touched = variant("101")
    touched["metadata"]["managedFields"] = [{"manager": "someone-else"}]

    assert classify(POD, touched, PodMemory()) == []


def test_an_update_names_what_changed() -> None:
    relabelled = variant("101", labels={"app": "web", "version": "2"}, phase="Failed")

    (update,) = classify(POD, relabelled, PodMemory())

    assert update.kind == "pod.update"
    assert update.changes == ("phase", "labels")


def test_entering_crash_loop_back_off_fires_crash_loop_with_the_container() -> None:
    crashing = variant(
        "101",
        app_state=waiting("CrashLoopBackOff", "back-off 10s"),
        app_last_state=SHORT_CRASH,
        restarts=3,
        ready=False,
    )

    derived = classify(POD, crashing, PodMemory())

    assert kinds(derived) == ["pod.update", "pod.crashLoop"]
    assert derived[0].changes == ("containerStatuses",)
    assert derived[1] == Derived(
        "pod.crashLoop", container="app", reason="CrashLoopBackOff", message="back-off 10s", restart_count=3
    )


def test_crash_loop_fires_once_across_repeated_identical_updates() -> None:
    crashing = variant("101", app_state=waiting("CrashLoopBackOff"), app_last_state=SHORT_CRASH, restarts=1)

    results = walk(
        POD,
        crashing,
        variant("102", app_state=waiting("CrashLoopBackOff"), app_last_state=SHORT_CRASH, restarts=1),
    )

    assert [kinds(r).count("pod.crashLoop") for r in results] == [0, 1, 0]


def test_crash_loop_fires_once_per_episode_not_once_per_restart() -> None:
    states = [POD]
    for restart in range(1, 5):
        states.append(
            variant(
                str(100 + 2 * restart),
                app_state=waiting("CrashLoopBackOff"),
                app_last_state=SHORT_CRASH,
                restarts=restart,
            )
        )
        states.append(
            variant(
                str(101 + 2 * restart),
                app_state=RUNNING_STATE,
                app_last_state=SHORT_CRASH,
                restarts=restart + 1,
            )
        )

    fired = sum(kinds(r).count("pod.crashLoop") for r in walk(*states))

    assert fired == 1


def test_crash_loop_after_a_long_healthy_run_is_a_new_episode() -> None:
    first = variant("101", app_state=waiting("CrashLoopBackOff"), app_last_state=SHORT_CRASH, restarts=1)
    recovered = variant("102", app_state=RUNNING_STATE, app_last_state=SHORT_CRASH, restarts=2)
    again = variant("103", app_state=waiting("CrashLoopBackOff"), app_last_state=LONG_RUN_CRASH, restarts=3)

    results = walk(POD, first, recovered, again)

    assert [kinds(r).count("pod.crashLoop") for r in results] == [0, 1, 0, 1]


def test_an_init_container_in_crash_loop_is_reported_by_name() -> None:
    crashing = variant("101")
    crashing["status"]["initContainerStatuses"][0]["state"] = waiting("CrashLoopBackOff")

    loops = [d for d in classify(POD, crashing, PodMemory()) if d.kind == "pod.crashLoop"]

    assert [d.container for d in loops] == ["init"]


def test_oom_killed_fires_once_when_the_record_moves_from_state_to_last_state() -> None:
    killed = variant("101", app_state=OOM_RECORD, restarts=0, ready=False)
    restarted = variant("102", app_state=RUNNING_STATE, app_last_state=OOM_RECORD, restarts=1)
    restarted_again_seen = variant(
        "103", app_state=RUNNING_STATE, app_last_state=OOM_RECORD, restarts=1, ready=False
    )
    killed_again = variant("104", app_state=RUNNING_STATE, app_last_state=SECOND_OOM_RECORD, restarts=2)

    results = walk(POD, killed, restarted, restarted_again_seen, killed_again)

    assert [kinds(r).count("pod.oomKilled") for r in results] == [0, 1, 0, 0, 1]
    oom = next(d for d in results[1] if d.kind == "pod.oomKilled")
    assert (oom.container, oom.reason, oom.restart_count) == ("app", "OOMKilled", 0)


def test_oom_records_without_timestamps_are_told_apart_by_the_restart_they_ended() -> None:
    bare = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    killed = variant("101", app_state=bare, restarts=4)
    restarted = variant("102", app_state=RUNNING_STATE, app_last_state=bare, restarts=5)
    killed_again = variant("103", app_state=bare, app_last_state=bare, restarts=5)

    results = walk(POD, killed, restarted, killed_again)

    assert [kinds(r).count("pod.oomKilled") for r in results] == [0, 1, 0, 1]


def test_image_pull_back_off_does_not_refire_when_the_kubelet_flips_reasons() -> None:
    states = [
        POD,
        variant("101", app_state=waiting("ErrImagePull")),
        variant("102", app_state=waiting("ImagePullBackOff")),
        variant("103", app_state=waiting("ErrImagePull")),
        variant("104", app_state=waiting("ImagePullBackOff")),
        variant("105", app_state=RUNNING_STATE),
        variant("106", app_state=waiting("ImagePullBackOff")),
    ]

    results = walk(*states)

    assert [kinds(r).count("pod.imagePullBackOff") for r in results] == [0, 1, 0, 0, 0, 0, 1]
    first = next(d for d in results[1] if d.kind == "pod.imagePullBackOff")
    assert (first.container, first.reason) == ("app", "ErrImagePull")


def test_eviction_fires_once() -> None:
    evicted = variant(
        "101", phase="Failed", status_reason="Evicted", status_message="The node was low on memory."
    )

    results = walk(
        POD,
        evicted,
        variant(
            "102",
            phase="Failed",
            status_reason="Evicted",
            status_message="The node was low on memory.",
            labels={},
        ),
    )

    assert [kinds(r).count("pod.evicted") for r in results] == [0, 1, 0]
    eviction = next(d for d in results[1] if d.kind == "pod.evicted")
    assert (eviction.reason, eviction.message) == ("Evicted", "The node was low on memory.")


def test_a_pod_first_seen_in_trouble_reports_the_trouble_with_its_create() -> None:
    crashing = variant("101", app_state=waiting("CrashLoopBackOff"), app_last_state=OOM_RECORD, restarts=2)

    assert kinds(classify(None, crashing, PodMemory())) == ["pod.create", "pod.crashLoop", "pod.oomKilled"]


def test_delete_comes_last_and_carries_no_update() -> None:
    final = variant(
        "101", app_state={"terminated": {"exitCode": 0, "reason": "Completed"}}, phase="Succeeded"
    )

    assert kinds(classify(POD, final, PodMemory(), deleted=True)) == ["pod.delete"]
