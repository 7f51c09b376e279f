"""`LoopThread`: a coroutine runs on the thread's own loop; once stopped, a call is refused."""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest

from host.localcluster.loopthread import LoopNotRunning, LoopThread


async def _where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_a_call_runs_on_the_loops_thread_and_a_stopped_loop_refuses_the_next() -> None:
    runner = LoopThread("test-loop")
    runner.start()
    runner.start()  # a second start is nothing
    assert runner.call(_where(), timeout=5) == "test-loop"
    runner.stop(timeout=5)
    assert not runner.running
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a refused coroutine is closed, never left un-awaited
        with pytest.raises(LoopNotRunning, match="test-loop is not running"):
            runner.call(_where(), timeout=5)
    runner.start()  # and it can start again
    assert runner.call(_where(), timeout=5) == "test-loop"
    runner.stop(timeout=5)
