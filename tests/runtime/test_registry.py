"""The registry: load a directory, hot-reload plain edits and ConfigMap `..data` swaps, keep the last good version."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from host.capabilities.router import CapabilityRouter
from host.config import HostConfig
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.workflows.registry import Registry, WorkflowDir
from tests.conftest import simple_workflow

pytestmark = pytest.mark.timeout(90)


def wf_source(name: str, title: str) -> str:
    return simple_workflow(name, f"await ctx.report({{ title: '{title}' }});")


async def until(predicate: Callable[[], bool], *, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def title_of(registry: Registry, name: str) -> str:
    wf = registry.get(name)
    assert wf is not None, f"{name} not loaded"
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "ok", result.error
    return result.findings[0].title


@pytest.fixture
async def make_registry(env: SandboxEnv, router: CapabilityRouter, config: HostConfig) -> AsyncIterator[Callable[[Path], Any]]:
    made: list[Registry] = []

    async def make(directory: Path) -> Registry:
        reg = Registry(env=env, router=router, config=config, dirs=[WorkflowDir(directory, "custom")])
        await reg.start(watch=True)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        await reg.stop()


async def test_loads_every_workflow_and_a_broken_file_never_stops_the_others(
    make_registry: Any, tmp_path: Path
) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "a.ts").write_text(wf_source("a", "A"))
    (d / "b.ts").write_text("this is not typescript {{{")
    (d / "c.ts").write_text(wf_source("c", "C"))
    (d / "_helper.ts").write_text("export const notAWorkflow = 1;")
    (d / "readme.md").write_text("ignored")
    reg = await make_registry(d)
    assert sorted(w.name for w in reg.workflows()) == ["a", "c"]
    broken = reg.status_of(d / "b.ts")
    assert broken is not None and broken.state == "error"
    assert broken.error
    assert await title_of(reg, "a") == "A"


async def test_a_plain_edit_is_picked_up(make_registry: Any, tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    f = d / "hot.ts"
    f.write_text(wf_source("hot", "v1"))
    reg = await make_registry(d)
    assert await title_of(reg, "hot") == "v1"
    f.write_text(wf_source("hot", "v2"))
    await until(lambda: reg.reloads >= 2)
    assert await title_of(reg, "hot") == "v2"


async def test_a_broken_new_version_keeps_the_old_one_serving(make_registry: Any, tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    f = d / "keep.ts"
    f.write_text(wf_source("keep", "good"))
    reg = await make_registry(d)
    f.write_text('import x from "/etc/passwd" with { type: "text" };\n' + wf_source("keep", "evil"))
    await until(lambda: (s := reg.status_of(f)) is not None and s.error is not None)
    status = reg.status_of(f)
    assert status is not None
    assert status.state == "degraded"
    assert "outside the workflow directory" in (status.error or "")
    assert await title_of(reg, "keep") == "good"
    f.write_text(wf_source("keep", "fixed"))
    await until(lambda: (s := reg.status_of(f)) is not None and s.error is None)
    assert await title_of(reg, "keep") == "fixed"


async def test_a_deleted_file_is_unloaded(make_registry: Any, tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "stay.ts").write_text(wf_source("stay", "S"))
    (d / "go.ts").write_text(wf_source("go", "G"))
    reg = await make_registry(d)
    (d / "go.ts").unlink()
    await until(lambda: reg.get("go") is None)
    assert reg.get("stay") is not None


def _configmap_publish(root: Path, files: dict[str, str], *, stamp: str) -> None:
    """What the kubelet does: write a new timestamped dir, swap `..data` atomically, keep top-level symlinks."""
    new = root / f"..{stamp}"
    new.mkdir()
    for name, text in files.items():
        (new / name).write_text(text)
    tmp_link = root / "..data_tmp"
    os.symlink(new.name, tmp_link)
    old_target = os.readlink(root / "..data") if (root / "..data").is_symlink() else None
    os.replace(tmp_link, root / "..data")
    for name in files:
        link = root / name
        if not link.is_symlink():
            os.symlink(f"..data/{name}", link)
    for name in [p.name for p in root.iterdir() if p.is_symlink() and p.name not in files and not p.name.startswith("..")]:
        (root / name).unlink()
    if old_target is not None:
        shutil.rmtree(root / old_target)


async def test_a_configmap_data_swap_reloads_the_workflow(make_registry: Any, tmp_path: Path) -> None:
    root = tmp_path / "configmap"
    root.mkdir()
    _configmap_publish(root, {"cm.ts": wf_source("cm", "first")}, stamp="2026_11_23_10_00_00.1")
    reg = await make_registry(root)
    assert await title_of(reg, "cm") == "first"
    _configmap_publish(root, {"cm.ts": wf_source("cm", "second")}, stamp="2026_11_23_10_05_00.2")
    await until(lambda: reg.reloads >= 2)
    assert await title_of(reg, "cm") == "second"


async def test_two_files_with_the_same_workflow_name_load_only_once(make_registry: Any, tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "one.ts").write_text(wf_source("same", "1"))
    (d / "two.ts").write_text(wf_source("same", "2"))
    reg = await make_registry(d)
    assert [w.name for w in reg.workflows()] == ["same"]
    two = reg.status_of(d / "two.ts")
    assert two is not None and "already used" in (two.error or "")


def _trigger_workflow(name: str, triggers: str, reads: str) -> str:
    return f"""
