"""A workflow directory that changes while the registry reads it: files written, half written,
truncated, renamed, replaced, deleted and turned into directories, in a thread, for seconds, while
the registry watches it and reloads (with real Deno). The registry survives every rescan, and once
the directory is still it serves exactly the workflows the directory ends with, each at its last
version, with the broken one refused (or, if the registry never saw it go, its last good version
kept serving beside the error)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from host.capabilities.router import CapabilityRouter
from host.config import HostConfig
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.workflows.registry import Registry, WorkflowDir
from tests.conftest import simple_workflow

pytestmark = pytest.mark.timeout(240)
NAMES = [f"churn-{i}" for i in range(5)]


def source(name: str, title: str) -> str:
    return simple_workflow(name, f"await ctx.report({{ title: '{title}' }});")


def churn(directory: Path, rng: random.Random, *, seconds: float) -> int:
    """Random changes for `seconds`; returns how many were made."""
    made = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        name = rng.choice(NAMES)
        path = directory / f"{name}.ts"
        op = rng.choice(["write", "write", "half", "truncate", "rename", "replace", "delete", "dir", "junk"])
        with contextlib.suppress(OSError):  # the file another step just removed: the race is the point
            if path.is_dir():
                shutil.rmtree(path)
            if op == "write":
                path.write_text(source(name, f"v{made}"))
            elif op == "half":
                text = source(name, f"v{made}")
                path.write_text(text[: rng.randrange(len(text))])
            elif op == "truncate":
                with path.open("r+") as f:
                    f.truncate(rng.randrange(40))
            elif op == "rename":
                path.rename(directory / f"{rng.choice(NAMES)}.ts")
            elif op == "replace":
                tmp = directory / f".{name}.tmp"
                tmp.write_text(source(name, f"v{made}"))
                os.replace(tmp, path)
            elif op == "delete":
                path.unlink()
            elif op == "dir":
                path.mkdir()
            else:
                path.write_bytes(os.urandom(rng.randrange(1, 200)))
        made += 1
        time.sleep(rng.uniform(0, 0.03))
    return made


@pytest.fixture
async def registry(env: SandboxEnv, router: CapabilityRouter, config: HostConfig,
                   tmp_path: Path) -> AsyncIterator[tuple[Registry, Path]]:
    directory = tmp_path / "workflows"
    directory.mkdir()
    for name in NAMES:
        (directory / f"{name}.ts").write_text(source(name, "v-start"))
    reg = Registry(env=env, router=router, config=config, dirs=[WorkflowDir(directory, "custom")])
    await reg.start(watch=True)
    try:
        yield reg, directory
    finally:
        await reg.stop()


async def until(check: Callable[[], Any], *, timeout: float, reg: Registry) -> None:
    end = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > end:
            state = [(s.path.name, s.state, s.error, s.workflow.name if s.workflow else None) for s in reg.statuses()]
            raise AssertionError(f"the registry did not settle on the directory's final state: {state}")
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("seed", [2])
async def test_the_registry_survives_churn_and_ends_with_what_the_directory_holds(
    registry: tuple[Registry, Path], seed: int
) -> None:
    reg, directory = registry
    rng = random.Random(seed)
    with capture_logs() as logs:
        changes = await asyncio.to_thread(churn, directory, rng, seconds=3.0)
        # The final state: two at a version of their own, one broken, the others gone.
        for entry in directory.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        final = {"churn-0": "final-0", "churn-3": "final-3"}
        for name, title in final.items():
            (directory / f"{name}.ts").write_text(source(name, title))
        (directory / "churn-4.ts").write_text("export default defineWorkflow({ name: ")

        async def settled() -> bool:
            loaded = {wf.name: wf for wf in reg.workflows()}
            # churn-4 is refused, or (when the registry never saw it deleted: the deletion and the
            # broken write fell in one rescan) degraded: its last good version serving, as designed.
            if not set(final) <= set(loaded) <= {*final, "churn-4"}:
                return False
            for name, title in final.items():
                result = await invoke(loaded[name], Event(kind="manual"))
                if result.outcome != "ok" or result.findings[0].title != title:
                    return False
            broken = reg.status_of(directory / "churn-4.ts")
            return broken is not None and broken.error is not None and "SyntaxError" in broken.error

        await until(settled, timeout=60, reg=reg)
    assert changes > 50
    assert reg._watch_task is not None and not reg._watch_task.done()  # still watching
    assert [e for e in logs if e["event"] == "registry.rescan_failed"] == []
    # And it still follows the directory: one more edit is picked up.
    (directory / "churn-0.ts").write_text(source("churn-0", "after"))

    async def edited() -> bool:
        wf = reg.get("churn-0")
        result = await invoke(wf, Event(kind="manual")) if wf is not None else None
        return result is not None and result.outcome == "ok" and result.findings[0].title == "after"

    await until(edited, timeout=60, reg=reg)
