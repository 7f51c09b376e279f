"""A child's staged stop (close stdin, wait, SIGTERM, wait, SIGKILL, reap) runs to the end when cancelled.

Real children: a Python process that ignores both the close of its stdin and SIGTERM, so only the
SIGKILL at the end of the steps can stop it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from host.sandbox.process import ChildProcess
from tests.child_scripts import STUBBORN

pytestmark = pytest.mark.timeout(60)

WAIT = 0.5  # each bounded wait of the stops below


async def stubborn_child(tmp_path: Path) -> tuple[ChildProcess, Path]:
    terms = tmp_path / "sigterms"
    child = await ChildProcess.spawn(
        [sys.executable, "-c", STUBBORN, str(terms)], env=dict(os.environ), cwd=tmp_path, name="stubborn",
        line_limit=1 << 16, data_bytes=1 << 30,
    )
    assert await child.stdout.readline() == b"ready\n"  # SIGTERM is noted and ignored from here on
    return child, terms


def sigterms_at(terms: Path) -> list[float]:
    return [float(line) for line in terms.read_text().split()] if terms.exists() else []


def assert_dead_and_reaped(pid: int) -> None:
    # A zombie (dead, never waited for) would still be found here, with status "zombie".
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(pid)


async def test_cancelling_the_stop_during_the_first_wait_still_ends_with_the_child_killed_and_reaped(
    tmp_path: Path,
) -> None:
    child, terms = await stubborn_child(tmp_path)
    began = asyncio.get_running_loop().time()
    stop = asyncio.create_task(child.stop(close_wait=WAIT, term_wait=WAIT))
    await asyncio.sleep(WAIT / 3)  # stdin is closed now and the child does not care
    assert child.returncode is None
    stop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stop
    (sigterm,) = sigterms_at(terms)
    assert sigterm - began >= WAIT  # the wait after closing stdin ran out before SIGTERM, cancel or not
    assert child.returncode == -signal.SIGKILL
    assert_dead_and_reaped(child.pid)


async def test_a_stop_cancelled_in_each_wait_still_ends_with_the_child_killed_and_reaped(tmp_path: Path) -> None:
    child, terms = await stubborn_child(tmp_path)
    stop = asyncio.create_task(child.stop(close_wait=WAIT, term_wait=WAIT))
    await asyncio.sleep(WAIT / 3)
    stop.cancel()  # in the wait after closing stdin
    await asyncio.sleep(WAIT)
    assert not stop.done()
    stop.cancel()  # again, in the wait after SIGTERM
    with pytest.raises(asyncio.CancelledError):
        await stop
    assert len(sigterms_at(terms)) == 1
    assert child.returncode == -signal.SIGKILL
    assert_dead_and_reaped(child.pid)


async def test_a_stop_under_a_timeout_shorter_than_its_steps_still_kills_and_reaps_the_child(
    tmp_path: Path,
) -> None:
    child, terms = await stubborn_child(tmp_path)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(WAIT / 3):
            await child.stop(close_wait=WAIT, term_wait=WAIT)
    assert loop.time() - began >= 2 * WAIT  # both bounded waits ran before the timeout was raised
    assert len(sigterms_at(terms)) == 1
    assert child.returncode == -signal.SIGKILL
    assert_dead_and_reaped(child.pid)
