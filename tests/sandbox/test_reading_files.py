"""Hostile workflows that try to read files outside their directory, by every import form and API.

Two layers answer: imports Deno would perform without any permission (static, string-literal
dynamic, JSON/text/bytes) are refused by the host's module-graph check before anything runs;
everything computed at run time meets Deno with no `--allow-read` and fails with `NotCapable`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from host.errors import WorkflowRefused
from host.paths import sdk_root
from tests.sandbox.conftest import Arena, Secrets, assert_no_leak, hostile, probe, probe_body

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


@pytest.fixture
def outside(secrets: Secrets) -> Path:
    """The directory beside the workflows that holds the secrets, also as a module, JSON and broken code."""
    d = secrets.file.parent
    (d / "secret.ts").write_text(f'export default "{secrets.file_text}";\n')
    (d / "conf.json").write_text(f'{{"secret": "{secrets.file_text}"}}\n')
    # Fails to parse: `deno info` quotes source lines of such modules in its error text.
    (d / "broken.js").write_text(f'const s = "{secrets.file_text}";\nthis is not {{ javascript {secrets.file_text}\n')
    return d


def up_to(arena: Arena, target: Path) -> str:
    """`target` relative to a snapshot directory: where a workflow's `..` imports really start from."""
    return os.path.relpath(target, arena.root / "state" / "snapshots" / "wf-0123")


def _imports(arena: Arena, secrets: Secrets, outside: Path) -> dict[str, str]:
    s = outside / "secret.ts"
    up = up_to(arena, outside)
    txt = secrets.file
    via_sdk = "@wfhost/sdk/" + os.path.relpath(s, sdk_root())
    return {
        "static-text-absolute": f'import x from "{txt}" with {{ type: "text" }};',
        "static-bytes-absolute": f'import x from "{txt}" with {{ type: "bytes" }};',
        "static-json-outside": f'import x from "{outside / "conf.json"}" with {{ type: "json" }};',
        "static-dotdot-module": f'import x from "{up}/secret.ts";',
        "static-file-url": f'import x from "{s.as_uri()}";',
        "static-percent-encoded-url": f'import x from "{s.as_uri().replace("secret", "%73ecret")}";',
        "static-file-localhost-url": f'import x from "file://localhost{s}";',
        "re-export-star": f'export * from "{up}/secret.ts"; const x = 1;',
        "sdk-import-map-escape": f'import x from "{via_sdk}";',
        "dynamic-string-literal": f'const x = await import("{txt}", {{ with: {{ type: "text" }} }});',
        "dynamic-template-literal": f'const x = await import(`{txt}`, {{ with: {{ type: "text" }} }});',
        "dynamic-literal-in-dead-code": f'const x = 1; function never() {{ return import("{s}"); }}',
        "type-reference-directive": f'/// <reference types="{s}" />\nconst x = 1;',
        "broken-module-outside": f'import x from "{up}/broken.js";',
        "token-as-text": f'import x from "{secrets.token}" with {{ type: "text" }};',
        "proc-environ-as-text": 'import x from "/proc/self/environ" with { type: "text" };',
        "proc-cmdline-as-bytes": 'import x from "/proc/self/cmdline" with { type: "bytes" };',
    }


IMPORT_IDS = [
    "static-text-absolute", "static-bytes-absolute", "static-json-outside", "static-dotdot-module",
    "static-file-url", "static-percent-encoded-url", "static-file-localhost-url", "re-export-star",
    "sdk-import-map-escape", "dynamic-string-literal", "dynamic-template-literal", "dynamic-literal-in-dead-code",
    "type-reference-directive", "broken-module-outside", "token-as-text", "proc-environ-as-text",
    "proc-cmdline-as-bytes",
]


@pytest.mark.parametrize("form", IMPORT_IDS)
async def test_imports_that_reach_outside_the_directory_are_refused_before_anything_runs(
    arena: Arena, secrets: Secrets, outside: Path, form: str
) -> None:
    statement = _imports(arena, secrets, outside)[form]
    source = hostile("importer", "await ctx.report({ title: String(x) });", prelude=statement)
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(source)
    reason = info.value.reason
    # Deno itself refuses an import-map specifier that climbs above its prefix (at load time).
    expected = "backtracks above its prefix" if form == "sdk-import-map-escape" else "outside the workflow directory"
    assert expected in reason, reason
    for secret in secrets.all:
        assert secret not in str(info.value), "the refusal quotes the secret"
    await arena.healthy()


async def test_a_jsx_import_source_pragma_pointing_outside_is_refused(arena: Arena, outside: Path) -> None:
    (outside / "jsx-runtime.ts").write_text('export const jsx = () => "pwned"; export const jsxs = jsx;\n')
    d = arena.root / "workflows" / "jsx"
    d.mkdir(parents=True)
    (d / "_view.tsx").write_text(f"/** @jsxImportSource {outside.as_uri()} */\nexport const v = <div />;\n")
    path = arena.write(hostile("jsx", "await ctx.report({ title: String(v) });", prelude='import { v } from "./_view.tsx";'),
                       directory=d)
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(path)
    assert "outside the workflow directory" in info.value.reason
    await arena.healthy()


