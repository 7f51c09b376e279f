"""Stop a child process in steps, and finish stopping it even when the task that asked is cancelled.

The steps (as watchfiles' `run.py` and the MCP SDK's stdio client do it), each logged:

1. close its stdin and wait a bounded time: a child that reads its input exits on its own;
2. SIGTERM and wait a bounded time: a child may clean up;
3. SIGKILL and wait until the child is reaped (SIGKILL cannot be ignored, so this wait ends).

`stop_in_steps` runs them on an `asyncio` child; the caller says how to deliver a signal (its
process group, its whole tree) and how long each bounded wait is. `to_the_end` runs a stop in a
task of its own: when the caller is cancelled (an invocation timed out, a pool closed, a pod was
deleted) the stop still runs to the end and the cancellation is raised after it, so a cancel
during the first wait no longer leaves a child that nobody SIGTERMs or SIGKILLs.

Neutral: it imports nothing from `host`, so the sandbox and the stand-in kubelet share it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
SendSignal = Callable[[signal.Signals], None]


async def stop_in_steps(
    proc: asyncio.subprocess.Process,
    *,
    name: str,
    send: SendSignal,
    close_wait: float | None,
    term_wait: float,
) -> int:
    """Stop `proc` in steps and return its exit code (negative for a signal).

    `close_wait` is how long to wait after closing stdin (None: skip that step, for a child whose
    stdin is not a pipe); `term_wait` how long after SIGTERM before SIGKILL. `send` delivers a
    signal to the child and whatever the caller counts as its own (a process group, a tree).
    """
    pid = proc.pid
    exited = proc.returncode is not None
    if not exited and close_wait is not None:
        stdin = proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        log.debug("child_stop.stdin_closed", child=name, pid=pid, wait=close_wait)
        exited = await _exits_within(proc, close_wait)
    if not exited:
        log.debug("child_stop.sigterm", child=name, pid=pid, wait=term_wait)
        send(signal.SIGTERM)
        exited = await _exits_within(proc, term_wait)
    if not exited:
        log.warning("child_stop.sigkill", child=name, pid=pid, waited=term_wait)
        send(signal.SIGKILL)
        await proc.wait()
    code = proc.returncode
    assert code is not None  # set by the child watcher once it reaped the process
    log.debug("child_stop.reaped", child=name, pid=pid, code=code)
    return code


async def to_the_end(stop: Coroutine[Any, Any, T], *, name: str) -> T:
    """Await `stop` in a task of its own that a cancellation of the caller does not interrupt.

    A cancellation that arrives meanwhile waits for the stop to finish and is raised after it (as
    a `finally:` block would run). If the stop itself failed, its error is raised instead, with the
    cancellation as its cause: neither is lost.
    """
    task = asyncio.create_task(stop, name=f"stop:{name}")
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError as cancel:
        if task.done():
            raise  # the stop's own task was cancelled (the loop is shutting down): nothing to wait for
        log.info("child_stop.cancel_deferred", child=name)
        await _finish(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error from cancel
        raise


async def _finish(task: asyncio.Task[T]) -> None:
    """Wait until `task` is done, however many more times the waiting task is cancelled.

    The caller raises its cancellation once this returns, so the repeats are not lost either.
    """
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                log.info("child_stop.cancel_deferred", child=task.get_name(), again=True)


async def _exits_within(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        return False
    return True
