"""Which processes the agent may act on, and which of them are Python interpreters.

Scope: in a pod the ephemeral container shares the target container's pid namespace, so every
visible process is fair game. Locally, `WFHOST_AGENT_TARGET_PID` stands in for that namespace:
only that process and its descendants are listed and accepted; `WFHOST_AGENT_TARGET_PID_FILE`,
when set and readable, names the target's current pid instead (the local kubelet rewrites it
when the target container restarts).

Python detection reads `/proc/PID/maps` (a mapped `libpython3.X.so`) and the executable's name
(`python3.X`), which needs no attach and costs the target nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psutil

from host.agent.errors import (
    BadArgument,
    NoSuchProcess,
    NotPython,
    OutOfScope,
    ProcessExited,
    PtraceDenied,
    TargetBusy,
)

SCOPE_ENV = "WFHOST_AGENT_TARGET_PID"
SCOPE_FILE_ENV = "WFHOST_AGENT_TARGET_PID_FILE"

_LIBPYTHON = re.compile(r"/libpython(\d+)\.(\d+)[^/]*\.so")
_EXE = re.compile(r"^python(\d+)(?:\.(\d+))?[a-z]*$")
_STDLIB_DIR = re.compile(r"/lib/python(\d+)\.(\d+)/")


@dataclass(frozen=True)
class Target:
    """A live Python process the agent was asked to act on."""

    pid: int
    process: psutil.Process
    python_version: str
    root_fd: int

    @property
    def root(self) -> Path:
        """The target's filesystem root, through an fd the agent holds: it stays valid (and
        cannot be swapped for another process's) even if the target exits or its pid is reused."""
        return Path(f"/proc/{os.getpid()}/fd/{self.root_fd}")

    def is_alive(self) -> bool:
        """True while the same process (pid and start time) runs and is not a zombie."""
        try:
            return bool(self.process.is_running() and self.process.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def ensure_alive(self, during: str) -> None:
        """Raise ProcessExited when the target ended, naming what the agent was doing."""
        if not self.is_alive():
            raise ProcessExited(f"process {self.pid} exited during {during}", details={"pid": self.pid})


def scope_pid() -> int | None:
    """The pid named by WFHOST_AGENT_TARGET_PID, or None when the agent sees the whole namespace."""
    raw = os.environ.get(SCOPE_ENV, "").strip()
    pid_file = os.environ.get(SCOPE_FILE_ENV, "").strip()
    if pid_file:
        try:
            raw = Path(pid_file).read_text(encoding="ascii")[:32].strip() or raw
        except (OSError, UnicodeDecodeError):
            pass  # the pid it was started with still stands
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadArgument(f"{SCOPE_ENV} must be a pid, not {raw!r}") from exc
    return value


def scoped_pids() -> set[int] | None:
    """Pids the agent may act on, or None for every visible process."""
    root = scope_pid()
    if root is None:
        return None
    try:
        proc = psutil.Process(root)
        return {root, *(child.pid for child in proc.children(recursive=True))}
    except psutil.NoSuchProcess as exc:
        raise NoSuchProcess(
            f"the scope process {root} ({SCOPE_ENV}) does not exist", details={"pid": root}
        ) from exc


def python_version_of(pid: int) -> str | None:
    """major.minor of the CPython interpreter running as `pid`, or None if it is not one.

    Raises PermissionError when the process's maps cannot be read (no ptrace access).
    """
    exe_name = ""
    try:
        exe_name = os.path.basename(os.readlink(f"/proc/{pid}/exe")).removesuffix(" (deleted)")
    except FileNotFoundError:
        exe_name = ""
    stdlib_version: str | None = None
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            if (match := _LIBPYTHON.search(line)) is not None:
                return f"{match.group(1)}.{match.group(2)}"
            if stdlib_version is None and (match := _STDLIB_DIR.search(line)) is not None:
                stdlib_version = f"{match.group(1)}.{match.group(2)}"
    match = _EXE.match(exe_name)
    if match is None:
        return None
    if match.group(2) is not None:
        return f"{match.group(1)}.{match.group(2)}"
    return stdlib_version or match.group(1)


def resolve_target(pid: int) -> Target:
    """Check that `pid` exists, is in scope, can be traced and runs Python; return it as a Target."""
    if pid <= 0:
        raise BadArgument(f"--pid must be a positive process id, not {pid}", details={"pid": pid})
    if pid == os.getpid():
        raise OutOfScope("the agent will not act on its own process", details={"pid": pid})
    try:
        proc = psutil.Process(pid)
        status = proc.status()
        name = proc.name()
    except psutil.NoSuchProcess as exc:
        raise NoSuchProcess(f"no process with pid {pid} exists", details={"pid": pid}) from exc
    if status == psutil.STATUS_ZOMBIE:
        raise ProcessExited(f"process {pid} ({name}) has already exited (zombie)", details={"pid": pid})
    allowed = scoped_pids()
    if allowed is not None and pid not in allowed:
        raise OutOfScope(
            f"process {pid} ({name}) is outside the agent's scope (the target process and its descendants)",
            details={"pid": pid, "scopePid": scope_pid()},
        )
    try:
        version = python_version_of(pid)
    except PermissionError as exc:
        raise PtraceDenied(
            f"cannot read /proc/{pid} of process {pid} ({name}): permission denied; "
            "the agent needs the SYS_PTRACE capability and the same user or root",
            details={"pid": pid},
        ) from exc
    except FileNotFoundError as exc:
        raise ProcessExited(f"process {pid} ({name}) exited", details={"pid": pid}) from exc
    if version is None:
        raise NotPython(
            f"process {pid} ({name}) is not a Python process: no libpython mapped and the executable "
            "is not named python*",
            details={"pid": pid, "name": name},
        )
    try:
        root_fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY)
    except PermissionError as exc:
        raise PtraceDenied(
            f"cannot open the filesystem root of process {pid} ({name}): permission denied; "
            "the agent needs the SYS_PTRACE capability",
            details={"pid": pid},
        ) from exc
    except FileNotFoundError as exc:
        raise ProcessExited(f"process {pid} ({name}) exited", details={"pid": pid}) from exc
    return Target(pid=pid, process=proc, python_version=version, root_fd=root_fd)


def ensure_not_traced(target: Target) -> None:
    """Raise TargetBusy when another tracer (a debugger, another py-spy) is attached."""
    try:
        with open(f"/proc/{target.pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    tracer = int(line.split()[1])
                    break
            else:
                tracer = 0
    except FileNotFoundError as exc:
        raise ProcessExited(f"process {target.pid} exited", details={"pid": target.pid}) from exc
    if tracer:
        try:
            tracer_name = psutil.Process(tracer).name()
        except psutil.Error:
            tracer_name = "unknown"
        raise TargetBusy(
            f"process {target.pid} is already being traced by pid {tracer} ({tracer_name})",
            details={"pid": target.pid, "tracerPid": tracer, "tracerName": tracer_name},
        )