import {{ defineWorkflow }} from "@wfhost/sdk";
export default defineWorkflow({{
  name: "{name}",
  triggers: [{triggers}],
  capabilities: ["findings.report"],
  reads: [{reads}],
  async run(ctx) {{ await ctx.report({{ title: "ran" }}); }},
}});
"""


async def test_a_trigger_on_a_kind_the_workflow_may_not_read_refuses_the_workflow(
    make_registry: Any, tmp_path: Path
) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "ok.ts").write_text(_trigger_workflow(
        "ok", '{ on: "k8s.update", resource: "apps/v1/Deployment" }, { on: "job.failed" }',
        '"apps/v1/Deployment", "batch/v1/Job"'))
    (d / "undeclared.ts").write_text(_trigger_workflow("undeclared", '{ on: "job.failed" }', ""))
    (d / "secret.ts").write_text(_trigger_workflow(
        "secret", '{ on: "k8s.create", resource: "v1/Secret" }', '"apps/v1/Deployment"'))
    (d / "ungranted.ts").write_text(_trigger_workflow(
        "ungranted", '{ on: "k8s.delete", resource: "example.com/v1/Widget" }', '"example.com/v1/Widget"'))
    reg = await make_registry(d)
    assert [w.name for w in reg.workflows()] == ["ok"]
    errors = {p: reg.status_of(d / f"{p}.ts") for p in ("undeclared", "secret", "ungranted")}
    assert all(s is not None and s.state == "error" for s in errors.values()), errors
    assert "does not declare reads of batch/v1/Job" in str(errors["undeclared"].error)  # type: ignore[union-attr]
    assert "Secrets are never readable" in str(errors["secret"].error)  # type: ignore[union-attr]
    assert "has not granted ungranted reads of example.com/v1/Widget" in str(errors["ungranted"].error)  # type: ignore[union-attr]


async def test_an_edit_reloads_only_the_workflows_whose_graph_it_touches(make_registry: Any, tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "_shared.ts").write_text("export const word = 'one';\n")
    for i in range(12):
        (d / f"w{i:02d}.ts").write_text(wf_source(f"w{i:02d}", f"W{i}"))
    (d / "uses.ts").write_text(
        "import { defineWorkflow } from '@wfhost/sdk';\nimport { word } from './_shared.ts';\n"
        "export default defineWorkflow({ name: 'uses', triggers: [{ on: 'manual' }], capabilities: ['findings.report'],"
        " async run(ctx) { await ctx.report({ title: word }); } });\n"
    )
    reg = await make_registry(d)
    assert len(reg.workflows()) == 13
    before = {w.name: w for w in reg.workflows()}
    reloads = reg.reloads
    # Edit one workflow: exactly that one is reloaded, the other twelve keep their running versions.
    (d / "w03.ts").write_text(wf_source("w03", "W3 edited"))
    await until(lambda: reg.reloads == reloads + 1)
    await asyncio.sleep(1.0)  # let a stray second reload show itself
    assert reg.reloads == reloads + 1
    after = {w.name: w for w in reg.workflows()}
    assert [n for n in after if after[n] is not before[n]] == ["w03"]
    assert await title_of(reg, "w03") == "W3 edited"
    assert await title_of(reg, "w04") == "W4"
    # Edit the shared helper: only the workflow importing it is reloaded.
    (d / "_shared.ts").write_text("export const word = 'two';\n")
    await until(lambda: reg.reloads == reloads + 2)
    await asyncio.sleep(1.0)
    assert reg.reloads == reloads + 2
    latest = {w.name: w for w in reg.workflows()}
    assert [n for n in latest if latest[n] is not after[n]] == ["uses"]
    assert await title_of(reg, "uses") == "two"
