"""The Go, Node.js and Java debug actions' cost on their target, measured as bench/agent_cost.py does
for the Python ones: work per CPU-second and per wall second while the action runs, against
the target's own baseline, and the longest gap between two units of work (how long it stood
still).

    .venv/bin/python bench/runtime_cost.py [--rounds 3] [--duration 5]

Each target (a Go program with net/http/pprof, a Node.js script, a Java program) runs a loop of
small units of work (a map, a string, a 1 KiB buffer) and prints every 0.2 s how many units it
finished per CPU-second of the whole process (getrusage / process.cpuUsage / the JVM's process
CPU time) and per wall second, and its longest gap. Every round runs the target twice, with the action and as a control that only
waits as long, after a 12 s warm-up (the Node.js loop's rate falls by a quarter over its first
~10 s, then holds; the JVM's JIT settles in it too), and divides: the ratios compare the target
with itself at the same age. The JVM also logs its safepoints (`-Xlog:safepoint`): the time its
Java threads stood still in them during the action, less the control's, does not depend on how
busy the machine is. Needs `go`, and `node` and a JDK (`javac`) for theirs; prints one
JSON line per action with medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

GO_TARGET = r"""
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"syscall"
	"time"
)

var sink int

func work(i int) int {
	record := map[string]int{"id": i, "next": i + 1}
	text := strconv.Itoa(record["id"]) + "-" + strconv.Itoa(record["next"])
	buffer := make([]byte, 1024)
	return len(text) + len(buffer)
}

func cpu() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	go func() { _ = http.Serve(listener, nil) }()
	fmt.Println("ready", listener.Addr().(*net.TCPAddr).Port)
	done, i := 0, 0
	start, last := time.Now(), time.Now()
	cpu0 := cpu()
	maxGap := 0.0
	for {
		sink += work(i)
		i++
		done++
		now := time.Now()
		if gap := now.Sub(last).Seconds(); gap > maxGap {
			maxGap = gap
		}
		last = now
		if wall := now.Sub(start).Seconds(); wall >= 0.2 {
			cpu1 := cpu()
			line, _ := json.Marshal(map[string]float64{
				"t": float64(now.UnixNano()) / 1e9, "perCpuSecond": float64(done) / (cpu1 - cpu0),
				"perWallSecond": float64(done) / wall, "maxGapMs": maxGap * 1000,
			})
			fmt.Println(string(line))
			done, maxGap, start, cpu0 = 0, 0, now, cpu1
		}
	}
}
"""

NODE_TARGET = r"""
"use strict";
function work(i) {
  const record = { id: i, next: i + 1 };
  const text = `${record.id}-${record.next}`;
  const buffer = Buffer.alloc(1024);
  return text.length + buffer.length;
}
let sink = 0;
let done = 0, i = 0, maxGap = 0;
let start = performance.now(), last = start;
let cpu0 = process.cpuUsage();
console.log(`ready ${process.pid}`);
function batch() {
  const until = performance.now() + 20;
  while (performance.now() < until) {
    sink += work(i++);
    done++;
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (now - start >= 200) {
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      console.log(JSON.stringify({ t: Date.now() / 1000, perCpuSecond: done / cpuSeconds,
        perWallSecond: done / ((now - start) / 1000), maxGapMs: maxGap }));
      done = 0; maxGap = 0; start = now; cpu0 = process.cpuUsage();
    }
  }
  setImmediate(batch);
}
batch();
"""

JAVA_TARGET = r"""
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;

public class Cost {
    static long sink;
    static final java.util.List<byte[]> KEPT = new java.util.ArrayList<>();  // the live heap asked for

    static int work(int i) {
        Map<String, Integer> record = new HashMap<>();
        record.put("id", i);
        record.put("next", i + 1);
        String text = record.get("id") + "-" + record.get("next");
        byte[] buffer = new byte[1024];
        return text.length() + buffer.length;
    }

    static double cpu() {
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getProcessCpuTime() / 1e9;
    }

