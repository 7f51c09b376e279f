"""`deployment.rolloutStuck`: once per stuck episode, generation-aware, primed at the baseline."""

from __future__ import annotations

import copy
import itertools

from host.sources.classify import Derived
from host.sources.semantic import rollout_stuck
from tests.sources.semantic.objects import DEPLOYMENT, STUCK, STUCK_MESSAGE, Obj, progressing, with_status


def walk(*states: Obj, memory: rollout_stuck.Memory | None = None) -> list[list[Derived]]:
    memory = memory if memory is not None else rollout_stuck.Memory()
    results = [rollout_stuck.classify(None, states[0], memory)]
    results.extend(rollout_stuck.classify(old, new, memory) for old, new in itertools.pairwise(states))
    return results


def state(version: str, conditions: list[Obj], *, generation: int = 2, observed: int = 2) -> Obj:
    new = with_status(DEPLOYMENT, version, conditions=conditions, observedGeneration=observed)
    new["metadata"]["generation"] = generation
    return new


FIRED = [Derived("deployment.rolloutStuck", reason="ProgressDeadlineExceeded", message=STUCK_MESSAGE)]
PROGRESS = progressing("True", "ReplicaSetUpdated", 'ReplicaSet "web-5d8f6c" is progressing.', 700)
COMPLETE = progressing(
    "True", "NewReplicaSetAvailable", 'ReplicaSet "web-5d8f6c" has successfully progressed.', 800
)


def test_exceeding_the_progress_deadline_fires_once_through_resyncs() -> None:
    resync = state("802", copy.deepcopy(STUCK))
    resync["status"]["conditions"][1]["lastUpdateTime"] = "2024-05-01T10:20:00Z"

    assert walk(DEPLOYMENT, state("801", STUCK), resync, state("803", STUCK)) == [[], FIRED, [], []]


def test_progress_ends_the_episode_and_a_new_timeout_fires_again() -> None:
    fired = walk(DEPLOYMENT, state("801", STUCK), state("802", PROGRESS), state("803", STUCK))

    assert fired == [[], FIRED, [], FIRED]


def test_a_new_generation_whose_rollout_also_times_out_is_a_new_episode() -> None:
    created = progressing("True", "NewReplicaSetCreated", 'Created new replica set "web-6f7d9b"', 900)
    message = 'ReplicaSet "web-6f7d9b" has timed out progressing.'
    stuck_again = progressing("False", "ProgressDeadlineExceeded", message, 1500)

    fired = walk(
        DEPLOYMENT,
        state("801", STUCK),
        state("802", STUCK, generation=3, observed=2),  # the user edits; the controller has not caught up
        state("803", created, generation=3, observed=3),
        state("804", stuck_again, generation=3, observed=3),
    )

    assert fired == [
        [],
        FIRED,
        [],
        [],
        [Derived("deployment.rolloutStuck", reason="ProgressDeadlineExceeded", message=message)],
    ]


def test_a_spec_change_that_starts_no_rollout_keeps_the_episode() -> None:
    fired = walk(
        DEPLOYMENT,
        state("801", STUCK),
        state("802", STUCK, generation=3, observed=2),
        state("803", STUCK, generation=3, observed=3),
    )

    assert fired == [[], FIRED, [], []]


def test_a_stuck_condition_for_an_older_generation_waits_for_the_controller() -> None:
    stale = state("801", STUCK, generation=3, observed=2)

    assert walk(stale, state("802", STUCK, generation=3, observed=3)) == [[], FIRED]
    assert walk(
        DEPLOYMENT,
        stale,
        state("802", progressing("True", "NewReplicaSetCreated", "Created", 900), generation=3, observed=3),
    ) == [[], [], []]


def test_a_deployment_stuck_at_the_baseline_does_not_fire_on_its_next_update() -> None:
    memory = rollout_stuck.Memory()
    baseline = state("800", STUCK)
    rollout_stuck.classify(None, baseline, memory)

    assert rollout_stuck.classify(baseline, state("801", STUCK), memory) == []
    assert rollout_stuck.classify(state("801", STUCK), state("802", COMPLETE), memory) == []
    assert rollout_stuck.classify(state("802", COMPLETE), state("803", STUCK), memory) == FIRED


def test_pausing_ends_the_episode() -> None:
    paused = progressing("Unknown", "DeploymentPaused", "Deployment is paused", 700)
    resumed = progressing("Unknown", "DeploymentResumed", "Deployment is resumed", 750)

    assert walk(
        DEPLOYMENT, state("801", STUCK), state("802", paused), state("803", resumed), state("804", STUCK)
    ) == [
        [],
        FIRED,
        [],
        [],
        FIRED,
    ]


def test_other_progressing_false_reasons_and_missing_conditions_do_not_fire() -> None:
    failed_create = progressing(
        "False", "ReplicaSetCreateError", 'Failed to create new replica set "web-6f7d9b"', 700
    )
    no_conditions = state("802", [])
    del no_conditions["status"]["observedGeneration"]

    assert walk(DEPLOYMENT, state("801", failed_create), no_conditions) == [[], [], []]
