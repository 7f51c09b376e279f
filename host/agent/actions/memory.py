"""`memory`: track the target's allocations for a duration, with memray or, failing that, tracemalloc.

Both run *inside* the target, started through gdb (`host.agent.inject`): memray's own `memray
attach` would make the target load the agent's `_inject.abi3.so` and write to a path in the
agent's filesystem, neither of which exists in the target's mount namespace in a pod. The
payload imports the target's memray when it has the same version as the agent's (so the agent
can read the capture file), and otherwise starts the standard library's tracemalloc.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from host.agent.artifacts import ArtifactSink
from host.agent.errors import BadArgument, InjectionFailed, ToolFailed
from host.agent.inject import inject, regular_file, wait_for_json, work_dir
from host.agent.models import AllocationSite, Artifact, MemoryResult
from host.agent.procs import Target
from host.agent.tools import error_summary, exclusive_target, run_tool

MAX_DURATION_SECONDS = 300.0
TOP_SITES = 15
STACK_DEPTH = 8
START_TIMEOUT_SECONDS = 60.0


def validate(duration: float, method: str) -> None:
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise BadArgument(
            f"--duration must be between 1 and {MAX_DURATION_SECONDS:.0f} seconds, not {duration}"
        )
    if method not in ("auto", "tracemalloc"):
        raise BadArgument(f"--method must be auto or tracemalloc, not {method!r}")


def _agent_memray_version() -> str | None:
    try:
        import memray
    except ImportError:
        return None
    return str(getattr(memray, "__version__", "unknown"))


Frame = tuple[str, str, int]
UNKNOWN: Frame = ("<unknown>", "<unknown>", 0)


def _frame_text(frame: Frame) -> str:
    return f"{frame[0]} ({frame[1]}:{frame[2]})"


def _memray_summary(capture: Path, top: int, *, own_file: str) -> dict[str, Any]:
    """Totals, top sites and leak candidates from a capture, leaving out the payload's own allocations."""
    from memray import AllocatorType, FileReader

    freeing = {AllocatorType.FREE, AllocatorType.MUNMAP}
    by_stack: dict[tuple[int, int], tuple[Frame, list[Frame]] | None] = {}

    def site_of(record: Any) -> tuple[Frame, list[Frame]] | None:
        key = (record.tid, record.stack_id)
        if key not in by_stack:
            stack: list[Frame] = list(record.stack_trace())
            own = any(frame[1] == own_file for frame in stack)
            by_stack[key] = None if own else (stack[0] if stack else UNKNOWN, stack[:STACK_DEPTH])
        return by_stack[key]

    totals: dict[Frame, list[int]] = {}
    total_bytes = total_count = 0
    leaks: dict[Frame, tuple[list[int], list[Frame]]] = {}
    still_allocated = 0
    with FileReader(str(capture)) as reader:
        peak = int(reader.metadata.peak_memory)
        for record in reader.get_allocation_records():
            if record.allocator in freeing or (site := site_of(record)) is None:
                continue
            total_bytes += record.size
            total_count += 1
            entry = totals.setdefault(site[0], [0, 0])
            entry[0] += record.size
            entry[1] += 1
        for record in reader.get_leaked_allocation_records(merge_threads=True):
            if record.allocator in freeing or (site := site_of(record)) is None:
                continue
            still_allocated += record.size
            leak, _ = leaks.setdefault(site[0], ([0, 0], site[1]))
            leak[0] += record.size
            leak[1] += record.n_allocations
    sites = [
        AllocationSite(function=frame[0], file=frame[1], line=int(frame[2]), bytes=size, count=count)
        for frame, (size, count) in sorted(totals.items(), key=lambda item: item[1][0], reverse=True)[:top]
    ]
    leak_sites = [
        AllocationSite(
            function=frame[0],
            file=frame[1],
            line=int(frame[2]),
            bytes=size,
            count=count,
            stack=[_frame_text(f) for f in stack],
        )
        for frame, ((size, count), stack) in sorted(
            leaks.items(), key=lambda item: item[1][0][0], reverse=True
        )[:top]
    ]
    return {
        "total_allocated_bytes": total_bytes,
        "total_allocations": total_count,
        "peak_bytes": peak,
        "still_allocated_bytes": still_allocated,
        "top_allocation_sites": sites,
        "leak_candidates": leak_sites,
    }