    public static void main(String[] args) {
        int keptMiB = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        for (int k = 0; k < keptMiB * 1024; k++) {
            KEPT.add(new byte[1024]);
        }
        System.out.println("ready " + ProcessHandle.current().pid());
        System.out.flush();
        long done = 0;
        int i = 0;
        long start = System.nanoTime(), last = start;
        double cpu0 = cpu();
        double maxGap = 0;
        while (true) {
            sink += work(i++);
            done++;
            long now = System.nanoTime();
            maxGap = Math.max(maxGap, (now - last) / 1e9);
            last = now;
            double wall = (now - start) / 1e9;
            if (wall >= 0.2) {
                double cpu1 = cpu();
                System.out.printf("{\"t\": %.6f, \"perCpuSecond\": %.1f, \"perWallSecond\": %.1f, \"maxGapMs\": %.3f}%n",
                    System.currentTimeMillis() / 1000.0, done / (cpu1 - cpu0), done / wall, maxGap * 1000);
                System.out.flush();
                done = 0;
                maxGap = 0;
                start = now;
                cpu0 = cpu1;
            }
        }
    }
}
"""


def _reader(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


def _windows(lines: queue.Queue[str], since: float, until: float) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return out
        if line.startswith("{"):
            row = json.loads(line)
            if since <= row["t"] <= until:
                out.append(row)


SAFEPOINT_LOG = "{safepoints}"  # replaced in a target's argv by a fresh log file's path
_SAFEPOINT = re.compile(r'^\[(?P<uptime>[\d.]+)s\].*Safepoint "(?P<name>\w+)".*Total: (?P<total>\d+) ns')


def _safepoints(log: Path, since: float, until: float) -> list[tuple[str, float]]:
    """(operation, milliseconds at the safepoint) for the safepoints logged between the two
    uptimes (seconds since the JVM started)."""
    found: list[tuple[str, float]] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _SAFEPOINT.match(line)
        if match is not None and since <= float(match["uptime"]) <= until:
            found.append((match["name"], int(match["total"]) / 1e6))
    return found


WARMUP_SECONDS = 12.0  # the Node.js loop's rate settles (falls by a quarter) over its first ~10 s


def _run(argv: list[str], action: list[str] | None, *, seconds: float = 0.0, baseline: float = 3.0) -> dict[str, Any]:
    """Start the target, take a baseline, run the action (or just wait `seconds`), and give the
    windows' rates relative to the baseline, during the action and after it."""
    log = Path(tempfile.mkstemp(prefix="wfhost-safepoints-", suffix=".log")[1])
    argv = [arg.replace(SAFEPOINT_LOG, str(log)) for arg in argv]
    started = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("ready"), ready
        threading.Thread(target=_reader, args=(proc, lines), daemon=True).start()
        time.sleep(WARMUP_SECONDS + baseline)  # warm up, then the baseline window
        began = time.time()
        if action is None:
            time.sleep(seconds)
        else:
            agent = subprocess.run(
                [sys.executable, "-m", "host.agent", *action, "--pid", str(proc.pid)],
                cwd=REPO, capture_output=True, text=True, check=False,
            )
            reply = json.loads(agent.stdout)
            assert reply["ok"], reply
        ended = time.time()
        time.sleep(2.0)
        rows = _windows(lines, began - baseline, ended + 2.0)
    finally:
        proc.kill()
        proc.wait()
        # Only a JVM writes the log: None for the others.
        stops = _safepoints(log, began - started - 0.5, ended - started + 1.0) if log.stat().st_size else None
        log.unlink()
    base = [r for r in rows if r["t"] < began]
    # Windows ending inside the action (or the first one after it, for actions under a window).
    during = [r for r in rows if began + 0.2 <= r["t"] <= ended] or [r for r in rows if began < r["t"] <= ended + 0.2]
    after = [r for r in rows if r["t"] > ended + 0.2]

    def ratio(key: str, part: list[dict[str, float]]) -> float:
        return statistics.median(r[key] for r in part) / statistics.median(r[key] for r in base)

    return {
        "cpu": ratio("perCpuSecond", during),
        "wall": ratio("perWallSecond", during),
        "worst": min(r["perWallSecond"] for r in during) / statistics.median(r["perWallSecond"] for r in base),
        "after": ratio("perWallSecond", after) if after else None,
        "maxGapMs": max(r["maxGapMs"] for r in during),
        "baselineMaxGapMs": max(r["maxGapMs"] for r in base),
        "seconds": ended - began,
        "safepoints": stops,
    }


def _measure(argv: list[str], action: list[str]) -> dict[str, Any]:
    """One round: the action's run, and a control run of the same target that only waits as long,
    so a target whose own rate drifts is compared with itself at the same age."""
    acted = _run(argv, action)
    control = _run(argv, None, seconds=acted["seconds"])
    return {
        "cpuRatio": acted["cpu"] / control["cpu"],
        "wallRatio": acted["wall"] / control["wall"],
        "worstWindowWallRatio": acted["worst"] / control["wall"],
        "wallRatioAfter": acted["after"] / control["after"] if acted["after"] and control["after"] else None,
        "maxGapMs": acted["maxGapMs"],
        "controlMaxGapMs": control["maxGapMs"],
        "agentSeconds": acted["seconds"],
        **(
            _safepoint_cost(acted["safepoints"], control["safepoints"])
            if acted["safepoints"] is not None and control["safepoints"] is not None
            else {}
        ),
    }


