"""The stand-in kubelet stops a container with the host's staged stop: SIGTERM, the grace, SIGKILL, reaped.

Real processes: a Python container that notes SIGTERM and carries on, so only the SIGKILL after
the grace period ends it, whether or not the task that stops it is cancelled meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from host.localcluster.kubelet.logs import ContainerLog
from host.localcluster.kubelet.process import ContainerProcess
from tests.child_scripts import STUBBORN

pytestmark = pytest.mark.timeout(60)

GRACE = 1.0
SIGKILLED = 128 + signal.SIGKILL  # the exit code a runtime reports for a death by SIGKILL


class ReadyLog(ContainerLog):
    """A container log that tells when the container printed "ready"."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.ready = asyncio.Event()

    def append(self, stream: str, data: bytes) -> None:
        super().append(stream, data)
        if b"ready" in data:
            self.ready.set()


@pytest.fixture
async def stubborn(tmp_path: Path) -> AsyncIterator[tuple[ContainerProcess, Path]]:
    terms = tmp_path / "sigterms"
    log = ReadyLog(tmp_path / "logs" / "0.log")
    process = await ContainerProcess.start(
        [sys.executable, "-c", STUBBORN, str(terms)], env=dict(os.environ), cwd=str(tmp_path), sink=log
    )
    try:
        await asyncio.wait_for(log.ready.wait(), 10)  # SIGTERM is noted and ignored from here on
        yield process, terms
    finally:
        if process.exit_code is None:  # a test failed half-way
            process.kill()
            await process.wait()
        log.close()


def sigterms_at(terms: Path) -> list[float]:
    return [float(line) for line in terms.read_text().split()] if terms.exists() else []


def assert_dead_and_reaped(pid: int) -> None:
    # A zombie (dead, never waited for) would still be found here, with status "zombie".
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(pid)


async def test_a_container_ignoring_sigterm_is_killed_after_the_grace(stubborn: tuple[ContainerProcess, Path]) -> None:
    process, terms = stubborn
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await process.stop(GRACE) == SIGKILLED
    waited = loop.time() - began
    (sigterm,) = sigterms_at(terms)
    assert sigterm - began < GRACE / 2  # SIGTERM first, at once
    assert GRACE <= waited < GRACE + 5  # SIGKILL once the grace ran out
    assert_dead_and_reaped(process.pid)


async def test_cancelling_a_container_stop_during_the_grace_still_kills_it_after_the_grace(
    stubborn: tuple[ContainerProcess, Path],
) -> None:
    process, terms = stubborn
    loop = asyncio.get_running_loop()
    began = loop.time()
    stop = asyncio.create_task(process.stop(GRACE))
    await asyncio.sleep(GRACE / 3)
    assert len(sigterms_at(terms)) == 1 and process.exit_code is None  # SIGTERM noted, still running
    stop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stop
    assert loop.time() - began >= GRACE  # the grace ran out before the cancellation was raised
    assert process.exit_code == SIGKILLED
    assert_dead_and_reaped(process.pid)
