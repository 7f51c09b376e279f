"""Inside the target: track allocations for a while with memray, or with tracemalloc when the
process cannot import the agent's memray version.

`main` only starts a daemon thread, so gdb detaches at once. The thread starts tracking, writes
`status.json` (which method, and why not memray), stops after the duration and writes `done.json`
(with `memray.bin` beside it, or the tracemalloc summary inside it).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

_TRACEMALLOC_FRAMES = 16


def _write(work_dir: str, name: str, data: dict[str, Any]) -> None:
    temp = os.path.join(work_dir, name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temp, os.path.join(work_dir, name))


def _enter_memray(work_dir: str) -> Any:
    """Start a memray tracker. This runs on a thread of our own: a tracker started on a thread
    whose stack it did not see being built (the one gdb interrupted) records that thread's later
    allocations without Python stacks."""
    import memray

    tracker = memray.Tracker(
        os.path.join(work_dir, "memray.bin"),
        native_traces=False,
        follow_fork=False,
        trace_python_allocators=False,
    )
    tracker.__enter__()
    return tracker


def _site(trace: Any) -> list[dict[str, Any]]:
    return [{"file": frame.filename, "line": frame.lineno} for frame in reversed(list(trace))]


def _track_with_tracemalloc(work_dir: str, duration: float, top: int, reason: str | None) -> None:
    import tracemalloc

    was_tracing = tracemalloc.is_tracing()
    baseline = tracemalloc.take_snapshot() if was_tracing else None
    if not was_tracing:
        tracemalloc.start(_TRACEMALLOC_FRAMES)
    _write(work_dir, "status.json", {"ok": True, "method": "tracemalloc", "fallbackReason": reason})
    ignore = [
        tracemalloc.Filter(False, __file__, all_frames=True),
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    time.sleep(duration)
    snapshot = tracemalloc.take_snapshot().filter_traces(ignore)
    current, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    sites: list[dict[str, Any]]
    leaks: list[dict[str, Any]]
    if baseline is not None:
        before = baseline.filter_traces(ignore)
        sites = [
            {"stack": _site(s.traceback), "bytes": s.size_diff, "count": s.count_diff}
            for s in snapshot.compare_to(before, "lineno")
            if s.size_diff > 0
        ]
        leaks = [
            {"stack": _site(s.traceback), "bytes": s.size_diff, "count": s.count_diff}
            for s in snapshot.compare_to(before, "traceback")
            if s.size_diff > 0
        ]
    else:
        sites = [
            {"stack": _site(s.traceback), "bytes": s.size, "count": s.count}
            for s in snapshot.statistics("lineno")
        ]
        leaks = [
            {"stack": _site(s.traceback), "bytes": s.size, "count": s.count}
            for s in snapshot.statistics("traceback")
        ]
    result = {
        "peakBytes": peak,
        "currentBytes": current,
        "stillAllocatedBytes": sum(site["bytes"] for site in sites),
        "sites": sites[:top],
        "leaks": leaks[:top],
        "wasTracing": was_tracing,
    }
    _write(work_dir, "done.json", {"ok": True, "tracemalloc": result})


def _memray_unusable(wanted: str) -> str | None:
    try:
        import memray
    except ImportError as exc:
        return f"the process cannot import memray ({exc})"
    version = getattr(memray, "__version__", "unknown")
    if version != wanted:
        return f"the process has memray {version} but the agent reads memray {wanted} files"
    return None


def _track(work_dir: str, params: dict[str, Any]) -> None:
    status_written = False
    try:
        duration = float(params["duration"])
        reason = "tracemalloc was requested" if params["method"] == "tracemalloc" else None
        reason = reason or _memray_unusable(params["memrayVersion"])
        if reason is None:
            try:
                tracker = _enter_memray(work_dir)
            except Exception as exc:  # noqa: BLE001 - e.g. another memray tracker is active
                reason = f"memray could not start tracking ({type(exc).__name__}: {exc})"
            else:
                _write(work_dir, "status.json", {"ok": True, "method": "memray", "fallbackReason": None})
                status_written = True
                time.sleep(duration)
                tracker.__exit__(None, None, None)
                _write(work_dir, "done.json", {"ok": True})
                return
        status_written = True  # written by the tracemalloc path as soon as tracing runs
        _track_with_tracemalloc(work_dir, duration, int(params["top"]), reason)
    except Exception as exc:  # noqa: BLE001 - reported to the agent; the target must not print it
        error = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if not status_written or not os.path.exists(os.path.join(work_dir, "status.json")):
            _write(work_dir, "status.json", error)
        _write(work_dir, "done.json", error)


def main(work_dir: str) -> None:
    """Start tracking on a daemon thread and return at once, so gdb detaches right away."""
    with open(os.path.join(work_dir, "params.json"), encoding="utf-8") as handle:
        params = json.load(handle)
    threading.Thread(target=_track, args=(work_dir, params), name="wfhost-agent-memory", daemon=True).start()
