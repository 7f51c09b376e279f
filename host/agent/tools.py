"""Running the external tools (py-spy, gdb, memray) with timeouts, and reading their failures.

A tool that overruns is stopped in steps (SIGINT so py-spy and gdb can wind down and detach,
then SIGTERM, then SIGKILL), and its stderr is turned into one of the agent's typed errors.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from host.agent.errors import (
    AgentError,
    ProcessExited,
    PtraceDenied,
    TargetBusy,
    ToolFailed,
    ToolMissing,
    ToolTimeout,
)
from host.agent.procs import Target

log = structlog.get_logger(__name__)

LOCK_DIR = Path(os.environ.get("WFHOST_AGENT_LOCK_DIR", "/tmp/wfhost-agent-locks"))

_PERMISSION_MARKERS = ("operation not permitted", "permission denied", "os error 1)", "os error 13)")


@dataclass(frozen=True)
class ToolRun:
    """What a finished tool left behind."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def find_tool(name: str) -> str:
    """Path of an executable: beside the agent's interpreter first (its virtualenv), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(
            f"{name} is not installed in the debug image (not beside {sys.executable} nor on PATH)"
        )
    return found


def _stop_in_steps(proc: subprocess.Popen[str], name: str) -> None:
    for sig, grace in ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if proc.poll() is not None:
            return
        log.warning("stopping overrunning tool", tool=name, signal=sig.name)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_tool(argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> ToolRun:
    """Run a tool to completion, capturing its output; raise ToolTimeout past `timeout` seconds."""
    name = os.path.basename(argv[0])
    started = time.monotonic()
    log.debug("running tool", argv=argv, timeout=timeout)
    full_env = {**os.environ, "RUST_BACKTRACE": "0", **(env or {})}
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=full_env,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _stop_in_steps(proc, name)
        proc.communicate()
        raise ToolTimeout(
            f"{name} did not finish within {timeout:.0f} s and was stopped",
            details={"tool": name, "timeoutSeconds": timeout},
        ) from exc
    seconds = time.monotonic() - started
    log.debug("tool finished", tool=name, returncode=proc.returncode, seconds=round(seconds, 3))
    return ToolRun(argv=argv, returncode=proc.returncode, stdout=stdout, stderr=stderr, seconds=seconds)


def error_summary(text: str, *, limit: int = 600) -> str:
    """The meaningful part of a tool's stderr: its `Error:` lines, without Rust backtraces."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("py-spy>")]
    if "Stack backtrace:" in lines:
        lines = lines[: lines.index("Stack backtrace:")]
    summary = " ".join(lines)
    return summary if len(summary) <= limit else summary[: limit - 3] + "..."


def failure_for(run: ToolRun, target: Target, *, during: str) -> AgentError:
    """Classify a failed tool run: target gone, ptrace refused, or the tool's own failure."""
    name = os.path.basename(run.argv[0])
    summary = error_summary(run.stderr) or error_summary(run.stdout) or f"exit status {run.returncode}"
    if not target.is_alive():
        return ProcessExited(
            f"process {target.pid} exited during {during}", details={"pid": target.pid, "tool": name}
        )
    lowered = summary.lower()
    if any(marker in lowered for marker in _PERMISSION_MARKERS):
        return PtraceDenied(
            f"{name} was not allowed to trace process {target.pid} ({summary}); the debug container "
            "needs the SYS_PTRACE capability",
            details={"pid": target.pid, "tool": name},
        )
    return ToolFailed(
        f"{name} failed during {during}: {summary}",
        details={"pid": target.pid, "tool": name, "returncode": run.returncode},
    )


@contextlib.contextmanager
def exclusive_target(target: Target, *, wait_seconds: float = 10.0) -> Iterator[None]:
    """Hold a per-pid lock so two agent actions never trace the same process at once."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    lock_path = LOCK_DIR / f"{target.pid}.lock"
    with open(lock_path, "a", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise TargetBusy(
                        f"another agent action on process {target.pid} is still running",
                        details={"pid": target.pid},
                    ) from exc
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def gdb_argv() -> list[str]:
    """gdb in batch mode, reading no init files, auto-loaded scripts, DWARF or debuginfod: the
    target stays stopped while gdb reads symbols, and skipping debug info cuts that pause about
    threefold (docs/debugging.md)."""
    return [
        find_tool("gdb"),
        "-batch",
        "-nx",
        "-nw",
        "-readnever",
        "-iex=set auto-load off",
        "-iex=set debuginfod enabled off",
    ]
