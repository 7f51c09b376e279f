"""Reading what HotSpot prints: a thread dump (`threaddump`) and a class histogram
(`GC.class_histogram`), into the agent's models.

A thread dump is a heading (`Full thread dump <VM>:`), one block per thread (a quoted name line,
`java.lang.Thread.State: X (detail)`, `at` frames and `- locked`/`- waiting to lock` lines), and,
when the JVM's own detection found a cycle, one `Found one Java-level deadlock:` section per
cycle: `"name":` / `waiting to lock monitor ...` / `which is held by "other"`, then the
threads' stacks. Lines that fit none of these are skipped, so a newer JVM's extra fields cost a
field, not the dump.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

from host.agent.models import (
    DeadlockedThread,
    JavaClassStat,
    JavaDeadlock,
    JavaFrame,
    JavaStateCount,
    JavaThread,
)

MAX_FRAMES = 64

_HEADING = re.compile(r"^Full thread dump (?P<vm>.+?):?$")
_THREAD = re.compile(r'^"(?P<name>.*)"(?P<rest> .*(?:prio|tid|nid)=.*)$')
_NUMBER = re.compile(r" #(\d+)")
_CPU = re.compile(r" cpu=([\d.]+)ms")
_STATE = re.compile(r"^\s+java\.lang\.Thread\.State: (?P<state>\w+)(?: \((?P<detail>[^)]*)\))?")
_FRAME = re.compile(r"^\s+at (?P<method>[^(]+)(?:\((?P<location>.*)\))?$")
_LOCK = re.compile(r"^\s+- (?P<lock>.+)$")
_DEADLOCK_START = "Found one Java-level deadlock:"
_DEADLOCK_STACKS = "Java stack information for the threads listed above:"
_DEADLOCK_NAME = re.compile(r'^"(?P<name>.*)":$')
_HELD_BY = re.compile(r'^\s+which is held by "(?P<name>.*)"')
_HISTOGRAM_ROW = re.compile(r"^\s*\d+:\s+(?P<instances>\d+)\s+(?P<bytes>\d+)\s+(?P<name>\S+)(?: \((?P<module>[^)]*)\))?\s*$")
_HISTOGRAM_TOTAL = re.compile(r"^Total\s+(?P<instances>\d+)\s+(?P<bytes>\d+)\s*$")


@dataclass(frozen=True)
class ThreadDump:
    vm: str | None
    threads: list[JavaThread]
    deadlocks: list[JavaDeadlock]


def _location(text: str | None) -> str | None:
    """`java.base@17.0.15/Thread.java:840` -> `Thread.java:840` (the module is in the method's class)."""
    if text is None:
        return None
    return text.rsplit("/", 1)[-1]


def _frames(lines: list[str]) -> list[JavaFrame]:
    frames: list[JavaFrame] = []
    for line in lines:
        if (frame := _FRAME.match(line)) is not None:
            if len(frames) < MAX_FRAMES:
                frames.append(JavaFrame(method=frame["method"], location=_location(frame["location"]), locks=[]))
        elif (lock := _LOCK.match(line)) is not None and frames and len(frames) <= MAX_FRAMES:
            last = frames[-1]
            frames[-1] = last.model_copy(update={"locks": [*last.locks, lock["lock"]]})
    return frames


def _thread(header: re.Match[str], body: list[str]) -> JavaThread:
    rest = header["rest"]
    number = _NUMBER.search(rest)
    cpu = _CPU.search(rest)
    state = next((m for line in body if (m := _STATE.match(line)) is not None), None)
    return JavaThread(
        name=header["name"],
        number=int(number.group(1)) if number else None,
        daemon=" daemon " in rest,
        state=state["state"] if state else None,
        state_detail=state["detail"] if state else None,
        cpu_millis=float(cpu.group(1)) if cpu else None,
        frames=_frames(body),
    )


def _deadlock(lines: list[str], stacks: dict[str, list[JavaFrame]]) -> JavaDeadlock:
    threads: list[DeadlockedThread] = []
    name: str | None = None
    waiting: list[str] = []
    for line in lines:
        if (named := _DEADLOCK_NAME.match(line)) is not None:
            name, waiting = named["name"], []
        elif (held := _HELD_BY.match(line)) is not None and name is not None:
            threads.append(
                DeadlockedThread(
                    name=name,
                    waiting_for=" ".join(waiting).rstrip(","),
                    held_by=held["name"],
                    frames=stacks.get(name, []),
                )
            )
            name = None
        elif name is not None and line.strip():
            waiting.append(line.strip())
    return JavaDeadlock(threads=threads)


def _deadlock_stacks(lines: list[str]) -> dict[str, list[JavaFrame]]:
    stacks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if (named := _DEADLOCK_NAME.match(line)) is not None:
            current = stacks.setdefault(named["name"], [])
        elif current is not None:
            current.append(line)
    return {name: _frames(body) for name, body in stacks.items()}


def parse_thread_dump(text: str) -> ThreadDump:
    """The threads (Java threads and the VM's own), and the deadlock cycles the JVM reported."""
    lines = text.splitlines()
    vm = next((m["vm"] for line in lines[:5] if (m := _HEADING.match(line)) is not None), None)
    cut = next((i for i, line in enumerate(lines) if line.startswith(_DEADLOCK_START)), len(lines))
    threads: list[JavaThread] = []
    header: re.Match[str] | None = None
    body: list[str] = []
    for line in [*lines[:cut], ""]:
        match = _THREAD.match(line)
        if (match is not None or not line.strip() or line.startswith("JNI global")) and header is not None:
            threads.append(_thread(header, body))
            header, body = None, []
        if match is not None:
            header = match
        elif header is not None:
            body.append(line)
    deadlocks: list[JavaDeadlock] = []
    sections = "\n".join(lines[cut:]).split(_DEADLOCK_START)
    for section in sections[1:]:
        cycle, _, stacks_text = section.partition(_DEADLOCK_STACKS)
        found = _deadlock(cycle.splitlines(), _deadlock_stacks(stacks_text.splitlines()))
        if found.threads:
            deadlocks.append(found)
    return ThreadDump(vm=vm, threads=threads, deadlocks=deadlocks)


def by_state(threads: list[JavaThread]) -> list[JavaStateCount]:
    """Java threads (numbered ones) counted by state, most common first."""
    counts = collections.Counter(t.state or "unknown" for t in threads if t.number is not None)
    return [JavaStateCount(state=state, count=count) for state, count in counts.most_common()]


@dataclass(frozen=True)
class Histogram:
    classes: list[JavaClassStat]
    class_count: int
    total_instances: int
    total_bytes: int


def parse_histogram(text: str, *, top: int) -> Histogram:
    """`GC.class_histogram`'s rows (largest first, as the JVM sorts them) and its total line."""
    rows: list[tuple[str, str | None, int, int]] = []
    total_instances = total_bytes = 0
    for line in text.splitlines():
        if (row := _HISTOGRAM_ROW.match(line)) is not None:
            rows.append((row["name"], row["module"], int(row["instances"]), int(row["bytes"])))
        elif (total := _HISTOGRAM_TOTAL.match(line)) is not None:
            total_instances, total_bytes = int(total["instances"]), int(total["bytes"])
    if not total_bytes:
        total_instances = sum(r[2] for r in rows)
        total_bytes = sum(r[3] for r in rows)
    rows.sort(key=lambda r: -r[3])
    return Histogram(
        classes=[
            JavaClassStat(
                class_name=name,
                module=module,
                instances=instances,
                bytes=size,
                share=round(size / total_bytes, 4) if total_bytes else 0.0,
            )
            for name, module, instances, size in rows[:top]
        ],
        class_count=len(rows),
        total_instances=total_instances,
        total_bytes=total_bytes,
    )