def _memray_flamegraph(capture: Path, sink: ArtifactSink, target: Target) -> Artifact:
    with tempfile.TemporaryDirectory(prefix="wfhost-memray-") as tmp:
        html = Path(tmp) / "flamegraph.html"
        argv = [sys.executable, "-m", "memray", "flamegraph", "--output", str(html), str(capture)]
        rendered = run_tool(argv, timeout=120.0)
        if rendered.returncode != 0 or not html.exists():
            raise ToolFailed(
                f"memray flamegraph could not render the capture of process {target.pid}: "
                f"{error_summary(rendered.stderr)}",
                details={"pid": target.pid, "tool": "memray"},
            )
        return sink.add("memray-flamegraph.html", "text/html", html.read_bytes())


def _site_from_trace(entry: dict[str, Any]) -> AllocationSite:
    stack: list[dict[str, Any]] = entry["stack"]
    first: dict[str, Any] = stack[0] if stack else {"file": "<unknown>", "line": 0}
    return AllocationSite(
        function=None,
        file=str(first["file"]),
        line=int(first["line"]),
        bytes=int(entry["bytes"]),
        count=int(entry["count"]),
        stack=[f"{frame['file']}:{frame['line']}" for frame in stack[:STACK_DEPTH]],
    )


def run(target: Target, *, duration: float, method: str, top: int, sink: ArtifactSink) -> MemoryResult:
    """Track allocations for `duration` seconds and summarise them."""
    validate(duration, method)
    agent_memray = _agent_memray_version()
    params = {
        "duration": duration,
        "method": method if agent_memray is not None else "tracemalloc",
        "memrayVersion": agent_memray or "",
        "top": top,
    }
    with exclusive_target(target), work_dir(target) as workdir:
        injection = inject(target, workdir, "memory_payload", params)
        status = wait_for_json(
            target, workdir, "status.json", timeout=START_TIMEOUT_SECONDS, during="tracking start"
        )
        if not status.get("ok"):
            reason = status.get("error")
            raise InjectionFailed(
                f"could not start allocation tracking in process {target.pid}: {reason}",
                details={"pid": target.pid},
            )
        done = wait_for_json(
            target, workdir, "done.json", timeout=duration + 60.0, during="allocation tracking"
        )
        if not done.get("ok"):
            raise ToolFailed(
                f"allocation tracking in process {target.pid} failed at its end: {done.get('error')}",
                details={"pid": target.pid},
            )
        if status["method"] == "memray":
            capture = workdir.agent_file("memray.bin")
            if not regular_file(capture):
                raise ToolFailed(
                    f"process {target.pid} left no memray capture file", details={"pid": target.pid}
                )
            summary = _memray_summary(capture, top, own_file=workdir.target_file("payload.py"))
            artifacts = [_memray_flamegraph(capture, sink, target)]
            return MemoryResult(
                pid=target.pid,
                method="memray",
                fallback_reason=None,
                duration_seconds=duration,
                notes=[],
                injection=injection,
                artifacts=artifacts,
                **summary,
            )
    traced = done["tracemalloc"]
    notes = [
        "tracemalloc sees only allocations still alive at the end of the window: top allocation sites "
        "are where that surviving memory was allocated, and the total allocated is unknown",
    ]
    if traced.get("wasTracing"):
        notes.append(
            "tracemalloc was already running in the process; the result is the growth over the window"
        )
    return MemoryResult(
        pid=target.pid,
        method="tracemalloc",
        fallback_reason=status.get("fallbackReason"),
        duration_seconds=duration,
        total_allocated_bytes=None,
        total_allocations=None,
        peak_bytes=int(traced["peakBytes"]),
        still_allocated_bytes=int(traced["stillAllocatedBytes"]),
        top_allocation_sites=[_site_from_trace(entry) for entry in traced["sites"]],
        leak_candidates=[_site_from_trace(entry) for entry in traced["leaks"]],
        notes=notes,
        injection=injection,
        artifacts=[],
    )
