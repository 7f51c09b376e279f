"""`ExpiringCache`: values kept for a short time, at most `entries` of them, oldest out first.

The API's review answers (`host.api.auth`), the findings deduper's window
(`host.capabilities.findings`) and the debug mechanism's memory of Pod Security refusals
(`host.debug.mechanism`) are each one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """A bounded map whose entries expire `seconds` after they were put; `seconds` 0 keeps nothing."""

    def __init__(self, *, seconds: float, entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.entries = entries
        self._clock = clock
        self._kept: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        hit = self._kept.get(key)
        if hit is None:
            return None
        expires, value = hit
        if self._clock() >= expires:
            del self._kept[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if self.seconds <= 0:
            return
        self._kept.pop(key, None)
        self._kept[key] = (self._clock() + self.seconds, value)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
