"""Which processes the agent may act on, and which runtime each of them runs.

Scope: in a pod the ephemeral container shares the target container's pid namespace, so every
visible process is fair game. Locally, `WFHOST_AGENT_TARGET_PID` stands in for that namespace:
only that process and its descendants are listed and accepted; `WFHOST_AGENT_TARGET_PID_FILE`,
when set and readable, names the target's current pid instead (the local kubelet rewrites it
when the target container restarts).

From a node pod (`hostPID`) the agent sees the whole node, so `select_container` narrows the
scope to the processes of one container, found by its pod UID and container ID in their cgroup
paths (`containers.py`); its main process then stands where the scope pid does.

Runtime detection (`runtimes.py`) reads `/proc/PID/maps` (a mapped `libpython3.X.so`,
`libjvm.so`), the executable's name (`python3.X`, `java`, `node`) and Go's build info in the
binary, which needs no attach and costs the target nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

from host.agent import containers, runtimes
from host.agent.errors import (
    BadArgument,
    NoSuchProcess,
    NotPython,
    OutOfScope,
    ProcessExited,
    PtraceDenied,
    TargetBusy,
    WrongRuntime,
)
from host.agent.runtimes import Runtime, RuntimeInfo

SCOPE_ENV = "WFHOST_AGENT_TARGET_PID"
SCOPE_FILE_ENV = "WFHOST_AGENT_TARGET_PID_FILE"


@dataclass(frozen=True)
class ContainerScope:
    """One container of a pod, named by the pod's UID and the container's ID (node pod)."""

    pod_uid: str
    container_id: str

    def pids(self) -> set[int]:
        return containers.members(self.pod_uid, self.container_id)


_container: ContainerScope | None = None


def select_container(pod_uid: str, container_id: str) -> ContainerScope:
    """Limit this run to one container's processes; NoSuchProcess when none of them is visible."""
    global _container
    scope = ContainerScope(containers.pod_uid(pod_uid), containers.container_hex(container_id))
    _container = scope
    if not scoped_pids():
        _container = None
        raise NoSuchProcess(
            f"no process of container {scope.container_id[:12]} of pod {scope.pod_uid} is visible: the "
            "container is not running, or the agent does not share the node's PID namespace (hostPID) "
            "or cannot read /proc/*/cgroup",
            details={"podUid": scope.pod_uid, "containerId": scope.container_id},
        )
    return scope


@dataclass(frozen=True)
class Target:
    """A live process (of the runtime the action needs) the agent was asked to act on."""

    pid: int
    process: psutil.Process
    runtime: RuntimeInfo
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


def namespace_pid() -> int | None:
    """The pid named by WFHOST_AGENT_TARGET_PID (or its file): the local stand-in for a PID namespace."""
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


def _namespace_pids() -> set[int] | None:
    root = namespace_pid()
    if root is None:
        return None
    try:
        proc = psutil.Process(root)
        return {root, *(child.pid for child in proc.children(recursive=True))}
    except psutil.NoSuchProcess as exc:
        raise NoSuchProcess(
            f"the scope process {root} ({SCOPE_ENV}) does not exist", details={"pid": root}
        ) from exc


def scope_pid() -> int | None:
    """The selected container's main pid, else the pid named by WFHOST_AGENT_TARGET_PID, or None when
    the agent sees the whole namespace."""
    if _container is not None:
        return containers.main_pid(scoped_pids() or set())
    return namespace_pid()


def scoped_pids() -> set[int] | None:
    """Pids the agent may act on, or None for every visible process. A selected container's
    processes count only where the agent can see them (locally: inside its stand-in namespace)."""
    visible = _namespace_pids()
    if _container is not None:
        mine = _container.pids()
        return mine if visible is None else mine & visible
    return visible


def python_version_of(pid: int) -> str | None:
    """major.minor of the CPython interpreter running as `pid`, or None if it is not one.

    Raises PermissionError when the process's maps cannot be read (no ptrace access).
    """
    return runtimes.detect(pid).python_version


def _article(runtime: str) -> str:
    return "an" if runtime[0] in "aeiou" else "a"


def resolve_target(pid: int, runtime: Runtime | None = "python") -> Target:
    """Check that `pid` exists, is in scope, can be traced and runs `runtime`; return it as a Target.

    A process of another runtime is refused with NotPython (for `python`) or WrongRuntime, naming
    the runtime it does run ("pid 12 (app) is a go process, not node"); `runtime=None` takes any."""
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
        found = runtimes.detect(pid)
    except PermissionError as exc:
        raise PtraceDenied(
            f"cannot read /proc/{pid} of process {pid} ({name}): permission denied; "
            "the agent needs the SYS_PTRACE capability and the same user or root",
            details={"pid": pid},
        ) from exc
    except (FileNotFoundError, ProcessLookupError) as exc:
        raise ProcessExited(f"process {pid} ({name}) exited", details={"pid": pid}) from exc
    details = {"pid": pid, "name": name, "runtime": found.runtime, "wanted": runtime}
    if runtime is not None and found.runtime != runtime and runtime == "python":
        other = "" if found.runtime == "native" else f"; it is {_article(found.runtime)} {found.runtime} process"
        raise NotPython(
            f"process {pid} ({name}) is not a Python process: no libpython mapped and the executable "
            f"is not named python*{other}",
            details=details,
        )
    if runtime is not None and found.runtime != runtime:
        raise WrongRuntime(
            f"pid {pid} ({name}) is {_article(found.runtime)} {found.runtime} process, not {runtime}",
            details=details,
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
    return Target(pid=pid, process=proc, runtime=found, root_fd=root_fd)


def process_status(pid: int) -> dict[str, str]:
    """The fields of `/proc/PID/status` (name -> value, stripped); ProcessExited when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise ProcessExited(f"process {pid} exited", details={"pid": pid}) from exc
    return {name: value.strip() for name, _, value in (line.partition(":") for line in text.splitlines()) if _}


def ensure_not_traced(target: Target) -> None:
    """Raise TargetBusy when another tracer (a debugger, another py-spy) is attached."""
    tracer = int(process_status(target.pid).get("TracerPid") or "0")
    if tracer:
        try:
            tracer_name = psutil.Process(tracer).name()
        except psutil.Error:
            tracer_name = "unknown"
        raise TargetBusy(
            f"process {target.pid} is already being traced by pid {tracer} ({tracer_name})",
            details={"pid": target.pid, "tracerPid": tracer, "tracerName": tracer_name},
        )
