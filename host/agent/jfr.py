"""Summarizing a JFR recording with the JDK's own `jfr` tool: hot methods and allocating classes.

`jfr print --events jdk.ExecutionSample,jdk.ObjectAllocationSample --stack-depth 64 FILE` prints
each event as a block (`jdk.ExecutionSample {`, `key = value` lines, a `stackTrace = [` list of
`pkg.Class.method(args) line: N` frames, innermost first, `]`, `}`); the text form is a tenth of
the JSON one. The tool runs with a bounded heap, its output goes to a file checked against
`MAX_OUTPUT_BYTES` while it runs, and it is stopped past its timeout.

Hot methods go through `flamegraph.py` like every other profile (frames as `Class.method`, no
file). An allocation sample's `weight` is the bytes it stands for (printed with units: `2.4 MB`),
so classes are ranked by the sum of their weights.
"""

from __future__ import annotations

import collections
import contextlib
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from host.agent.errors import ProtocolError, ToolFailed, ToolTimeout
from host.agent.flamegraph import Frame
from host.agent.models import JavaAllocationStat
from host.agent.tools import find_tool

log = structlog.get_logger(__name__)

EVENTS = ("jdk.ExecutionSample", "jdk.ObjectAllocationSample")
STACK_DEPTH = 64
MAX_OUTPUT_BYTES = 512 << 20
TOOL_HEAP = "-J-Xmx256m"
POLL_SECONDS = 0.1

_EVENT_START = re.compile(r"^(?P<type>jdk\.\w+) \{$")
_FIELD = re.compile(r"^  (?P<key>\w+) = (?P<value>.*)$")
_STACK_FRAME = re.compile(r"^\s{4}(?P<method>[^\s(][^(]*)\((?P<args>[^)]*)\)(?: line: (?P<line>\d+))?")
_WEIGHT = re.compile(r"^(?P<number>[\d.,]+) ?(?P<unit>bytes|byte|kB|KB|MB|GB|TB)?$")
_UNITS = {None: 1, "byte": 1, "bytes": 1, "kB": 1 << 10, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


@dataclass
class Event:
    type: str
    fields: dict[str, str]
    frames: list[Frame]


def weight_bytes(text: str) -> int:
    """`2.4 MB` -> 2516582; `512 bytes` -> 512 (jfr prints sizes with units)."""
    match = _WEIGHT.match(text.strip())
    if match is None:
        return 0
    return int(float(match["number"].replace(",", "")) * _UNITS[match["unit"]])


def class_name(text: str) -> str:
    """`byte[] (classLoader = bootstrap)` -> `byte[]`."""
    return text.split(" (classLoader", 1)[0].strip().strip('"')


def parse_events(text: str) -> list[Event]:
    """Every event block of `jfr print`'s text output, its stack innermost frame first."""
    events: list[Event] = []
    current: Event | None = None
    in_stack = False
    for line in text.splitlines():
        if current is None:
            if (start := _EVENT_START.match(line)) is not None:
                current = Event(type=start["type"], fields={}, frames=[])
            continue
        if line == "}":
            events.append(current)
            current, in_stack = None, False
        elif in_stack:
            if line.strip() == "]":
                in_stack = False
            elif (frame := _STACK_FRAME.match(line)) is not None:
                number = frame["line"]
                current.frames.append(Frame(function=frame["method"], file=None, line=int(number) if number else None))
        elif (field := _FIELD.match(line)) is not None:
            if field["key"] == "stackTrace" and field["value"] == "[":
                in_stack = True
            else:
                current.fields[field["key"]] = field["value"]
    return events


def execution_stacks(events: list[Event]) -> list[tuple[list[Frame], int]]:
    """Execution samples as (outermost-first stack, count), as `flamegraph.py` takes them."""
    counted: collections.Counter[tuple[Frame, ...]] = collections.Counter(
        tuple(reversed(e.frames)) for e in events if e.type == "jdk.ExecutionSample" and e.frames
    )
    return [(list(frames), count) for frames, count in counted.most_common()]


def top_allocations(events: list[Event], *, limit: int) -> tuple[int, list[JavaAllocationStat]]:
    """(allocation samples, classes by estimated bytes allocated, largest first)."""
    samples = [e for e in events if e.type == "jdk.ObjectAllocationSample"]
    by_class: dict[str, int] = collections.defaultdict(int)
    counts: collections.Counter[str] = collections.Counter()
    sites: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for event in samples:
        name = class_name(event.fields.get("objectClass", "unknown"))
        weight = weight_bytes(event.fields.get("weight", "0"))
        by_class[name] += weight
        counts[name] += 1
        if event.frames:
            sites[name][event.frames[0].function] += weight
    total = sum(by_class.values())
    ranked = sorted(by_class, key=lambda name: -by_class[name])[:limit]
    return len(samples), [
        JavaAllocationStat(
            class_name=name,
            bytes=by_class[name],
            share=round(by_class[name] / total, 4) if total else 0.0,
            samples=counts[name],
            top_site=sites[name].most_common(1)[0][0] if sites[name] else None,
        )
        for name in ranked
    ]


def find_jfr() -> str:
    """The JDK's `jfr` tool, or ToolMissing naming it (checked before anything is recorded)."""
    return find_tool("jfr")


def print_events(tool: str, recording: Path, *, work_dir: Path, timeout: float) -> str:
    """`jfr print` of the sampled events, bounded in time and output size."""
    argv = [tool, TOOL_HEAP, "print", "--events", ",".join(EVENTS),
            "--stack-depth", str(STACK_DEPTH), str(recording)]
    out_path, err_path = work_dir / "events.txt", work_dir / "jfr.stderr"
    began = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            while proc.poll() is None:
                if time.monotonic() - began > timeout:
                    raise ToolTimeout(
                        f"jfr print did not finish within {timeout:.0f} s and was stopped",
                        details={"tool": "jfr", "timeoutSeconds": timeout},
                    )
                if out_path.stat().st_size > MAX_OUTPUT_BYTES:
                    raise ProtocolError(
                        f"jfr print's output of the recording is over {MAX_OUTPUT_BYTES} bytes: record for less time",
                        details={"tool": "jfr"},
                    )
                time.sleep(POLL_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
    log.debug("jfr print done", seconds=round(time.monotonic() - began, 3), returncode=proc.returncode)
    if proc.returncode != 0:
        stderr = err_path.read_bytes()[-600:].decode("utf-8", "replace").strip()
        raise ToolFailed(
            f"jfr print failed (exit status {proc.returncode}): {stderr}",
            details={"tool": "jfr", "returncode": proc.returncode},
        )
    return out_path.read_text(encoding="utf-8", errors="replace")
