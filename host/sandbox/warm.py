"""`WarmSet`: which idle workers stay warm, host-wide, by use rather than by count.

Every loaded workflow used to keep a warm Deno child (~30 MB each), so memory grew with the
number of workflows, not with their use. Now:

- a worker idle longer than `sandbox.idleStopSeconds` is stopped (0: never); the next invocation
  starts one (a cold start is ~30-50 ms);
- at most `sandbox.maxWarmWorkers` workers are alive at once across all workflows (0: no bound);
  starting one past the bound first stops the least recently used *idle* worker of any workflow.
  Busy workers are never stopped, so a burst may briefly exceed the bound by the invocations
  running at that moment.

Workers bound to frequent events stay warm because they are used, not because they are listed.
The set only decides; each pool stops its own worker (`WorkerPool.stop_idle`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class IdleStoppable(Protocol):
    """A pool slot that can stop its worker if it is still idle (returns True when it did)."""

    def stop_if_idle(self) -> bool: ...


class WarmSet:
    def __init__(self, *, max_warm: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_warm = max_warm
        self._clock = clock
        self._lru: OrderedDict[IdleStoppable, float] = OrderedDict()  # least recently used first
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._lru)

    def used(self, slot: IdleStoppable) -> None:
        """A worker of `slot` started or finished an invocation: it is the most recently used."""
        self._lru[slot] = self._clock()
        self._lru.move_to_end(slot)

    def gone(self, slot: IdleStoppable) -> None:
        """`slot` has no live worker any more."""
        self._lru.pop(slot, None)

    def make_room(self, starting: IdleStoppable) -> None:
        """Before `starting` spawns a worker: stop idle ones, oldest first, until it fits the bound."""
        if self.max_warm <= 0:
            return
        for slot in list(self._lru):
            if len(self._lru) + (0 if starting in self._lru else 1) <= self.max_warm:
                return
            if slot is starting:
                continue
            if slot.stop_if_idle():
                self._lru.pop(slot, None)
                self.evicted += 1
