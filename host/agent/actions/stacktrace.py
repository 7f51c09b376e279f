"""`stacktrace`: py-spy dump of every thread, N times at an interval (optionally with locals).

Each dump stops the target only for as long as py-spy needs to copy the stacks out of it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from host.agent.errors import BadArgument, ProcessExited, ToolFailed
from host.agent.models import LocalVariable, StackFrame, StackSnapshot, StackTraceResult, ThreadStack
from host.agent.procs import Target, ensure_not_traced
from host.agent.tools import exclusive_target, failure_for, find_tool, run_tool

MAX_COUNT = 100
MAX_INTERVAL_SECONDS = 60.0
DUMP_TIMEOUT_SECONDS = 30.0


def validate(count: int, interval: float) -> None:
    if not 1 <= count <= MAX_COUNT:
        raise BadArgument(f"--count must be between 1 and {MAX_COUNT}, not {count}")
    if not 0 <= interval <= MAX_INTERVAL_SECONDS:
        raise BadArgument(
            f"--interval must be between 0 and {MAX_INTERVAL_SECONDS:.0f} seconds, not {interval}"
        )


def _frame(raw: dict[str, Any], with_locals: bool) -> StackFrame:
    local_vars = None
    if with_locals:
        local_vars = [
            LocalVariable(name=str(var["name"]), repr=var.get("repr"), arg=bool(var.get("arg")))
            for var in raw.get("locals") or []
        ]
    return StackFrame(
        function=str(raw["name"]),
        file=str(raw["filename"]),
        line=int(raw.get("line") or 0),
        locals=local_vars,
    )


def _thread(raw: dict[str, Any], with_locals: bool) -> ThreadStack:
    return ThreadStack(
        thread_id=int(raw["thread_id"]),
        os_thread_id=raw.get("os_thread_id"),
        name=raw.get("thread_name"),
        active=bool(raw.get("active")),
        owns_gil=bool(raw.get("owns_gil")),
        frames=[_frame(frame, with_locals) for frame in raw.get("frames", [])],
    )


def _dump(target: Target, with_locals: bool) -> StackSnapshot:
    argv = [find_tool("py-spy"), "dump", "--pid", str(target.pid), "--json"]
    if with_locals:
        argv.append("--locals")
    taken_at = datetime.now(tz=UTC)
    dump = run_tool(argv, timeout=DUMP_TIMEOUT_SECONDS)
    if dump.returncode != 0:
        raise failure_for(dump, target, during="a stack dump")
    try:
        threads = json.loads(dump.stdout)
    except json.JSONDecodeError as exc:
        raise ToolFailed(
            f"py-spy dump printed something that is not JSON: {dump.stdout[:200]!r}",
            details={"pid": target.pid, "tool": "py-spy"},
        ) from exc
    return StackSnapshot(taken_at=taken_at, threads=[_thread(raw, with_locals) for raw in threads])


def run(target: Target, *, count: int, interval: float, with_locals: bool) -> StackTraceResult:
    """Dump every thread's stack `count` times, `interval` seconds apart."""
    validate(count, interval)
    snapshots: list[StackSnapshot] = []
    with exclusive_target(target):
        for index in range(count):
            if index:
                time.sleep(interval)
            try:
                target.ensure_alive(f"stack dump {index + 1} of {count}")
                ensure_not_traced(target)
                snapshots.append(_dump(target, with_locals))
            except ProcessExited as exc:
                exc.details["snapshotsTaken"] = len(snapshots)
                raise
    return StackTraceResult(pid=target.pid, count=count, interval_seconds=interval, snapshots=snapshots)
