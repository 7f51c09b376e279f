"""`inspect`: what the interpreter is and has loaded (asked inside it through gdb), plus what the
kernel says about its threads, files, sockets and environment (read from /proc with psutil).

Loaded modules need the interpreter's own view (`sys.modules`, `importlib.metadata`), so this
action injects `payloads/inspect_payload.py`; files, sockets and environment names come from
outside and cost the target nothing.
"""

from __future__ import annotations

import socket
from typing import Any

import psutil

from host.agent.errors import InjectionFailed
from host.agent.inject import inject, wait_for_json, work_dir
from host.agent.models import (
    InspectResult,
    InspectWarning,
    InterpreterInfo,
    ModuleInfo,
    OpenFile,
    SocketInfo,
    ThreadInfo,
)
from host.agent.procs import Target
from host.agent.tools import exclusive_target

# Last day of upstream support (security fixes) per minor version; later ones are still supported.
END_OF_LIFE = {
    "2.7": "2020-01-01",
    "3.5": "2020-09-13",
    "3.6": "2021-12-23",
    "3.7": "2023-06-27",
    "3.8": "2024-10-07",
    "3.9": "2025-10-31",
}
COLLECT_TIMEOUT_SECONDS = 60.0
HUGE_THREAD_COUNT = 200
HUGE_FD_COUNT = 5000


def _address(addr: Any) -> str | None:
    if not addr:
        return None
    if isinstance(addr, str):
        return addr
    return f"{addr.ip}:{addr.port}"


def _sockets(proc: psutil.Process) -> list[SocketInfo]:
    result: list[SocketInfo] = []
    for conn in proc.net_connections(kind="all"):
        result.append(
            SocketInfo(
                fd=conn.fd,
                family=socket.AddressFamily(conn.family).name,
                type=socket.SocketKind(conn.type).name,
                local_address=_address(conn.laddr),
                remote_address=_address(conn.raddr),
                status=conn.status,
            )
        )
    return sorted(result, key=lambda s: s.fd)


def _environment_names(target: Target) -> list[str]:
    with open(f"/proc/{target.pid}/environ", "rb") as environ:
        raw = environ.read()
    names = {entry.split(b"=", 1)[0].decode("utf-8", "replace") for entry in raw.split(b"\0") if entry}
    return sorted(names)


def _warnings(interpreter: InterpreterInfo, threads: int, fds: int) -> list[InspectWarning]:
    found: list[InspectWarning] = []
    minor = ".".join(interpreter.version.split(".")[:2])
    if minor in END_OF_LIFE:
        found.append(
            InspectWarning(
                code="end_of_life_python",
                message=f"Python {minor} reached end of life on {END_OF_LIFE[minor]} and gets no security fixes",
            )
        )
    if interpreter.debug_build:
        found.append(
            InspectWarning(
                code="debug_build", message="this is a debug build of Python: slower and uses more memory"
            )
        )
    if interpreter.implementation != "CPython":
        found.append(
            InspectWarning(
                code="not_cpython",
                message=f"{interpreter.implementation}: py-spy and memray support CPython only",
            )
        )
    if threads >= HUGE_THREAD_COUNT:
        found.append(
            InspectWarning(
                code="huge_thread_count", message=f"{threads} threads: a thread leak or an oversized pool?"
            )
        )
    if fds >= HUGE_FD_COUNT:
        found.append(
            InspectWarning(code="huge_fd_count", message=f"{fds} open file descriptors: a descriptor leak?")
        )
    return found


def run(target: Target) -> InspectResult:
    """Describe the interpreter, its loaded modules, threads, open files, sockets and environment."""
    with exclusive_target(target), work_dir(target) as workdir:
        injection = inject(target, workdir, "inspect_payload", {})
        status = wait_for_json(
            target, workdir, "status.json", timeout=COLLECT_TIMEOUT_SECONDS, during="inspection"
        )
    if not status.get("ok"):
        raise InjectionFailed(
            f"could not inspect process {target.pid}: {status.get('error')}", details={"pid": target.pid}
        )
    inside = status["result"]
    proc = target.process
    with proc.oneshot():
        open_files = sorted((OpenFile(fd=f.fd, path=f.path) for f in proc.open_files()), key=lambda f: f.fd)
        sockets = _sockets(proc)
        thread_count = proc.num_threads()
        fd_count = proc.num_fds()
    interpreter = InterpreterInfo.model_validate(inside["interpreter"])
    return InspectResult(
        pid=target.pid,
        method="gdb-injection",
        injection=injection,
        interpreter=interpreter,
        modules=[ModuleInfo.model_validate(module) for module in inside["modules"]],
        stdlib_modules=inside["stdlibModules"],
        threads=[ThreadInfo.model_validate(thread) for thread in inside["threads"]],
        open_files=open_files,
        sockets=sockets,
        environment_names=_environment_names(target),
        warnings=_warnings(interpreter, thread_count, fd_count),
    )
