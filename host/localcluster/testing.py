"""Helpers for tests that use the local cluster: polling for a condition and small pod manifests."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll `condition` until it returns something truthy and return that; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = condition()
    return last


def python_pod(
    name: str,
    code: str,
    *,
    container: str = "app",
    image: str = "python:3.12",
    restart_policy: str = "Always",
    labels: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    node_name: str | None = None,
) -> dict[str, Any]:
    """A pod manifest whose one container runs `python -u -c code` as a local process."""
    spec: dict[str, Any] = {
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {
                "name": container,
                "image": image,
                "command": ["python", "-u", "-c", code],
                "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
            }
        ],
    }
    if node_name is not None:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def sleeping_pod(name: str, **kwargs: Any) -> dict[str, Any]:
    """A pod whose container prints `ready` and then sleeps until stopped."""
    return python_pod(name, "import time\nprint('ready')\ntime.sleep(3600)", **kwargs)


class WatchRecorder:
    """Runs `kubernetes.watch.Watch().stream(func, *args, **kwargs)` in a thread and queues what it yields.

    `take(n)` waits for the next n events; `error` holds what ended the stream abnormally
    (e.g. an ApiException 410), `ended` is set when the stream finished.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        import kubernetes

        watch_type: Any = kubernetes.watch.Watch
        self.watch: Any = watch_type()
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(func, args, kwargs), daemon=True, name="watch-recorder"
        )
        self._thread.start()

    def _run(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            for event in self.watch.stream(func, *args, **kwargs):
                self._events.put(event)
        except Exception as exc:  # noqa: BLE001 - handed to the test through `error`
            self.error = exc
        finally:
            self.ended.set()
            self._events.put(None)

    def take(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The next `count` events; AssertionError if the stream ends or stalls first."""
        taken: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(taken) < count:
            remaining = deadline - time.monotonic()
            try:
                event = self._events.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"got {len(taken)} of {count} watch events within {timeout}s: {taken!r}"
                ) from None
            if event is None:
                self._events.put(None)
                raise AssertionError(
                    f"watch ended after {len(taken)} of {count} events (error: {self.error!r})"
                )
            taken.append(event)
        return taken

    def drain(self, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every event until the stream ends."""
        taken: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._events.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"watch did not end within {timeout}s; got {taken!r}") from None
            if event is None:
                self._events.put(None)
                return taken
            taken.append(event)

    def stop(self, *, timeout: float = 10.0) -> None:
        self.watch.stop()
        self._thread.join(timeout)
