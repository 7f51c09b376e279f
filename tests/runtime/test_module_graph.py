"""The module-graph check: a workflow may import only JS/TS modules in its own directory and the SDK."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from host.errors import WorkflowRefused
from host.model.events import Event
from host.runtime.invoker import invoke
from tests.conftest import simple_workflow

pytestmark = pytest.mark.timeout(60)


def _wf(imports: str, body: str = "await ctx.report({ title: String(x) });") -> str:
    return imports + "\n" + simple_workflow("importer", body)


async def test_relative_helpers_and_the_sdk_are_allowed(loaded: Any, write_workflow: Any, tmp_path: Path) -> None:
    d = tmp_path / "workflows"
    write_workflow("_lib.ts", "export const x = 41 + 1;", directory=d)
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "deep.ts").write_text("export const y = 'deep';")
    path = write_workflow("importer.ts", _wf('import { x } from "./_lib.ts";\nimport { y } from "./sub/deep.ts";',
                                             "await ctx.report({ title: String(x) + y });"), directory=d)
    wf = await loaded(path)
    result = await invoke(wf, Event(kind="manual"))
    assert [f.title for f in result.findings] == ["42deep"]


async def test_the_sdk_debug_types_import_by_their_old_and_their_new_path(loaded: Any, write_workflow: Any) -> None:
    # sdk-ts/debug.ts re-exports sdk-ts/debug/mod.ts; both resolve through "@wfhost/sdk/".
    imports = (
        'import type { DebugTarget } from "@wfhost/sdk/debug.ts";\n'
        'import type { ProcessInfo } from "@wfhost/sdk/debug/mod.ts";\n'
        'const x: DebugTarget["name"] & ProcessInfo["user"] = "web-1";'
    )
    wf = await loaded(write_workflow("importer.ts", _wf(imports)))
    result = await invoke(wf, Event(kind="manual"))
    assert [f.title for f in result.findings] == ["web-1"]


@pytest.mark.parametrize(
    ("imports", "reason"),
    [
        ('import x from "/etc/hostname" with { type: "text" };', "outside the workflow directory"),
        ('import x from "/etc/passwd" with { type: "bytes" };', "outside the workflow directory"),
        ('import x from "../secret.ts";', "outside the workflow directory"),
        ('import x from "./data.json" with { type: "json" };', "only JavaScript/TypeScript modules"),
        ('import x from "./notes.txt" with { type: "text" };', "only JavaScript/TypeScript modules"),
        ('import x from "./_helper.ts" with { type: "text" };', "as a text/bytes import"),
        ('import x from "https://deno.land/std/version.ts";', "only local modules"),
        ('import x from "npm:left-pad";', "npm"),
        ('import x from "jsr:@std/path";', "jsr"),
        ('import x from "data:text/javascript,export default 1";', "only local modules"),
        ('import x from "./missing.ts";', "missing.ts"),
        ('const x = await import("/etc/hostname", { with: { type: "text" } });', "outside the workflow directory"),
        ('import x from "./link-out.ts";', "symlink"),
    ],
    ids=["text-abs", "bytes-abs", "dotdot", "json", "text-file", "text-of-code", "https", "npm", "jsr", "data",
         "missing", "dynamic-literal", "symlink-out"],
)
async def test_imports_that_reach_outside_or_are_not_code_are_refused(
    loaded: Any, write_workflow: Any, tmp_path: Path, imports: str, reason: str
) -> None:
    d = tmp_path / "workflows"
    write_workflow("_helper.ts", "export default 1;", directory=d)
    (d / "data.json").write_text('{"a": 1}')
    (d / "notes.txt").write_text("notes")
    (tmp_path / "secret.ts").write_text("export default 'secret';")
    (tmp_path / "outside.ts").write_text("export default 'outside';")
    os.symlink(tmp_path / "outside.ts", d / "link-out.ts")
    path = write_workflow("importer.ts", _wf(imports), directory=d)
    with pytest.raises(WorkflowRefused) as info:
        await loaded(path)
    assert reason in info.value.reason, info.value.reason
    assert str(path) in str(info.value)


async def test_a_symlink_that_stays_inside_the_directory_is_fine(loaded: Any, write_workflow: Any, tmp_path: Path) -> None:
    d = tmp_path / "workflows"
    (d / "..data").mkdir(parents=True)
    (d / "..data" / "real.ts").write_text(simple_workflow("linked"))
    os.symlink("..data/real.ts", d / "linked.ts")
    wf = await loaded(d / "linked.ts")
    assert wf.name == "linked"


async def test_computed_imports_cannot_read_anything(loaded: Any, write_workflow: Any) -> None:
    path = write_workflow("computed.ts", simple_workflow("computed", """
        const where = ["/etc", "hostname"].join("/");
        let outcome = "read";
        try { await import(where, { with: { type: "text" } }); } catch (e) { outcome = String(e); }
        await ctx.report({ title: outcome.slice(0, 200) });
    """))
    wf = await loaded(path)
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "ok", result.error
    assert "read access" in result.findings[0].title.lower() or "permission" in result.findings[0].title.lower()


async def test_the_snapshot_runs_even_if_the_source_changes_after_the_check(
    loaded: Any, write_workflow: Any
) -> None:
    path = write_workflow("stable.ts", simple_workflow("stable", "await ctx.report({ title: 'v1' });"))
    wf = await loaded(path)
    path.write_text('import x from "/etc/hostname" with { type: "text" };\n' + simple_workflow("stable"))
    result = await invoke(wf, Event(kind="manual"))
    assert [f.title for f in result.findings] == ["v1"]
