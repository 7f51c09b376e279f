"""Reload latency: how long until an edit to one of N workflows answers, and how many restart.

    .venv/bin/python bench/reload_latency.py [--sizes 10,100] [--edits 3]

For each size N: load N workflows from one directory into a real `Registry` (watching it), then
edit one file N times over (a different one each time) and time from the write to the moment the
edited workflow answers a run with its new finding; count the workflows restarted by each edit.
Prints one line per size; target (issue #13): under 300 ms and exactly 1 restart per edit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from host.capabilities.routes import build_router
from host.config import parse_config
from host.logs import configure_logging
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.workflows.registry import Registry, WorkflowDir


def source(name: str, title: str) -> str:
    return (
        'import { defineWorkflow } from "@wfhost/sdk";\n'
        f'export default defineWorkflow({{ name: "{name}", triggers: [{{ on: "manual" }}], '
        f'capabilities: ["findings.report"], async run(ctx) {{ await ctx.report({{ title: "{title}" }}); }} }});\n'
    )


async def title_of(registry: Registry, name: str) -> str | None:
    wf = registry.get(name)
    if wf is None:
        return None
    result = await invoke(wf, Event(kind="manual"))
    return result.findings[0].title if result.findings else None


async def measure(size: int, edits: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="wfhost-bench-reload-") as tmp:
        root = Path(tmp)
        directory = root / "workflows"
        directory.mkdir()
        for i in range(size):
            (directory / f"w{i:03d}.ts").write_text(source(f"w{i:03d}", "v0"))
        config = parse_config({"sandbox": {"stateDir": str(root / "state")}})
        env = SandboxEnv.from_config(config)
        registry = Registry(
            env=env, router=build_router(), config=config, dirs=[WorkflowDir(directory, "custom")]
        )
        changed = asyncio.Event()
        registry.on_change(changed.set)
        began = time.perf_counter()
        await registry.start(watch=True)
        load_seconds = time.perf_counter() - began
        latencies: list[float] = []
        restarts: list[int] = []
        try:
            for edit in range(1, edits + 1):
                name = f"w{(edit * 7) % size:03d}"
                before = {w.name: w for w in registry.workflows()}
                title = f"v{edit}"
                changed.clear()
                start = time.perf_counter()
                (directory / f"{name}.ts").write_text(source(name, title))
                await asyncio.wait_for(changed.wait(), timeout=60)  # the registry swapped a version in
                answer = await title_of(registry, name)
                latencies.append(time.perf_counter() - start)
                if answer != title:
                    raise AssertionError(f"{name} answered {answer!r} after the reload, not {title!r}")
                await asyncio.sleep(0.5)  # any other reload this edit caused has happened by now
                after = {w.name: w for w in registry.workflows()}
                restarts.append(sum(1 for n, w in after.items() if before.get(n) is not w))
        finally:
            await registry.stop()
    return {
        "workflows": size,
        "initial_load_s": round(load_seconds, 2),
        "edit_to_answer_ms_median": round(statistics.median(latencies) * 1000, 1),
        "edit_to_answer_ms_max": round(max(latencies) * 1000, 1),
        "restarted_per_edit_max": max(restarts),
    }


def run(quick: bool) -> list[Any]:
    """The suite's rows: per size, edit -> answer (median), restarts per edit, and the initial load."""
    from bench.report import Row

    sizes, edits = ((10, 100), 3) if quick else ((10, 100, 300), 5)
    rows = []
    for size in sizes:
        r = asyncio.run(measure(size, edits))
        size_text = f"{size} workflows"
        rows += [
            Row("reload: edit one workflow -> it answers, median", size_text, r["edit_to_answer_ms_median"], "ms",
                target="< 300 ms", met=r["edit_to_answer_ms_median"] < 300,
                detail={"edits": edits, "max_ms": r["edit_to_answer_ms_max"]}),
            Row("reload: workflows restarted per edit, max", size_text, r["restarted_per_edit_max"], "",
                target="1", met=r["restarted_per_edit_max"] == 1),
            Row("reload: initial load of the directory", size_text, r["initial_load_s"], "s"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100", help="comma-separated numbers of workflows")
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    configure_logging(format="json", level="warning")
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(asyncio.run(measure(size, args.edits))), flush=True)


if __name__ == "__main__":
    main()
