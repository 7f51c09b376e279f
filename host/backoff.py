"""Exponential backoff with jitter: the one implementation behind every retry loop of the host.

The n-th consecutive failure has a *step* of `initial * 2**(n-1)` seconds, capped at `max`. The
wait is the step with jitter, so retriers that failed together (many watchers or host replicas
reconnecting to an API server, many workers of one workflow crashing on the same bad input) do
not come back in the same instant. Where the jitter lies around the step is the caller's choice:

- `EQUAL` ("equal jitter"): half the step fixed, half random, so the wait never exceeds the step
  and still grows with every failure. The watch loops (`host.kube.watch`) use it: a reconnect
  comes no later than the configured delay.
- `ABOVE`: the step plus up to half of it again (client-go's `wait.Backoff` with jitter 0.5), so
  the wait is never shorter than the step. The sandbox's restarts (`host.sandbox.supervisor`) use
  it: a crashing workflow is never restarted sooner than configured.

Neutral: it imports nothing from `host`, so every layer may use it. Delays are read from any
object with `initial_seconds` and `max_seconds` (`host.config.Backoff`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

# 2**30 steps of even a millisecond exceed any cap; bounding the exponent keeps the float finite.
_MAX_DOUBLINGS = 30


class BackoffSettings(Protocol):
    @property
    def initial_seconds(self) -> float: ...

    @property
    def max_seconds(self) -> float: ...


@dataclass(frozen=True)
class Jitter:
    """A wait is drawn uniformly from [low * step, high * step]."""

    low: float
    high: float


EQUAL = Jitter(0.5, 1.0)
ABOVE = Jitter(1.0, 1.5)


class Backoff:
    """Delays for consecutive failures: initial, 2x, 4x ... capped at max, each with jitter."""

    def __init__(
        self, settings: BackoffSettings, *, jitter: Jitter = EQUAL, rng: random.Random | None = None
    ) -> None:
        self.initial = settings.initial_seconds
        self.maximum = max(settings.max_seconds, settings.initial_seconds)
        self.jitter = jitter
        self.failures = 0
        self._rng = rng or random.Random()

    def step(self, failures: int) -> float:
        """The delay before jitter after `failures` consecutive failures (1 for the first)."""
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        return min(self.maximum, self.initial * float(2**doublings))

    def delay(self, failures: int) -> float:
        """The wait after `failures` consecutive failures: `step(failures)` with jitter."""
        step = self.step(failures)
        return self._rng.uniform(self.jitter.low * step, self.jitter.high * step)

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        self.failures += 1
        return self.delay(self.failures)

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts from the initial delay again."""
        self.failures = 0
