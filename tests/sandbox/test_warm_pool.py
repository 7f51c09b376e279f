"""Workers stay warm by use: an idle one is stopped after `sandbox.idleStopSeconds` and started again
on demand, and at most `sandbox.maxWarmWorkers` are alive host-wide (least recently used idle ones
stopped first). Real Deno children throughout; nothing here is timed beyond the idle period."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil

from host.capabilities.routes import build_router
from host.config import parse_config
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.workflows.registry import Registry, WorkflowDir
from tests.conftest import simple_workflow


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


async def _registry(tmp_path: Path, count: int, **sandbox: object) -> Registry:
    directory = tmp_path / "wfs"
    directory.mkdir()
    for i in range(count):
        (directory / f"w{i}.ts").write_text(simple_workflow(f"w{i}", f"await ctx.report({{ title: 'W{i}' }});"))
    config = parse_config({"sandbox": {"stateDir": str(tmp_path / "state"), **sandbox}})
    registry = Registry(env=SandboxEnv.from_config(config), router=build_router(), config=config,
                        dirs=[WorkflowDir(directory, "custom")])
    await registry.start(watch=False)
    return registry


async def test_an_idle_worker_is_stopped_and_the_next_invocation_starts_one(tmp_path: Path) -> None:
    registry = await _registry(tmp_path, 1, idleStopSeconds=1)
    try:
        wf = registry.get("w0")
        assert wf is not None
        [pid] = wf.pool.worker_pids()
        for _ in range(100):
            if not wf.pool.worker_pids() and not _alive([pid]):
                break
            await asyncio.sleep(0.1)
        assert wf.pool.worker_pids() == [] and _alive([pid]) == []
        assert wf.pool.stats.idle_stops == 1
        result = await invoke(wf, Event(kind="manual"))
        assert result.outcome == "ok" and [f.title for f in result.findings] == ["W0"]
        assert wf.pool.stats.cold_invocations == 1
        assert wf.pool.stats.restarts == 0  # stopped for being idle and started again: not a crash
        assert len(wf.pool.worker_pids()) == 1
    finally:
        await registry.stop()


async def test_the_host_wide_bound_holds_under_a_burst_touching_every_workflow(tmp_path: Path) -> None:
    registry = await _registry(tmp_path, 8, maxWarmWorkers=3)
    try:
        workflows = sorted(registry.workflows(), key=lambda w: w.name)
        assert len(workflows) == 8

        def live() -> int:
            return len(_alive([pid for w in workflows for pid in w.pool.worker_pids()]))

        assert live() <= 3  # loading validated each one by starting it; the bound stopped the oldest
        for round_ in range(2):
            for wf in workflows:
                result = await invoke(wf, Event(kind="manual"))
                assert result.outcome == "ok", (round_, wf.name, result.error)
                assert sum(len(w.pool.worker_pids()) for w in workflows) <= 3
        # The most recently used three are the warm ones.
        warm = {w.name for w in workflows if w.pool.worker_pids()}
        assert warm == {"w5", "w6", "w7"}
        await asyncio.sleep(0.5)  # stopped children are reaped
        assert live() <= 3
    finally:
        await registry.stop()


async def test_cold_starts_and_idle_stops_are_exported_as_metrics(tmp_path: Path) -> None:
    from host.runtime.app import Host

    directory = tmp_path / "wfs"
    directory.mkdir()
    (directory / "w0.ts").write_text(simple_workflow("w0", "await ctx.report({ title: 'W0' });"))
    config = parse_config({
        "sandbox": {"stateDir": str(tmp_path / "state"), "idleStopSeconds": 1},
        "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(directory)}}},
        "workflows": {"builtinDirectory": str(tmp_path / "no-builtins")},
        "api": {"enabled": False}, "sinks": {"log": {"enabled": False}},
    })
    (tmp_path / "no-builtins").mkdir()
    host = Host(config, with_cluster=False)
    await host.start(watch=False)
    try:
        wf = host.registry.get("w0")
        assert wf is not None
        for _ in range(100):
            if not wf.pool.worker_pids():
                break
            await asyncio.sleep(0.1)
        assert wf.pool.worker_pids() == []
        _, fut = host.dispatcher.trigger("w0", Event(kind="manual"), {}, wait=True)
        assert fut is not None and (await fut).outcome == "ok"
        text = host.render_metrics().decode()
        assert 'wfhost_worker_cold_invocations{workflow="w0"} 1.0' in text, text
        assert 'wfhost_worker_idle_stops{workflow="w0"} 1.0' in text
        assert "wfhost_workers_warm 1.0" in text
        assert 'wfhost_worker_restarts{workflow="w0"} 0.0' in text
    finally:
        await host.stop()
