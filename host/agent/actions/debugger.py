"""`debugger`: make the target listen for a debugpy client on 127.0.0.1:PORT.

debugpy is imported inside the target through gdb: its own copy when it has one, otherwise a
copy of the agent's placed in the target's filesystem (the agent's files are not visible in the
target's mount namespace in a pod). It listens on the loopback interface only: `kubectl
port-forward` connects to localhost inside the pod's network namespace, so nothing else on the
pod network can reach the debugger.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import structlog

from host.agent.errors import (
    AlreadyDebugging,
    BadArgument,
    InjectionFailed,
    PortInUse,
    ToolMissing,
    ToolTimeout,
)
from host.agent.inject import (
    WorkDir,
    inject,
    plain_dir,
    read_json,
    shares_root,
    target_root,
    wait_for_json,
    work_dir,
)
from host.agent.models import DebuggerResult, InjectionInfo
from host.agent.procs import Target
from host.agent.tools import exclusive_target

log = structlog.get_logger(__name__)

LISTEN_HOST = "127.0.0.1"
LISTEN_TIMEOUT_SECONDS = 60.0


def validate(port: int) -> None:
    if not 1024 <= port <= 65535:
        raise BadArgument(f"--port must be between 1024 and 65535, not {port}")


def ensure_port_free(port: int) -> None:
    """Raise PortInUse when something already listens on the port (in this network namespace)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((LISTEN_HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} is already in use in the pod's network namespace", details={"port": port}
            ) from exc
        raise
    finally:
        probe.close()


def _listening(port: int) -> bool:
    return any(
        conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
        for conn in psutil.net_connections(kind="tcp")
    )


def _agent_debugpy() -> tuple[Path, str]:
    try:
        import debugpy
    except ImportError as exc:
        raise ToolMissing("debugpy is not installed in the debug image") from exc
    return Path(debugpy.__file__).parent, str(debugpy.__version__)


def _stage_debugpy(target: Target) -> tuple[Path, str, bool]:
    """A directory in the target's filesystem holding `debugpy/`.

    Returns (agent's path, target's path, shared). In a pod it is a fresh copy, which stays after
    a successful start when the target uses it (the debugger keeps importing from it). For a
    local target it is one reusable directory holding a symlink to the agent's debugpy.
    """
    package, version = _agent_debugpy()
    root = target_root(target)
    if not plain_dir(root, "tmp"):
        raise InjectionFailed(
            f"process {target.pid} has no plain /tmp directory to stage debugpy in",
            details={"pid": target.pid},
        )
    if shares_root(target):
        digest = hashlib.blake2s(str(package).encode(), digest_size=4).hexdigest()
        staged = root / "tmp" / f"wfhost-debugpy-{version}-{digest}"
        staged.mkdir(mode=0o755, exist_ok=True)
        link = staged / "debugpy"
        if not plain_dir(root, f"tmp/{staged.name}") or os.lstat(staged).st_uid != os.geteuid():
            raise InjectionFailed(
                f"{staged} is not a directory the agent owns; remove it", details={"pid": target.pid}
            )
        if not link.is_symlink():
            link.symlink_to(package, target_is_directory=True)
        if Path(os.readlink(link)) != package:
            raise InjectionFailed(f"{link} points elsewhere; remove it", details={"pid": target.pid})
        return staged, "/" + str(staged.relative_to(root)), True
    staged = Path(tempfile.mkdtemp(prefix=f"wfhost-debugpy-{version}-", dir=root / "tmp"))
    shutil.copytree(package, staged / "debugpy", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    os.chmod(staged, 0o755)
    return staged, "/" + str(staged.relative_to(root)), False


def _log_cleanup_failure(func: Any, path: str, exc_info: Any) -> None:
    log.warning("could not remove staged debugpy", path=path, error=str(exc_info[1]))


def _launch_json(port: int, target: Target) -> dict[str, Any]:
    try:
        cwd = target.process.cwd()
    except psutil.Error:
        cwd = "/"
    return {
        "name": f"Attach to pid {target.pid} (wfhost)",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "localhost", "port": port},
        "pathMappings": [{"localRoot": "${workspaceFolder}", "remoteRoot": cwd}],
        "justMyCode": False,
    }


def _start_listening(
    target: Target, workdir: WorkDir, port: int, staged: str
) -> tuple[dict[str, Any], InjectionInfo]:
    """Inject the payload and wait until the port listens; return the payload's status."""
    params = {"host": LISTEN_HOST, "port": port, "debugpyPath": staged}
    injection = inject(target, workdir, "debugpy_payload", params)
    status = wait_for_json(
        target, workdir, "status.json", timeout=LISTEN_TIMEOUT_SECONDS, during="debugpy import"
    )
    deadline = time.monotonic() + LISTEN_TIMEOUT_SECONDS
    while True:
        failed = status if not status.get("ok") else read_json(workdir, "done.json")
        if failed is not None and not failed.get("ok"):
            if failed.get("kind") == "already_listening":
                raise AlreadyDebugging(
                    f"debugpy is already listening in process {target.pid}; connect to its existing port",
                    details={"pid": target.pid},
                )
            raise InjectionFailed(
                f"could not start debugpy in process {target.pid}: {failed.get('error')}",
                details={"pid": target.pid},
            )
        if failed is not None and _listening(port):
            return status, injection
        target.ensure_alive("debugger start")
        if time.monotonic() >= deadline:
            raise ToolTimeout(
                f"debugpy did not start listening on port {port} within {LISTEN_TIMEOUT_SECONDS:.0f} s",
                details={"pid": target.pid, "port": port},
            )
        time.sleep(0.1)


def run(target: Target, *, port: int, pod: str | None, namespace: str | None) -> DebuggerResult:
    """Start debugpy in the target on 127.0.0.1:`port` and say how to reach it."""
    validate(port)
    ensure_port_free(port)
    with exclusive_target(target), work_dir(target) as workdir:
        staged_here, staged_there, shared = _stage_debugpy(target)
        keep = shared
        try:
            status, injection = _start_listening(target, workdir, port, staged_there)
            keep = shared or status["source"] == "agent"
        finally:
            if not keep:
                shutil.rmtree(staged_here, onerror=_log_cleanup_failure)
    pod_ref = f"pod/{pod}" if pod else "pod/<pod>"
    return DebuggerResult(
        pid=target.pid,
        host=LISTEN_HOST,
        port=port,
        debugpy_version=str(status["version"]),
        debugpy_source="target" if status["source"] == "target" else "agent",
        port_forward_command=f"kubectl port-forward --namespace {namespace or '<namespace>'} {pod_ref} {port}:{port}",
        launch_json=_launch_json(port, target),
        injection=injection,
    )
