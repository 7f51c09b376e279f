"""The event counter both end-to-end consumers carry (bench/e2e_host.py and bench/kopf_operator.py).

The consumer calls `note()` once per event it finished handling (on its event loop). The bench
drives it over the consumer's stdin, one command a line, and reads its replies, one JSON object
a line, from the file descriptor named by `BENCH_REPORT_FD`:

- `arm N`: start counting from zero; `{"reply": "done", ...}` is sent when the N-th event is noted;
- `stat`: `{"reply": "stat", ...}` now.

Every reply carries `count`, `failed`, `first` and `last` (time.monotonic() of the first and the
latest event noted since `arm`; CLOCK_MONOTONIC, so comparable with the bench's own clock).
`{"reply": "ready"}` is sent once by the consumer when it is up.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO


class Counter:
    def __init__(self, report_fd: int | None = None) -> None:
        fd = report_fd if report_fd is not None else int(os.environ["BENCH_REPORT_FD"])
        self._out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()
        self.count = 0
        self.failed = 0
        self.target = 0
        self.first = 0.0
        self.last = 0.0
        self.armed_at = 0.0
        self.extra: Callable[[], dict[str, Any]] | None = None  # more to put in every reply (diagnostics)

    def note(self, ok: bool = True) -> None:
        now = time.monotonic()
        with self._lock:
            self.count += 1
            if not ok:
                self.failed += 1
            if self.count == 1:
                self.first = now
            self.last = now
            if self.count == self.target:
                self._send("done")

    def send(self, reply: str, **extra: Any) -> None:
        with self._lock:
            self._send(reply, **extra)

    def _send(self, reply: str, **extra: Any) -> None:
        doc = {"reply": reply, "count": self.count, "failed": self.failed, "first": self.first,
               "last": self.last, **extra}
        if self.extra is not None:
            doc["extra"] = self.extra()
        self._out.write(json.dumps(doc) + "\n")

    def _serve(self, commands: TextIO) -> None:
        for line in commands:
            verb, _, arg = line.strip().partition(" ")
            if verb == "arm":
                with self._lock:
                    self.count, self.failed, self.first, self.last = 0, 0, 0.0, 0.0
                    self.target = int(arg)
                    self.armed_at = time.monotonic()
                    self._send("armed")
            elif verb == "stat":
                self.send("stat")

    def serve_stdin(self) -> None:
        """Answer commands from stdin in a daemon thread."""
        threading.Thread(target=self._serve, args=(sys.stdin,), name="bench-counter", daemon=True).start()


class GcStats:
    """Time spent in the cyclic garbage collector, per generation (BENCH_GC_STATS=1; diagnostics only)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self.longest = 0.0
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        spent = time.perf_counter() - self._began
        generation = info["generation"]
        self.seconds[generation] += spent
        self.collections[generation] += 1
        self.longest = max(self.longest, spent)

    def snapshot(self) -> dict[str, object]:
        return {"seconds": [round(s, 4) for s in self.seconds], "collections": list(self.collections),
                "longest_s": round(self.longest, 4)}


def from_environment() -> Counter:
    """The consumer's counter (BENCH_REPORT_FD), with garbage-collector times in its replies when BENCH_GC_STATS is set."""
    counter = Counter()
    if os.environ.get("BENCH_GC_STATS"):
        gc_stats = GcStats()
        counter.extra = lambda: {"gc": gc_stats.snapshot()}
    return counter
