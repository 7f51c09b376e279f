"""Idle memory: PSS of the host process and all its Deno children with N workflows loaded and idle.

    .venv/bin/python bench/idle_memory.py [--sizes 10,100] [--max-warm 32] [--idle-stop 0]

For each size N: load N custom workflows (plus the built-ins) into a real `Host` without a cluster,
run each workflow once (so every one has been warm), wait until idle workers have been stopped
(`--idle-stop` seconds; 0 keeps them until the warm bound evicts them), then sum the PSS
(proportional set size: shared pages counted once across processes) of the host and every
child. Prints one line per size; target (issue #13): the built-ins plus 100 custom workflows idle
under 400 MB PSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from host.config import parse_config
from host.logs import configure_logging
from host.model.events import Event
from host.runtime.app import Host
from host.runtime.invoker import invoke


def source(name: str) -> str:
    return (
        'import { defineWorkflow } from "@wfhost/sdk";\n'
        f'export default defineWorkflow({{ name: "{name}", triggers: [{{ on: "manual" }}], '
        'capabilities: ["findings.report"], async run(ctx) { await ctx.report({ title: "ok" }); } });\n'
    )


def pss_mb(process: psutil.Process) -> float:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / (1 << 20)


async def measure(size: int, max_warm: int, idle_stop: float) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="wfhost-bench-idle-") as tmp:
        root = Path(tmp)
        directory = root / "workflows"
        directory.mkdir()
        for i in range(size):
            (directory / f"w{i:03d}.ts").write_text(source(f"w{i:03d}"))
        config = parse_config(
            {
                "sandbox": {
                    "stateDir": str(root / "state"),
                    "maxWarmWorkers": max_warm,
                    "idleStopSeconds": idle_stop,
                },
                "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(directory)}}},
                "api": {"enabled": False},
                "sinks": {"log": {"enabled": False}},
            }
        )
        host = Host(config, with_cluster=False)
        await host.start(watch=False)
        try:
            workflows = host.registry.workflows()
            custom = [wf for wf in workflows if wf.origin == "custom"]
            for wf in custom:
                await invoke(wf, Event(kind="manual"))
            if idle_stop > 0:
                await asyncio.sleep(idle_stop + 3)  # the idle check runs every 2 s
            await asyncio.sleep(1.0)
            me = psutil.Process()
            children = [c for c in me.children(recursive=True) if c.name().startswith("deno")]
            started = time.perf_counter()
            cold = custom[0]  # the least recently used: stopped by the bound (or idle), if anything was
            result = await invoke(cold, Event(kind="manual"))
            first_call_ms = (time.perf_counter() - started) * 1000
            assert result.outcome == "ok", result.error
            return {
                "workflows": len(workflows),
                "deno_children": len(children),
                "pss_mb": round(pss_mb(me), 1),
                "first_invocation_after_idle_ms": round(first_call_ms, 1),
            }
        finally:
            await host.stop()


def run(quick: bool) -> list[Any]:
    """The suite's rows: per size, PSS of the host and its children idle, and the first run of a cold one."""
    from bench.report import Row

    sizes = (10, 100) if quick else (10, 100, 300)
    rows = []
    for size in sizes:
        r = asyncio.run(measure(size, max_warm=16, idle_stop=0))
        size_text = f"{r['workflows']} workflows ({size} custom)"
        target = "< 400 MB" if size == 100 else None
        rows += [
            Row("idle PSS, host + Deno children (default warm bound 16)", size_text, r["pss_mb"], "MB",
                target=target, met=(r["pss_mb"] < 400) if target else None,
                detail={"deno_children": r["deno_children"]}),
            Row("first invocation of the least recently used (cold) workflow", size_text,
                r["first_invocation_after_idle_ms"], "ms", target="< 100 ms added",
                met=r["first_invocation_after_idle_ms"] < 100),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100", help="comma-separated numbers of custom workflows")
    parser.add_argument("--max-warm", type=int, default=16)
    parser.add_argument("--idle-stop", type=float, default=0)
    args = parser.parse_args()
    configure_logging(format="json", level="warning")
    for size in (int(s) for s in args.sizes.split(",")):
        print(
            json.dumps(
                {
                    "max_warm": args.max_warm,
                    "idle_stop_s": args.idle_stop,
                    **asyncio.run(measure(size, args.max_warm, args.idle_stop)),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
