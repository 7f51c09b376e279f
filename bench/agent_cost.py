"""The debug agent's cost on its target: throughput while an action runs, and the longest pause.

    .venv/bin/python bench/agent_cost.py [--rounds 3]

A target process runs a busy loop of small units of work (a dict, a str, a 1 KiB buffer) and
reports every 0.2 s how many units it finished and the longest gap between two consecutive
units. For each action the bench compares the target's throughput during the action with its
baseline, and reports the longest gap (how long the target stood still). docs/debugging.md
records the results; numbers are medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TARGET = r"""
import json, sys, time
WINDOW = 0.2
def schedstat():
    with open("/proc/thread-self/schedstat") as f:
        on_cpu, waiting, _ = f.read().split()
    return int(on_cpu), int(waiting)
def work(i):
    record = {"id": i, "tags": [i, i + 1]}
    buffer = bytearray(1024)
    return len(str(record)) + len(buffer)
done = 0
last = window_start = time.perf_counter()
cpu0, wait0 = schedstat()
max_gap = 0.0
i = 0
print("ready", flush=True)
while True:
    work(i)
    i += 1
    done += 1
    now = time.perf_counter()
    max_gap = max(max_gap, now - last)
    last = now
    if now - window_start >= WINDOW:
        cpu1, wait1 = schedstat()
        wall_ns = (now - window_start) * 1e9
        print(json.dumps({
            "t": time.time(),
            "perCpuSecond": done / ((cpu1 - cpu0) / 1e9),
            "stoppedMs": max(0.0, wall_ns - (cpu1 - cpu0) - (wait1 - wait0)) / 1e6,
            "wallMs": wall_ns / 1e6,
            "gapMs": max_gap * 1000,
        }), flush=True)
        done, max_gap, window_start = 0, 0.0, now
        cpu0, wait0 = schedstat()
"""


@dataclass
class Window:
    t: float
    per_cpu: float
    stopped_ms: float
    wall_ms: float
    gap_ms: float


class Target:
    """The busy-loop target and a reader collecting its windows."""

    def __init__(self, script: Path, flags: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, *flags, str(script)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"
        self.windows: queue.Queue[Window] = queue.Queue()
        self.seen: list[Window] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            d = json.loads(line)
            self.windows.put(Window(d["t"], d["perCpuSecond"], d["stoppedMs"], d["wallMs"], d["gapMs"]))

    def between(self, start: float, end: float) -> list[Window]:
        """Windows that overlap [start, end] (a window is stamped when it ends)."""
        while not self.windows.empty():
            self.seen.append(self.windows.get())
        return [w for w in self.seen if w.t > start and w.t - w.wall_ms / 1000 < end]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def agent(*args: str) -> tuple[dict[str, object], float]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "host.agent", *args], capture_output=True, text=True, cwd=REPO, check=False
    )
    reply: dict[str, object] = json.loads(out.stdout)
    assert reply["ok"], reply
    return reply, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stopped_share(windows: list[Window]) -> float:
    return sum(w.stopped_ms for w in windows) / sum(w.wall_ms for w in windows)


def measure(target: Target, args: list[str], settle: float = 1.0) -> dict[str, float]:
    """Baseline for 2 s, then the action: work per CPU-second and time stopped, against baseline."""
    time.sleep(settle)
    base_start = time.time()
    time.sleep(2.0)
    base = target.between(base_start, time.time())
    start = time.time()
    _, wall = agent(*args)
    end = time.time()
    time.sleep(0.5)
    during = target.between(start, end)
    stopped_ms = sum(w.stopped_ms for w in during) - _stopped_share(base) * sum(w.wall_ms for w in during)
    return {
        "cpuEfficiency": statistics.median(w.per_cpu for w in during)
        / statistics.median(w.per_cpu for w in base),
        "stoppedShare": _stopped_share(during),
        "baseStoppedShare": _stopped_share(base),
        "stoppedMs": max(0.0, stopped_ms),
        "longestStopMs": max(w.stopped_ms for w in during),
        "agentSeconds": wall,
    }


ACTIONS: list[tuple[str, list[str], list[str]]] = [
    ("profile 100 Hz", ["profile", "--duration", "5"], []),
    ("profile 1000 Hz", ["profile", "--duration", "5", "--rate", "1000"], []),
    ("stacktrace", ["stacktrace"], []),
    ("stacktrace --locals", ["stacktrace", "--locals"], []),
    ("inspect", ["inspect"], []),
    ("memory (memray)", ["memory", "--duration", "5"], []),
    ("memory (tracemalloc)", ["memory", "--duration", "5"], ["-I", "-S"]),
    ("debugger", ["debugger", "--port", "PORT"], []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "busy_target.py"
        script.write_text(TARGET, encoding="utf-8")
        print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {rounds} rounds, medians")
        for name, args, flags in ACTIONS:
            results = []
            for _ in range(rounds):
                target = Target(script, flags)
                try:
                    argv = [a if a != "PORT" else str(free_port()) for a in args] + [
                        "--pid",
                        str(target.proc.pid),
                    ]
                    results.append(measure(target, argv))
                    if name == "debugger":
                        time.sleep(1.0)
                        after_start = time.time()
                        time.sleep(2.0)
                        after = target.between(after_start, time.time())
                        base = statistics.median(w.per_cpu for w in target.seen[:10])
                        results[-1]["afterEfficiency"] = statistics.median(w.per_cpu for w in after) / base
                finally:
                    target.stop()
            row = {key: statistics.median(r[key] for r in results) for key in results[0]}
            line = (
                f"{name:22s} work/CPU-s {row['cpuEfficiency']:6.1%} of baseline | stopped {row['stoppedMs']:7.1f} ms "
                f"in all ({row['stoppedShare']:5.1%} of the action's wall time, baseline {row['baseStoppedShare']:4.1%}), "
                f"worst 0.2 s window {row['longestStopMs']:6.1f} ms | agent {row['agentSeconds']:5.2f} s"
            )
            if "afterEfficiency" in row:
                line += f" | work/CPU-s afterwards {row['afterEfficiency']:6.1%}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
