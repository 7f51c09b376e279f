"""Running a payload (a module of `host.agent.payloads`) inside the target process through gdb.

The payload file and its outputs live in a work directory inside the *target's* filesystem,
reached from the agent through `/proc/PID/root` (in a pod the debug container has its own
mount namespace; locally the two are the same). The directory is owned by the target's user so
the payload can write its results there, and is removed when the action ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from host.agent.errors import InjectionFailed, ProcessExited, PtraceDenied, ToolTimeout
from host.agent.kernel_probe import ensure_injection_is_safe
from host.agent.models import InjectionInfo
from host.agent.procs import Target, ensure_not_traced
from host.agent.tools import failure_for, gdb_argv, run_tool

log = structlog.get_logger(__name__)

PAYLOAD_DIR = Path(__file__).parent / "payloads"
GDB_INJECTOR = Path(__file__).parent / "gdb_injector.py"
TEMP_CANDIDATES = ("tmp", "dev/shm", "var/tmp")
SAFE_POINT_WAIT_SECONDS = 2.0
GDB_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class WorkDir:
    """One directory, seen from both sides."""

    agent_path: Path
    target_path: str

    def agent_file(self, name: str) -> Path:
        return self.agent_path / name

    def target_file(self, name: str) -> str:
        return f"{self.target_path}/{name}"


def target_root(target: Target) -> Path:
    """The target's filesystem root as the agent sees it."""
    return target.root


def shares_root(target: Target) -> bool:
    """True when the target sees the same filesystem as the agent: same mount namespace.

    (Comparing root directories is not enough: a process with the same root can still have its
    own /tmp mounted, as containers do.)
    """
    return os.stat("/proc/self/ns/mnt").st_ino == os.stat(f"/proc/{target.pid}/ns/mnt").st_ino


def plain_dir(root: Path, relative: str) -> bool:
    """True when every component of root/relative is a real directory, not a symlink.

    Symlinks inside the target's filesystem would be resolved against the agent's own root;
    refusing them keeps a hostile target from steering the agent's writes into its container.
    """
    path = root
    for part in relative.split("/"):
        path = path / part
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def _chown_to_target(path: Path, target: Target) -> None:
    uids, gids = target.process.uids(), target.process.gids()
    if (uids.effective, gids.effective) != (os.geteuid(), os.getegid()):
        os.chown(path, uids.effective, gids.effective)


@contextmanager
def work_dir(target: Target, *, prefix: str = "wfhost-agent-") -> Iterator[WorkDir]:
    """A fresh directory in the target's filesystem, writable by the target, removed afterwards."""
    root = target_root(target)
    tried: list[str] = []
    created: Path | None = None
    for base in TEMP_CANDIDATES:
        if not plain_dir(root, base):
            tried.append(f"/{base} (missing, or a symlink the agent will not follow)")
            continue
        try:
            created = Path(tempfile.mkdtemp(prefix=prefix, dir=root / base))
        except OSError as exc:
            tried.append(f"/{base} ({exc.strerror})")
            continue
        break
    if created is None:
        raise InjectionFailed(
            f"no writable temporary directory in the filesystem of process {target.pid}: {', '.join(tried)}",
            details={"pid": target.pid},
        )
    _chown_to_target(created, target)
    try:
        yield WorkDir(agent_path=created, target_path="/" + str(created.relative_to(root)))
    finally:
        shutil.rmtree(created, onerror=_log_cleanup_failure)


def _log_cleanup_failure(func: Any, path: str, exc_info: Any) -> None:
    log.warning("could not remove agent work file", path=path, error=str(exc_info[1]))


