"""`LoopThread`: an asyncio loop of its own in a daemon thread, for a server driven from sync code.

The stand-in cluster and the chaos proxy each serve from such a loop, so a synchronous test (or a
host on another loop) can start, drive and stop them; `call` runs a coroutine there and waits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from host.errors import WfhostError

T = TypeVar("T")


class LoopNotRunning(WfhostError, RuntimeError):
    """A coroutine was handed to a `LoopThread` that is not running."""


class LoopThread:
    """A loop in a thread, started and stopped from outside it.

    Example:
        runner = LoopThread("my-server")
        runner.start()
        port = runner.call(server.start(), timeout=10)
        runner.stop(timeout=10)
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Start the loop's thread (nothing when it runs already)."""
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

    def call(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        """Run `coro` on the loop and wait up to `timeout` seconds for its result."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise LoopNotRunning(f"{self.name} is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def stop(self, *, timeout: float) -> None:
        """Stop the loop, join its thread (up to `timeout` seconds) and close it."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            loop.close()
        finally:
            self._loop = self._thread = None
