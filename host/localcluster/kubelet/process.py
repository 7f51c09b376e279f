"""Container processes: started in their own process group, output captured into the log, stopped in steps.

A container's main process is the stand-in for its PID 1: when it exits, the rest of its process
group is killed, as the runtime tears down a container's PID namespace. Stopping sends SIGTERM to
the group (and any descendants psutil still sees), waits up to the grace period, then SIGKILL:
the host's staged stop (`host.stopping`, without the stdin step: a container's stdin is not a
pipe), which runs to the end even when the task that asked for it is cancelled.
A process that leaves its process group with `setsid` and is reparented escapes this.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from functools import partial

import psutil

from host.errors import WfhostError
from host.localcluster.kubelet.logs import ContainerLog
from host.stopping import stop_in_steps, to_the_end

_READ_CHUNK = 64 * 1024
_MAX_PENDING_LINE = 16 * 1024
_READER_DRAIN_SECONDS = 2.0


class ContainerStartError(WfhostError):
    """The runtime could not start the container's process (like an OCI runtime `exec` failure)."""


def exit_code(returncode: int) -> int:
    """A container exit code: a death by signal N is 128+N, as runtimes report it."""
    return 128 - returncode if returncode < 0 else returncode


def signal_tree(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `pid` and to every descendant of `pid` still attached."""
    descendants: list[psutil.Process] = []
    with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
        descendants = psutil.Process(pid).children(recursive=True)
    # ESRCH means the group is already empty: nothing left to signal.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    for child in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.send_signal(sig)


async def spawn(
    argv: Sequence[str], *, env: dict[str, str], cwd: str, stdin: bool = False
) -> asyncio.subprocess.Process:
    """Start `argv` in a new session with piped output; start failures raise ContainerStartError."""
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ContainerStartError(f'exec: "{argv[0]}": executable file not found in $PATH') from exc
    except PermissionError as exc:
        raise ContainerStartError(f'exec: "{argv[0]}": permission denied') from exc
    except OSError as exc:
        raise ContainerStartError(f'exec: "{argv[0]}": {exc.strerror or exc}') from exc


async def _pump(reader: asyncio.StreamReader, stream: str, sink: ContainerLog) -> None:
    pending = b""
    while True:
        chunk = await reader.read(_READ_CHUNK)
        if not chunk:
            break
        pending += chunk
        cut = pending.rfind(b"\n")
        if cut >= 0:
            sink.append(stream, pending[: cut + 1])
            pending = pending[cut + 1 :]
        if len(pending) > _MAX_PENDING_LINE:
            sink.append(stream, pending)
            pending = b""
    if pending:
        sink.append(stream, pending)


class ContainerProcess:
    """The running main process of one container instance."""

    def __init__(self, process: asyncio.subprocess.Process, readers: list[asyncio.Task[None]]) -> None:
        self._process = process
        self._readers = readers

    @classmethod
    async def start(
        cls, argv: Sequence[str], *, env: dict[str, str], cwd: str, sink: ContainerLog
    ) -> ContainerProcess:
        process = await spawn(argv, env=env, cwd=cwd)
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [
            asyncio.create_task(_pump(process.stdout, "stdout", sink)),
            asyncio.create_task(_pump(process.stderr, "stderr", sink)),
        ]
        return cls(process, readers)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def exit_code(self) -> int | None:
        code = self._process.returncode
        return None if code is None else exit_code(code)

    async def wait(self) -> int:
        """Wait for the main process; then end its group and collect the remaining output."""
        code = await self._process.wait()
        signal_tree(self.pid, signal.SIGKILL)
        _, still_reading = await asyncio.wait(self._readers, timeout=_READER_DRAIN_SECONDS)
        for reader in still_reading:
            reader.cancel()
        return exit_code(code)

    async def stop(self, grace: float) -> int:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; returns the exit code.

        Runs to the end even if the calling task is cancelled meanwhile (the cancellation is raised
        after it), so a cancelled stop never leaves the container's processes running.
        """
        return await to_the_end(self._stop(grace), name=f"container:{self.pid}")

    async def _stop(self, grace: float) -> int:
        await stop_in_steps(
            self._process,
            name=f"container:{self.pid}",
            send=partial(signal_tree, self.pid),
            close_wait=None,
            term_wait=grace,
        )
        return await self.wait()

    def kill(self) -> None:
        """SIGKILL the group now, without waiting."""
        signal_tree(self.pid, signal.SIGKILL)
