"""Benchmark: the event loop's longest stall while the host handles what hostile workflow authors control.

A monitor task sleeps 1 ms at a time and records how late it wakes up: that lateness is how long
some piece of work held the loop. Each phase does, the way the host does it, work a workflow's
author can make expensive, with every input at its cap (and past it, where the host must refuse):

- load: manifests with 50k triggers and 100k-character selectors checked (refused), and
  workflows with the most triggers, the longest selectors and the longest patterns compiled;
- match: the trigger index rebuilt with those workflows, then an Alertmanager batch of 1000
  alerts (the API's limit) matched one event at a time, as `POST /api/v1/alerts` does, against
  names of 253 characters that come close to every pattern;
- files: a directory at the file cap read and snapshotted (in a thread, as the registry does);
- findings: a listing built over the cache filled with table-heavy findings (in a thread).

Run: `.venv/bin/python bench/event_loop_stall.py [--workflows 20] [--alerts 1000]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from host.api.server import render_page
from host.config import LimitsConfig
from host.findings.service import FindingsService
from host.model.events import Event, Subject
from host.model.findings import Finding, Table
from host.model.manifest import TriggerSpec
from host.sandbox.snapshot import ScanCaps, SnapshotStore, scan_directory
from host.triggers.index import TriggerError, TriggerIndex, check_triggers


@dataclass
class Stalls:
    """The longest time the loop was held, per phase, in seconds."""

    phases: dict[str, float] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def worst(self) -> float:
        return max(self.phases.values(), default=0.0)


class _Monitor:
    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, loop.time() - before - 0.001)

    async def phase(self, stalls: Stalls, name: str, work: Callable[[], Awaitable[None]]) -> None:
        self.longest = 0.0
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.01)
        began = time.perf_counter()
        try:
            await work()
            await asyncio.sleep(0.01)
        finally:
            self._task.cancel()
        stalls.durations[name] = time.perf_counter() - began
        stalls.phases[name] = self.longest


def _hostile_triggers(caps: LimitsConfig, i: int) -> list[TriggerSpec]:
    pattern = ("*a" * (caps.max_pattern_length // 2))[: caps.max_pattern_length - 1] + "b"
    selector = ",".join(f"k{j} notin (a,b,c)" for j in range(200))[: caps.max_selector_length]
    selector = selector[: selector.rfind(",")]
    return [TriggerSpec(on="alert", name_pattern=pattern if t % 2 else f"?{'[a-z]' * 40}*", label_selector=selector,
                        namespaces=[] if t % 3 else [f"ns{i}"]) for t in range(caps.max_triggers_per_workflow)]


async def measure(*, workflows: int = 20, alerts: int = 1000, files: int | None = None,
                  findings: int = 200) -> Stalls:
    caps = LimitsConfig()
    stalls = Stalls()
    monitor = _Monitor()
    index = TriggerIndex()
    loaded: list[SimpleNamespace] = []

    async def load() -> None:
        for bad in ([TriggerSpec(on="alert")] * 50_000, [TriggerSpec(on="alert", label_selector=" " * 100_000 + "!")]):
            try:
                check_triggers(bad, caps)
            except TriggerError:
                pass
            await asyncio.sleep(0)
        for i in range(workflows):
            triggers = _hostile_triggers(caps, i)
            check_triggers(triggers, caps)
            loaded.append(SimpleNamespace(name=f"hostile-{i}", triggers=triggers))
            await asyncio.sleep(0)  # each workflow loads in its own step of the registry

    async def match() -> None:
        index.rebuild(loaded)
        name = "a" * 253
        labels = {f"k{j}": "z" for j in range(200)}
        for n in range(alerts):
            event = Event(kind="alert", subject=Subject(kind="Pod", namespace=f"ns{n % workflows}", name=name),
                          alert={"labels": labels})
            index.match(event)
            await asyncio.sleep(0)  # as the API does between the alerts of one batch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        d = root / "wfs"
        d.mkdir()
        count = files if files is not None else caps.max_files_per_directory
        for i in range(count):
            (d / f"_{i}.ts").write_text(f"export const x{i} = {'1 + ' * 400}1;\n")
        store = SnapshotStore(root / "snapshots", root / "entries")
        store.root.mkdir()

        async def files_phase() -> None:
            scan = await asyncio.to_thread(scan_directory, d, caps=ScanCaps(max_total_bytes=64 << 20))
            snap = await asyncio.to_thread(store.take, d / "_0.ts", scan)
            await asyncio.to_thread(store.release, snap)

        service = FindingsService([], keep=findings, keep_bytes=1 << 30)

        async def findings_phase() -> None:
            rows: list[list[str | int | float | bool | None]] = [[f"r{r}c{c}" for c in range(20)] for r in range(500)]
            for i in range(findings):
                await service.publish(Finding(workflow="w", title=f"f{i}", tables=[Table(columns=["c"] * 20, rows=rows)]))
                await asyncio.sleep(0)  # each finding arrives in its own message
            items = service.recent()
            await asyncio.to_thread(render_page, service, items, offset=0, limit=500)

        await monitor.phase(stalls, "load", load)
        await monitor.phase(stalls, "match", match)
        await monitor.phase(stalls, "files", files_phase)
        await monitor.phase(stalls, "findings", findings_phase)
    return stalls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workflows", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=1000)
    args = parser.parse_args()
    stalls = asyncio.run(measure(workflows=args.workflows, alerts=args.alerts))
    print(json.dumps({
        "longestStallMs": {k: round(v * 1000, 1) for k, v in stalls.phases.items()},
        "phaseSeconds": {k: round(v, 2) for k, v in stalls.durations.items()},
        "worstMs": round(stalls.worst * 1000, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
