"""`ps`: every process in scope, each with its runtime (python, go, jvm, node, native; no attach, no pause)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import psutil

from host.agent.models import ProcessInfo, PsResult
from host.agent.procs import namespace_pid, scoped_pids
from host.agent.runtimes import RuntimeInfo, detect

CPU_SAMPLE_SECONDS = 0.25


def _user(proc: psutil.Process) -> str | None:
    try:
        return str(proc.username())
    except KeyError:  # uid without a passwd entry, common in containers
        return str(proc.uids().real)
    except psutil.AccessDenied:
        return None


def _exe(proc: psutil.Process) -> str | None:
    try:
        return str(proc.exe()) or None
    except psutil.AccessDenied:
        return None


def _runtime(pid: int) -> RuntimeInfo:
    try:
        return detect(pid)
    except (PermissionError, FileNotFoundError, ProcessLookupError):
        return RuntimeInfo("native")


def _mount_namespace(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/mnt").st_ino
    except OSError:
        return None


def _is_agent(proc: psutil.Process, own_namespace: int | None) -> bool:
    """The debug container's own agent processes (its `wait`, other actions), not the target's."""
    try:
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    named = any(arg.endswith("wfhost-agent") for arg in cmdline[:2]) or "host.agent" in cmdline[1:3]
    return named and own_namespace is not None and _mount_namespace(proc.pid) == own_namespace


def run() -> PsResult:
    """List the processes the agent may act on (all visible ones, or the scope's subtree), leaving
    out the agent's own processes."""
    allowed = scoped_pids()
    me = os.getpid()
    own_namespace = _mount_namespace("self")
    procs: list[psutil.Process] = []
    for proc in psutil.process_iter():
        if (
            proc.pid == me
            or (allowed is not None and proc.pid not in allowed)
            or _is_agent(proc, own_namespace)
        ):
            continue
        try:
            proc.cpu_percent(None)
        except psutil.Error:
            continue
        procs.append(proc)
    time.sleep(CPU_SAMPLE_SECONDS)
    infos: list[ProcessInfo] = []
    for proc in procs:
        try:
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                runtime = _runtime(proc.pid)
                infos.append(
                    ProcessInfo(
                        pid=proc.pid,
                        ppid=proc.ppid(),
                        user=_user(proc),
                        exe=_exe(proc),
                        cmdline=proc.cmdline(),
                        threads=proc.num_threads(),
                        rss_bytes=proc.memory_info().rss,
                        cpu_percent=round(proc.cpu_percent(None), 1),
                        start_time=datetime.fromtimestamp(proc.create_time(), tz=UTC),
                        python=runtime.runtime == "python",
                        python_version=runtime.python_version,
                        runtime=runtime.runtime,
                        runtime_version=runtime.version,
                        runtime_detail=runtime.detail,
                    )
                )
        except psutil.NoSuchProcess:
            continue
    return PsResult(scope_pid=namespace_pid(), processes=sorted(infos, key=lambda info: info.pid))
