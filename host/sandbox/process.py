"""One sandboxed child process: start it locked down, drain its stderr, stop it in steps.

Stopping goes close stdin -> wait -> SIGTERM the process group -> wait -> SIGKILL (the shared
`host.stopping`), each step bounded and logged, and it runs to the end even when the task that
asked for it is cancelled, so no `deno` process outlives the host: the child also gets
PR_SET_PDEATHSIG, so even a host killed with SIGKILL takes its children along.
"""

from __future__ import annotations

import asyncio
import os
import signal
from functools import partial
from pathlib import Path

import structlog

from host.errors import SandboxError
from host.sandbox.deno import limit_child
from host.stopping import stop_in_steps, to_the_end

log = structlog.get_logger(__name__)

STDERR_LOG_LIMIT = 64 << 10  # bytes of a child's stderr we log before dropping the rest

# How long a stopping child may take at each step. The guest runtime's read loop ends when its
# stdin closes and the child exits within milliseconds, so a second is ample. A guest stuck in a
# synchronous loop never sees the close; SIGTERM ends it (Deno's default action is to exit) unless
# the guest installed a handler, and SIGKILL follows a second later. Each wait holds up the
# worker's pool slot (a restart, a pool close), so both stay short.
CLOSE_WAIT_SECONDS = 1.0  # after closing stdin, before SIGTERM
TERM_WAIT_SECONDS = 1.0  # after SIGTERM, before SIGKILL


class ChildProcess:
    def __init__(self, proc: asyncio.subprocess.Process, *, name: str) -> None:
        self.proc = proc
        self.name = name
        self.stderr_bytes = 0
        self.stderr_tail = ""
        self._stderr_task = asyncio.create_task(self._drain_stderr(), name=f"stderr:{name}")

    @classmethod
    async def spawn(
        cls, args: list[str], *, env: dict[str, str], cwd: Path, name: str, line_limit: int, data_bytes: int
    ) -> ChildProcess:
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=str(cwd),
                limit=line_limit + 2,
                preexec_fn=partial(limit_child, data_bytes=data_bytes),
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {args[0]}: {exc}") from exc
        log.debug("sandbox.child_started", worker=name, pid=proc.pid)
        return cls(proc, name=name)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.proc.stdout is not None
        return self.proc.stdout

    @property
    def stdin(self) -> asyncio.StreamWriter:
        assert self.proc.stdin is not None
        return self.proc.stdin

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        dropped = 0
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                break
            self.stderr_tail = (self.stderr_tail + chunk.decode(errors="replace"))[-4096:]
            if self.stderr_bytes < STDERR_LOG_LIMIT:
                text = chunk.decode(errors="replace").rstrip()
                if text:
                    log.info("sandbox.child_stderr", worker=self.name, text=text[:4096])
            else:
                dropped += len(chunk)
            self.stderr_bytes += len(chunk)
        if dropped:
            log.warning("sandbox.child_stderr_dropped", worker=self.name, bytes=dropped)

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            self.proc.send_signal(sig)

    def kill_now(self) -> None:
        """SIGKILL the whole group at once (the guest cannot be trusted to cooperate)."""
        self._signal_group(signal.SIGKILL)

    async def stop(self, *, close_wait: float = CLOSE_WAIT_SECONDS, term_wait: float = TERM_WAIT_SECONDS) -> int:
        """Stop in steps; returns the exit code (negative for a signal).

        Runs to the end even if the calling task is cancelled meanwhile (the cancellation is raised
        after it). Call it after whoever parsed stdout has stopped reading: what is left there is
        discarded.
        """
        return await to_the_end(self._stop(close_wait, term_wait), name=self.name)

    async def _stop(self, close_wait: float, term_wait: float) -> int:
        # asyncio's `wait()` only returns once every pipe reached EOF. A guest that flooded stdout
        # (or whose reader paused for backpressure) leaves unread bytes and a paused pipe, so
        # without this the waits of the steps could never end and the transport leaked past the loop.
        discard = asyncio.create_task(self._discard_stdout(), name=f"discard-stdout:{self.name}")
        await stop_in_steps(
            self.proc, name=self.name, send=self._signal_group, close_wait=close_wait, term_wait=term_wait
        )
        # Anything else left in the group (a guest cannot fork, but be thorough) goes too.
        self._signal_group(signal.SIGKILL)
        await asyncio.gather(self._stderr_task, discard, return_exceptions=True)
        code = self.proc.returncode
        assert code is not None
        return code

    async def _discard_stdout(self) -> None:
        stream = self.proc.stdout
        if stream is None:
            return
        while await stream.read(65536):
            pass
