"""The shared backoff (`host.backoff`): steps that double up to the cap, jitter where the caller puts it."""

from __future__ import annotations

import random

from host.backoff import ABOVE, EQUAL, Backoff
from host.config import Backoff as BackoffSettings

SETTINGS = BackoffSettings(initial_seconds=0.5, max_seconds=4)
STEPS = [0.5, 1, 2, 4, 4, 4]


def test_steps_double_from_initial_and_stop_at_the_cap() -> None:
    backoff = Backoff(SETTINGS)
    assert [backoff.step(n) for n in range(1, 7)] == STEPS
    assert backoff.step(10_000) == 4


def test_above_jitter_waits_at_least_the_step_and_at_most_half_again() -> None:
    backoff = Backoff(SETTINGS, jitter=ABOVE)
    waits = [backoff.delay(n) for n in range(1, 7)]
    for wait, step in zip(waits, STEPS, strict=True):
        assert step <= wait <= 1.5 * step
    assert max(waits) <= 1.5 * SETTINGS.max_seconds
    assert waits != STEPS  # a uniform draw lands exactly on the low end with probability 0


def test_equal_jitter_waits_between_half_the_step_and_the_step() -> None:
    backoff = Backoff(SETTINGS, jitter=EQUAL)
    for failures, step in enumerate(STEPS, start=1):
        assert step / 2 <= backoff.delay(failures) <= step


def test_an_injected_random_makes_the_waits_reproducible() -> None:
    first = Backoff(SETTINGS, jitter=ABOVE, rng=random.Random(7))
    second = Backoff(SETTINGS, jitter=ABOVE, rng=random.Random(7))
    draws = random.Random(7)
    expected = [draws.uniform(step, 1.5 * step) for step in STEPS]
    assert [first.next_delay() for _ in STEPS] == expected
    assert [second.next_delay() for _ in STEPS] == expected


def test_next_delay_counts_failures_and_reset_starts_over() -> None:
    backoff = Backoff(SETTINGS, jitter=ABOVE, rng=random.Random(1))
    for _ in range(5):
        backoff.next_delay()
    assert backoff.failures == 5
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 0.75
