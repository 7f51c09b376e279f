"""Profiler action overhead: wall time of the built-in python-profiler beyond the duration it was asked for.

    python -m bench.profiler_overhead [--duration 5] [--runs 3]

A local cluster (in this process, its kubelet running containers as local processes) with one
pod whose container is a Python busy loop, and a real `Host` with the built-ins. `python-profiler`
is triggered on the pod as a manual run (`duration` = D) and timed from the trigger to its
result: the overhead is that time minus D. The first run also adds the pod's ephemeral debug
container; later runs reuse it. Each debug action the workflow asks for (the process list, then
the profile) is timed inside the host, so the overhead splits into the process list, the
profile action beyond D (agent start, py-spy attach, the flamegraph), and the rest (the
invocation, the sandbox, the finding). For comparison, the debug agent run directly against a
local process (`python -m host.agent profile`, as bench/agent_cost.py does) gives the agent's
own share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from host.config import parse_config
from host.localcluster import LocalCluster, LocalClusterSettings
from host.logs import configure_logging
from host.model.events import Event, Target
from host.runtime.app import Host

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "default"
POD = "profiled"
BUSY = ["python", "-u", "-c", "import time\nwhile True:\n    sum(range(10000))\n    time.sleep(0.001)"]


async def _running(host: Host) -> None:
    assert host.kube is not None
    for _ in range(300):
        pod = await host.kube.get_pod(NAMESPACE, POD)
        statuses = pod.get("status", {}).get("containerStatuses") or []
        if statuses and "running" in (statuses[0].get("state") or {}):
            await asyncio.sleep(0.5)  # let the interpreter reach its loop
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the profiled pod did not start")


async def through_workflow(duration: int, runs: int) -> list[dict[str, Any]]:
    """`runs` python-profiler invocations (the first adds the debug container); one dict each."""
    with tempfile.TemporaryDirectory(prefix="wfhost-bench-profiler-") as tmp:
        root = Path(tmp)
        settings = LocalClusterSettings.for_tests()
        async with LocalCluster(settings) as cluster:
            config = parse_config({
                "sandbox": {"stateDir": str(root / "state"), "invocationTimeoutSeconds": duration + 120},
                "cluster": {"kubeconfig": str(cluster.kubeconfig_path), "namespaces": [NAMESPACE]},
                "api": {"enabled": False},
                "sinks": {"log": {"enabled": False}},
            })
            host = Host(config)
            actions: list[tuple[str, float]] = []
            run_action = host.debug.run

            async def timed(namespace: str, name: str, container: str | None, args: list[str], **kw: Any) -> Any:
                began = time.perf_counter()
                try:
                    return await run_action(namespace, name, container, args, **kw)
                finally:
                    actions.append((args[0], time.perf_counter() - began))

            host.debug.run = timed
            await host.start(watch=False)
            try:
                body = {"metadata": {"name": POD}, "spec": {"containers": [{"name": "app", "image": "python:3.11",
                                                                          "command": BUSY}]}}
                await asyncio.to_thread(cluster.core_v1().create_namespaced_pod, NAMESPACE, body)
                await _running(host)
                out = []
                for n in range(runs):
                    actions.clear()
                    event = Event(kind="manual", target=Target(namespace=NAMESPACE, pod=POD, container="app"))
                    began = time.perf_counter()
                    _, fut = host.dispatcher.trigger("python-profiler", event, {"duration": duration}, wait=True)
                    assert fut is not None
                    result = await asyncio.wait_for(fut, duration + 150)
                    wall = time.perf_counter() - began
                    if result.outcome != "ok" or not result.findings or not result.findings[0].title.startswith("Profile of"):
                        raise RuntimeError(f"python-profiler: {result.outcome} {result.error} "
                                           f"{[f.title for f in result.findings]}")
                    listed = sum(s for a, s in actions if a == "ps")
                    profiled = sum(s for a, s in actions if a == "profile")
                    out.append({
                        "run": n, "first": n == 0, "wall_s": round(wall, 3), "overhead_s": round(wall - duration, 3),
                        "process_list_s": round(listed, 3), "profile_action_s": round(profiled, 3),
                        "rest_s": round(wall - listed - profiled, 3), "actions": [a for a, _ in actions],
                    })
                return out
            finally:
                await host.stop()


def agent_directly(duration: int, runs: int) -> list[float]:
    """Overhead (s) of `python -m host.agent profile --duration D` against a local busy Python process."""
    target = subprocess.Popen([sys.executable, "-c", BUSY[-1]])
    try:
        time.sleep(0.5)
        out = []
        for _ in range(runs):
            began = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "host.agent", "profile", "--duration", str(duration),
                                   "--pid", str(target.pid)], capture_output=True, text=True, cwd=REPO, check=False)
            wall = time.perf_counter() - began
            reply = json.loads(proc.stdout)
            if not reply.get("ok"):
                raise RuntimeError(f"agent profile failed: {reply}")
            out.append(wall - duration)
        return out
    finally:
        target.kill()
        target.wait()


def run(quick: bool) -> list[Any]:
    """The suite's rows: overhead beyond D through the workflow (first and later runs) and of the agent alone."""
    from bench.report import Row

    duration, runs, agent_runs = (2, 3, 1) if quick else (5, 4, 3)
    results = asyncio.run(through_workflow(duration, runs))
    first, later = results[0], results[1:]
    size = f"D = {duration} s"
    median = {key: statistics.median(r[key] for r in later) for key in ("overhead_s", "process_list_s",
                                                                         "profile_action_s", "rest_s")}
    agent = agent_directly(duration, agent_runs)
    return [
        Row("profiler action: python-profiler wall time beyond D, first run (adds the debug container)", size,
            first["overhead_s"], "s", detail=first),
        Row("profiler action: python-profiler wall time beyond D, later runs, median", size,
            round(median["overhead_s"], 3), "s",
            detail={"runs": later, "process_list_s": round(median["process_list_s"], 3),
                    "profile_beyond_d_s": round(median["profile_action_s"] - duration, 3),
                    "rest_s": round(median["rest_s"], 3)}),
        Row("profiler action: debug agent alone (python -m host.agent profile) beyond D, median", size,
            round(statistics.median(agent), 3), "s", detail={"runs": [round(a, 3) for a in agent]}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging(format="console", level="warning")
    for r in asyncio.run(through_workflow(args.duration, args.runs)):
        print(json.dumps(r))
    print(json.dumps({"agent_directly_overhead_s": [round(a, 3) for a in agent_directly(args.duration, args.runs)]}))


if __name__ == "__main__":
    main()
