"""`job.failed`: once per failure of a Job, primed at the baseline."""

from __future__ import annotations

import itertools

from host.sources.classify import Derived
from host.sources.semantic import job_failed
from tests.sources.semantic.objects import BACKOFF_MESSAGE, FAILED_JOB_STATUS, JOB, Obj, at, cond, with_status


def walk(*states: Obj, memory: job_failed.Memory | None = None) -> list[list[Derived]]:
    """Classify a sequence of states of one Job (the first one is the Job appearing)."""
    memory = memory if memory is not None else job_failed.Memory()
    results = [job_failed.classify(None, states[0], memory)]
    results.extend(job_failed.classify(old, new, memory) for old, new in itertools.pairwise(states))
    return results


FAILED = with_status(JOB, "510", **FAILED_JOB_STATUS)


def test_a_job_that_fails_fires_once_with_the_conditions_reason_and_message() -> None:
    resynced = with_status(FAILED, "520")
    resynced["metadata"]["labels"]["touched"] = "yes"

    assert walk(JOB, FAILED, resynced) == [
        [],
        [Derived("job.failed", reason="BackoffLimitExceeded", message=BACKOFF_MESSAGE)],
        [],
    ]


def test_failure_target_alone_does_not_fire_the_failed_condition_does() -> None:
    target_only = with_status(JOB, "505", conditions=FAILED_JOB_STATUS["conditions"][:1], terminating=1)

    assert walk(JOB, target_only, FAILED) == [
        [],
        [],
        [Derived("job.failed", reason="BackoffLimitExceeded", message=BACKOFF_MESSAGE)],
    ]


def test_deadline_exceeded_is_reported_with_its_reason() -> None:
    message = "Job was active longer than specified deadline"
    deadline = with_status(
        JOB, "510", conditions=[cond("Failed", "True", "DeadlineExceeded", message, at(3600))]
    )

    assert walk(JOB, deadline)[1] == [Derived("job.failed", reason="DeadlineExceeded", message=message)]


def test_a_job_already_failed_at_the_baseline_does_not_fire_on_its_next_update() -> None:
    memory = job_failed.Memory()
    job_failed.classify(None, FAILED, memory)  # the baseline primes; its events are discarded

    assert job_failed.classify(FAILED, with_status(FAILED, "530"), memory) == []


def test_a_job_created_already_failed_fires() -> None:
    assert walk(FAILED)[0] == [Derived("job.failed", reason="BackoffLimitExceeded", message=BACKOFF_MESSAGE)]


def test_a_job_un_failed_and_failed_again_is_a_new_episode() -> None:
    unfailed = with_status(FAILED, "540", conditions=[])
    again = with_status(FAILED, "550")

    assert [len(d) for d in walk(JOB, FAILED, unfailed, again)] == [0, 1, 0, 1]


def test_a_failed_condition_turned_false_ends_the_episode() -> None:
    cleared = with_status(
        FAILED, "540", conditions=[cond("Failed", "False", "BackoffLimitExceeded", BACKOFF_MESSAGE)]
    )

    assert [len(d) for d in walk(JOB, FAILED, cleared, FAILED)] == [0, 1, 0, 1]


def test_a_job_deleted_failed_that_we_never_saw_fail_is_reported() -> None:
    assert job_failed.classify(None, FAILED, job_failed.Memory(), deleted=True) == [
        Derived("job.failed", reason="BackoffLimitExceeded", message=BACKOFF_MESSAGE)
    ]
    memory = job_failed.Memory()
    job_failed.classify(None, JOB, memory)
    job_failed.classify(JOB, FAILED, memory)
    assert job_failed.classify(FAILED, FAILED, memory, deleted=True) == []


def test_a_completed_job_and_junk_status_do_not_fire() -> None:
    complete = with_status(
        JOB,
        "510",
        succeeded=1,
        active=0,
        conditions=[cond("Complete", "True", "", "", at(60)), "junk", {"type": 3}],
    )
    broken = with_status(JOB, "511", conditions="not-a-list")

    assert walk(JOB, complete, broken) == [[], [], []]