def write_for_target(path: Path, text: str, target: Target) -> None:
    """Create a new file the target will read; never through a link the target may have planted."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    _chown_to_target(path, target)


def regular_file(path: Path) -> bool:
    """True when the path is a regular file itself (not a symlink) - checked before reading it."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _stop_signal(target: Target) -> int:
    """A signal whose default action is to be ignored and that the target does not handle."""
    caught = 0
    with open(f"/proc/{target.pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                caught = int(line.split()[1], 16)
    for sig in (signal.SIGURG, signal.SIGWINCH):
        if not caught & (1 << (int(sig) - 1)):
            return int(sig)
    return int(signal.SIGURG)


def inject(target: Target, workdir: WorkDir, payload: str, params: dict[str, Any]) -> InjectionInfo:
    """Run `payloads/<payload>.py`'s `main(work_dir)` inside the target and return how it ran.

    `main` must return at once (gdb holds the process until it does): payloads read
    `params.json`, start a daemon thread and return; the thread writes `status.json` and
    whatever else the action polls for (`wait_for_json`).
    """
    ensure_not_traced(target)
    ensure_injection_is_safe(target.pid)
    source = (PAYLOAD_DIR / f"{payload}.py").read_text(encoding="utf-8")
    write_for_target(workdir.agent_file("payload.py"), source, target)
    write_for_target(workdir.agent_file("params.json"), json.dumps(params), target)
    # Only builtins and `io` (always loaded): `__loaded__` is the module table before the payload
    # imports anything, so `inspect` reports what the application loaded, not what we did.
    code = (
        "(lambda g, f: (exec(compile((f.read(), f.close())[0], {path!r}, 'exec'), g), g['main']({wd!r})))"
        "({{'__name__': '__wfhost_agent__', '__file__': {path!r}, '__loaded__': tuple(__import__('sys').modules)}},"
        " __import__('io').open_code({path!r}))"
    ).format(wd=workdir.target_path, path=workdir.target_file("payload.py"))
    argv = [*gdb_argv(), "-iex=set pagination off"]
    if not shares_root(target):
        argv.append(f"-iex=set sysroot {target_root(target)}")
    argv += ["-p", str(target.pid), "-x", str(GDB_INJECTOR)]
    env = {
        "WFHOST_INJECT_CODE": code,
        "WFHOST_INJECT_WAIT": str(SAFE_POINT_WAIT_SECONDS),
        "WFHOST_INJECT_SIGNAL": str(_stop_signal(target)),
    }
    run = run_tool(argv, timeout=GDB_TIMEOUT_SECONDS, env=env)
    report = _parse_report(run.stdout)
    if report is None:
        stderr = run.stderr.lower()
        if "no such process" in stderr or not target.is_alive():
            raise ProcessExited(
                f"process {target.pid} exited before gdb could attach", details={"pid": target.pid}
            )
        if "operation not permitted" in stderr:
            raise PtraceDenied(
                f"gdb was not allowed to attach to process {target.pid}; the debug container needs "
                "the SYS_PTRACE capability",
                details={"pid": target.pid, "tool": "gdb"},
            )
        raise failure_for(run, target, during=f"{payload} injection")
    log.info("gdb injection finished", pid=target.pid, payload=payload, report=report)
    if "error" in report:
        target.ensure_alive(f"{payload} injection")
        raise InjectionFailed(
            f"could not run code in process {target.pid}: {report['error']}",
            details={"pid": target.pid, "payload": payload},
        )
    if report.get("rc") != 0:
        raise InjectionFailed(
            f"the injected {payload} code raised inside process {target.pid} (see the process's stderr)",
            details={"pid": target.pid, "payload": payload, "rc": report.get("rc")},
        )
    return InjectionInfo(
        strategy=report["strategy"], thread_id=int(report["thread"]), gdb_seconds=round(run.seconds, 3)
    )


def _parse_report(stdout: str) -> dict[str, Any] | None:
    for line in stdout.splitlines():
        if line.startswith("WFHOST-INJECT "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("WFHOST-INJECT "))
            return parsed
    return None


def read_json(workdir: WorkDir, name: str) -> dict[str, Any] | None:
    """A JSON file the payload wrote, or None while it does not exist yet."""
    path = workdir.agent_file(name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, encoding="utf-8") as handle:
        text = handle.read()
    data: dict[str, Any] = json.loads(text)
    return data


def wait_for_json(
    target: Target, workdir: WorkDir, name: str, *, timeout: float, during: str
) -> dict[str, Any]:
    """Poll for a file the payload writes when done; fail if the target dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        data = read_json(workdir, name)
        if data is not None:
            return data
        target.ensure_alive(during)
        if time.monotonic() >= deadline:
            raise ToolTimeout(
                f"process {target.pid} did not finish {during} within {timeout:.0f} s",
                details={"pid": target.pid},
            )
        time.sleep(0.1)
