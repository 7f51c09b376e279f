"""Exponential backoff with jitter, its delays taken from settings (`host.config.Backoff`).

Jitter spreads reconnects of many watchers (or many host replicas) so an API server that comes
back is not hit by all of them in the same instant. "Equal jitter": half the delay is fixed, the
other half random, so the wait still grows with every failure.
"""

from __future__ import annotations

import random

from host.config import Backoff as BackoffSettings


class Backoff:
    """Delays for consecutive failures: initial, 2x, 4x ... capped at max, each with jitter."""

    def __init__(self, settings: BackoffSettings, *, rng: random.Random | None = None) -> None:
        self.initial = settings.initial_seconds
        self.maximum = max(settings.max_seconds, settings.initial_seconds)
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        ceiling = min(self.maximum, self.initial * float(2 ** min(self.failures, 30)))
        self.failures += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts from the initial delay again."""
        self.failures = 0
