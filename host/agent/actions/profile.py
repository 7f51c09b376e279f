"""`profile`: py-spy record for a duration; top functions by sample share and an SVG flamegraph.

py-spy reads the target's memory from outside (process_vm_readv) and briefly stops it for each
sample unless told otherwise; nothing is loaded into the target.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from host.agent.artifacts import ArtifactSink
from host.agent.errors import BadArgument, ProcessExited
from host.agent.flamegraph import parse_collapsed, render_svg, top_functions
from host.agent.models import ProfileOptions, ProfileResult
from host.agent.procs import Target, ensure_not_traced
from host.agent.tools import exclusive_target, failure_for, find_tool, run_tool

MAX_DURATION_SECONDS = 300
MAX_RATE = 1000
TOP_FUNCTIONS = 20
_SAMPLES = re.compile(r"Samples: (\d+) Errors: (\d+)")


def validate(duration: int, rate: int) -> None:
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise BadArgument(f"--duration must be 1 to {MAX_DURATION_SECONDS} whole seconds, not {duration}")
    if not 1 <= rate <= MAX_RATE:
        raise BadArgument(f"--rate must be between 1 and {MAX_RATE} samples per second, not {rate}")


def run(
    target: Target,
    *,
    duration: int,
    rate: int,
    idle: bool,
    subprocesses: bool,
    native: bool,
    sink: ArtifactSink,
) -> ProfileResult:
    """Sample the target's stacks for `duration` seconds at `rate` Hz."""
    validate(duration, rate)
    with tempfile.TemporaryDirectory(prefix="wfhost-profile-") as tmp, exclusive_target(target):
        ensure_not_traced(target)
        raw_path = Path(tmp) / "profile.txt"
        argv = [
            find_tool("py-spy"),
            "record",
            "--pid",
            str(target.pid),
            "--duration",
            str(duration),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--full-filenames",
            "--output",
            str(raw_path),
        ]
        argv += [
            flag
            for flag, on in (("--idle", idle), ("--subprocesses", subprocesses), ("--native", native))
            if on
        ]
        record = run_tool(argv, timeout=duration + 30.0)
        output = record.stdout + record.stderr
        if "process exited" in output or not target.is_alive():
            partial = _SAMPLES.search(output)
            raise ProcessExited(
                f"process {target.pid} exited while it was being profiled",
                details={"pid": target.pid, "samplesCollected": int(partial.group(1)) if partial else 0},
            )
        if record.returncode != 0 or not raw_path.exists():
            raise failure_for(record, target, during="profiling")
        stacks = parse_collapsed(raw_path.read_text(encoding="utf-8", errors="replace"))
    counts = _SAMPLES.search(output)
    samples = sum(count for _, count in stacks)
    title = f"py-spy profile of pid {target.pid}: {samples} samples over {duration} s at {rate} Hz"
    svg = render_svg(stacks, title=title)
    return ProfileResult(
        pid=target.pid,
        duration_seconds=duration,
        rate=rate,
        samples=samples,
        sampling_errors=int(counts.group(2)) if counts else 0,
        options=ProfileOptions(idle=idle, subprocesses=subprocesses, native=native),
        top_functions=top_functions(stacks, limit=TOP_FUNCTIONS),
        artifacts=[sink.add("flamegraph.svg", "image/svg+xml", svg.encode("utf-8"))],
    )