def _safepoint_cost(acted: list[tuple[str, float]], control: list[tuple[str, float]]) -> dict[str, Any]:
    """The safepoints only the action's run had (the thread dump's, the histogram's, JFR's), and
    all of them against the control's (GCs of the loop included)."""
    own = {name for name, _ in control}
    extra = [(name, ms) for name, ms in acted if name not in own]
    longest = max(extra, key=lambda stop: stop[1], default=None)
    return {
        "actionSafepointMs": sum(ms for _, ms in extra),
        "longestActionSafepointMs": longest[1] if longest else 0.0,
        "longestActionSafepoint": longest[0] if longest else None,
        "allSafepointMs": sum(ms for _, ms in acted),
        "controlAllSafepointMs": sum(ms for _, ms in control),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--only", default="", help="run only the actions whose name contains this")
    args = parser.parse_args()
    go = shutil.which("go") or "/usr/local/go/bin/go"
    node = shutil.which("node")
    with tempfile.TemporaryDirectory(prefix="wfhost-runtime-cost-") as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text("module wfhost.bench/cost\n\ngo 1.21\n", encoding="utf-8")
        (work / "main.go").write_text(GO_TARGET, encoding="utf-8")
        env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPROXY": "off", "CGO_ENABLED": "0"}
        subprocess.run([go, "build", "-o", str(work / "cost"), "."], cwd=work, env=env, check=True)
        (work / "cost.js").write_text(NODE_TARGET, encoding="utf-8")
        cases = {
            f"goprofile --duration {args.duration}": ([str(work / "cost")], ["goprofile", "--duration", str(args.duration)]),
        }
        if node is not None:
            cases[f"nodeprofile --duration {args.duration}"] = (
                [node, str(work / "cost.js")], ["nodeprofile", "--duration", str(args.duration)]
            )
            cases[f"nodeprofile --duration {args.duration} --keep-jit"] = (
                [node, str(work / "cost.js")], ["nodeprofile", "--duration", str(args.duration), "--keep-jit"]
            )
            cases[f"nodeprofile --duration {args.duration} --interval 100"] = (
                [node, str(work / "cost.js")], ["nodeprofile", "--duration", str(args.duration), "--interval", "100"]
            )
        javac, java = shutil.which("javac"), shutil.which("java")
        if javac is not None and java is not None:
            (work / "Cost.java").write_text(JAVA_TARGET, encoding="utf-8")
            subprocess.run([javac, "-d", str(work), str(work / "Cost.java")], check=True)
            jvm = [java, "-Xmx512m", f"-Xlog:safepoint:file={SAFEPOINT_LOG}:uptime", "-cp", str(work), "Cost"]
            cases["javathreads"] = (jvm, ["javathreads"])
            cases["javaheap (live: full GC first)"] = (jvm, ["javaheap"])
            cases["javaheap --all"] = (jvm, ["javaheap", "--all"])
            cases["javaheap (live), 200 MiB kept alive"] = ([*jvm, "200"], ["javaheap"])
            cases["javaheap --all, 200 MiB kept alive"] = ([*jvm, "200"], ["javaheap", "--all"])
            cases[f"javaprofile --duration {args.duration}"] = (jvm, ["javaprofile", "--duration", str(args.duration)])
        cases["network (sockets + 1 name + 1 connect)"] = (
            [str(work / "cost")], ["network", "--resolve", "localhost", "--connect", "127.0.0.1:1"]
        )
        for name, (argv, action) in cases.items():
            if args.only not in name:
                continue
            rounds = [_measure(argv, action) for _ in range(args.rounds)]
            summary: dict[str, Any] = {
                key: round(statistics.median(r[key] for r in rounds if r[key] is not None), 3)
                for key in rounds[0]
                if any(isinstance(r[key], float | int) for r in rounds)
            }
            if any("longestActionSafepoint" in r for r in rounds):
                summary["longestActionSafepoints"] = sorted(
                    {r["longestActionSafepoint"] for r in rounds if r["longestActionSafepoint"]}
                )
            print(json.dumps({"action": name, **summary}), flush=True)


if __name__ == "__main__":
    main()