@pytest.mark.parametrize(
    ("statement", "words"),
    [
        ('import x from "./data.json" with { type: "json" };', "only JavaScript/TypeScript"),
        ('import x from "./notes.txt" with { type: "text" };', "only JavaScript/TypeScript"),
        ('import x from "./_helper.ts" with { type: "text" };', "a text/bytes import"),
        ('import x from "./_helper.ts" with { type: "bytes" };', "unsupported"),
        ('import x from "./module.wasm";', "only JavaScript/TypeScript"),
    ],
    ids=["json-in-dir", "text-in-dir", "own-code-as-text", "own-code-as-bytes", "wasm-module"],
)
async def test_non_code_module_types_inside_the_directory_are_refused(arena: Arena, statement: str, words: str) -> None:
    d = arena.root / "workflows" / "types"
    d.mkdir(parents=True)
    (d / "data.json").write_text('{"a": 1}')
    (d / "notes.txt").write_text("notes")
    (d / "_helper.ts").write_text("export default 1;\n")
    (d / "module.wasm").write_bytes(b"\0asm\1\0\0\0")
    path = arena.write(hostile("types", "await ctx.report({ title: String(x) });", prelude=statement), directory=d)
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(path)
    assert words in info.value.reason, info.value.reason
    await arena.healthy()


@pytest.mark.parametrize("kind", ["file-symlink", "directory-symlink", "dotdot-symlink"])
async def test_symlinks_inside_the_directory_that_point_out_are_refused(
    arena: Arena, secrets: Secrets, outside: Path, kind: str
) -> None:
    d = arena.root / "workflows" / "links"
    d.mkdir(parents=True)
    if kind == "file-symlink":
        os.symlink(outside / "secret.ts", d / "_secret.ts")
        statement = 'import x from "./_secret.ts";'
    elif kind == "directory-symlink":
        os.symlink(outside, d / "lib")
        statement = 'import x from "./lib/secret.ts";'
    else:
        os.symlink("../../../outside/secret.ts", d / "_up.ts")
        statement = 'import x from "./_up.ts";'
    path = arena.write(hostile("links", "await ctx.report({ title: String(x) });", prelude=statement), directory=d)
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(path)
    # A symlinked directory is not copied at all, so its files are simply missing from the snapshot.
    expected = "Module not found" if kind == "directory-symlink" else "outside the workflow directory"
    assert expected in info.value.reason, info.value.reason
    assert secrets.file_text not in str(info.value)
    await arena.healthy()


def _runtime_reads(arena: Arena, secrets: Secrets) -> dict[str, str]:
    f = str(secrets.file)
    up = up_to(arena, secrets.file.parent)
    return {
        "Deno.readTextFile": f"return await Deno.readTextFile({f!r});",
        "Deno.readFileSync": f"return new TextDecoder().decode(Deno.readFileSync({f!r}));",
        "Deno.open": f"const h = await Deno.open({f!r}); const b = new Uint8Array(99); await h.read(b); return b;",
        "Deno.stat": f"return JSON.stringify(Deno.statSync({f!r}));",
        "Deno.readDir": f"return [...Deno.readDirSync({str(secrets.file.parent)!r})].map((e) => e.name).join();",
        "Deno.realPath": f"return Deno.realPathSync({f!r});",
        "fetch-file-url": f"return await (await fetch({secrets.file.as_uri()!r})).text();",
        "computed-import-text": f'return (await import({f[:-3]!r} + "txt", {{ with: {{ type: "text" }} }})).default;',
        "computed-import-module": f'return (await import({str(secrets.file.parent / "secret")!r} + ".ts")).default;',
        "computed-import-json": f'return JSON.stringify(await import({str(secrets.file.parent / "conf")!r} + ".json", '
                                '{ with: { type: "json" } }));',
        "import-meta-url-relative": f'return (await import(new URL("{up}/" + "secret.txt", import.meta.url).href,'
                                    ' { with: { type: "text" } })).default;',
        "import-meta-resolve": f'return (await import(import.meta.resolve("{up}/" + "secret.ts"))).default;',
        "import-meta-dirname": f'return (await import(import.meta.dirname + "/{up}/" + "secret.ts")).default;',
        "node-fs": f'const fs: any = await import("node:" + "fs"); return fs.readFileSync({f!r}, "utf8");',
        "node-require": f'const m: any = await import("node:" + "module"); return m.createRequire("file:///x.js")({f!r});',
        "token-readTextFile": f"return Deno.readTextFileSync({str(secrets.token)!r});",
        "token-computed-import": f'return (await import({str(secrets.token)!r} + "", {{ with: {{ type: "text" }} }})).default;',
        "token-real-path": 'return Deno.readTextFileSync("/var/run/secrets/kubernetes.io/serviceaccount/" + "token");',
        "proc-self-environ": 'return Deno.readTextFileSync("/proc/self/environ");',
        "proc-parent-environ": 'return Deno.readTextFileSync("/proc/" + Deno.ppid + "/environ");',
        "proc-self-cmdline": 'return Deno.readTextFileSync("/proc/self/cmdline");',
        "proc-self-mem": 'return Deno.openSync("/proc/self/mem").rid;',
    }


RUNTIME_IDS = [
    "Deno.readTextFile", "Deno.readFileSync", "Deno.open", "Deno.stat", "Deno.readDir", "Deno.realPath",
    "fetch-file-url", "computed-import-text", "computed-import-module", "computed-import-json",
    "import-meta-url-relative", "import-meta-resolve", "import-meta-dirname", "node-fs", "node-require",
    "token-readTextFile", "token-computed-import", "token-real-path", "proc-self-environ", "proc-parent-environ",
    "proc-self-cmdline", "proc-self-mem",
]


@pytest.mark.parametrize("how", RUNTIME_IDS)
async def test_reads_at_run_time_meet_deno_with_no_read_permission(
    arena: Arena, secrets: Secrets, outside: Path, how: str
) -> None:
    wf = await arena.load(probe("reader", _runtime_reads(arena, secrets)[how]))
    result = await arena.run(wf)
    body = probe_body(result)
    assert body.startswith("DENIED"), body
    assert "Requires read access" in body, body
    assert_no_leak(result, *secrets.all)
    await arena.healthy(wf)


async def test_a_denied_read_does_not_tell_whether_the_file_exists(arena: Arena, secrets: Secrets) -> None:
    attempt = """
    const errs = [];
    for (const p of [ctx.params.arg, ctx.params.arg + ".missing"]) {
      try { await import(p + "", { with: { type: "text" } }); errs.push("OK"); }
      catch (e) { errs.push(String((e as Error).message).replace(p, "<path>")); }
    }
    return JSON.stringify(errs);
    """
    source = hostile("oracle", f"const out = await (async () => {{ {attempt} }})(); await ctx.report({{ title: out }});")
    wf = await arena.load(source)
    result = await arena.run(wf, arg=str(secrets.file))
    assert result.outcome == "ok", result.error
    first, second = json.loads(result.findings[0].title)
    assert first == second
    assert "Requires read access" in first
    await arena.healthy(wf)


def _configmap(d: Path, version: str, files: dict[str, str]) -> None:
    """Lay out `files` the way the kubelet projects a ConfigMap: a timestamped dir, `..data`, top-level links."""
    real = d / f"..{version}"
    real.mkdir(parents=True)
    for name, text in files.items():
        (real / name).write_text(text)
    tmp_link = d / "..data_tmp"
    os.symlink(real.name, tmp_link)
    os.replace(tmp_link, d / "..data")  # the atomic swap the kubelet does
    for name in files:
        if not (d / name).is_symlink():
            os.symlink(f"..data/{name}", d / name)


async def test_a_configmap_whose_data_link_is_swapped_to_point_outside_keeps_serving_the_last_good_version(
    arena: Arena, secrets: Secrets, outside: Path
) -> None:
    from host.workflows.registry import Registry, WorkflowDir

    d = arena.root / "configmap"
    d.mkdir()
    wf_source = hostile("mounted", "await ctx.report({ title: String(x) });", prelude='import x from "./_helper.ts";')
    _configmap(d, "2024_01_01", {"mounted.ts": wf_source, "_helper.ts": 'export default "helper-v1";\n'})
    registry = Registry(env=arena.env, router=arena.router, config=arena.config, dirs=[WorkflowDir(d, "custom")])
    await registry.rescan(WorkflowDir(d, "custom"))
    try:
        first = registry.get("mounted")
        assert first is not None, registry.statuses()
        assert [f.title for f in (await arena.run(first)).findings] == ["helper-v1"]

        # The swap: `..data` now points at a directory outside, whose `_helper.ts` holds the secret.
        (outside / "mounted.ts").write_text(wf_source)
        (outside / "_helper.ts").write_text(f'export default "{secrets.file_text}";\n')
        tmp_link = d / "..data_tmp"
        os.symlink(outside, tmp_link)
        os.replace(tmp_link, d / "..data")
        await registry.rescan(WorkflowDir(d, "custom"))

        status = registry.status_of(d / "mounted.ts")
        assert status is not None
        assert status.state == "degraded", status
        assert "outside the workflow directory" in (status.error or ""), status.error
        serving = registry.get("mounted")
        assert serving is first
        result = await arena.run(serving)
        assert [f.title for f in result.findings] == ["helper-v1"]
        assert_no_leak(result, secrets.file_text)
    finally:
        await registry.stop()
    await arena.healthy()
