"""Hostile workflows that try to fill the host's disk through Deno's own caches and storage.

The guest cannot write a file (`--deny-write`), but Deno writes on its behalf under DENO_DIR:
emitted code and analyses of every module it loads, Cache API bodies, `localStorage`. The host
seals those paths (host/sandbox/denodir.py), so a flood of any of them leaves the directory as
it was, and nothing a workflow stores survives into another workflow (or its own next child).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from host.sandbox.denodir import AS_DIRECTORIES, AS_FILES
from tests.sandbox.conftest import Arena, ArenaFactory, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize(
    "module",
    [
        '"data:application/typescript," + encodeURIComponent(SRC)',
        '"data:text/javascript," + encodeURIComponent(SRC)',
        'URL.createObjectURL(new Blob([SRC], { type: "application/typescript" }))',
    ],
    ids=["data-typescript", "data-javascript", "blob-typescript"],
)
async def test_a_flood_of_generated_modules_leaves_nothing_on_disk(arena: Arena, module: str) -> None:
    body = f"""
    const pad = "x".repeat(20000);
    for (let i = 0; i < 400; i++) {{
      const SRC = "const n: number = " + i + "; export const p = '" + pad + "'; export default n;";
      await import({module.replace("SRC", "SRC.replace(': number', ctx.params.arg)")});
    }}
    await ctx.report({{ title: "imported 400 modules, 8 MB of source" }});
    """
    wf = await arena.load(hostile("module-flood", body))
    deno_dir = wf.pool.prepared.deno_dir
    before = size_of(deno_dir)
    ts = "" if "javascript" in module else ": number"
    result = await arena.run(wf, arg=ts, timeout=30)
    assert result.outcome == "ok", result.error
    assert size_of(deno_dir) - before < 256 << 10, f"DENO_DIR grew by {(size_of(deno_dir) - before) >> 10} KiB"
    await arena.healthy(wf)


async def test_the_cache_api_and_local_storage_cannot_store_anything(arena: Arena) -> None:
    body = """
    const out: string[] = [];
    try {
      const c = await (globalThis as any).caches.open("fill");
      await c.put(new Request("http://x/1"), new Response(new Uint8Array(64 << 20)));
      out.push("cache stored");
    } catch (e) { out.push("cache: " + (e as Error).message); }
    try { (globalThis as any).localStorage.setItem("k", "v".repeat(1 << 20)); out.push("stored"); }
    catch (e) { out.push("storage: " + (e as Error).name); }
    throw new Error(out.join(" | "));
    """
    wf = await arena.load(hostile("storage", body), raw=True)  # the raw SDK leaves both APIs in place
    deno_dir = wf.pool.prepared.deno_dir
    before = size_of(deno_dir)
    result = await arena.run(wf)
    assert result.outcome == "failed"
    assert "cache: Failed to create cache storage directory" in (result.error or ""), result.error
    assert "storage: NotADirectory" in (result.error or ""), result.error
    assert size_of(deno_dir) - before < 64 << 10
    await arena.healthy(wf)


async def test_a_worker_thread_cannot_reach_the_cache_api_the_sdk_removed(arena_factory: ArenaFactory) -> None:
    # At a 512 MiB heap cap RLIMIT_DATA leaves room for a second isolate, so the worker starts.
    arena = arena_factory(maxHeapMb=512)
    body = """
    const { Worker: W } = await import("node:" + "worker_threads");
    const src = 'import { parentPort } from "node:worker_threads"; let out;' +
      ' try { const c = await caches.open("x"); await c.put(new Request("http://x/"), new Response(new Uint8Array(32 << 20)));' +
      ' out = "stored"; } catch (e) { out = String(e); } parentPort.postMessage(out);';
    const m = await new Promise((res) => { const w = new W(new URL("data:text/javascript," + encodeURIComponent(src)));
      w.on("message", (x: unknown) => { res(x); w.terminate(); }); w.on("error", (e: unknown) => res("error " + e)); });
    throw new Error("WORKER " + m);
    """
    wf = await arena.load(hostile("thread-cache", body))
    deno_dir = wf.pool.prepared.deno_dir
    before = size_of(deno_dir)
    result = await arena.run(wf)
    assert result.outcome == "failed", (result.outcome, result.error)
    assert "Failed to create cache storage directory" in (result.error or ""), result.error
    assert size_of(deno_dir) - before < 64 << 10
    await arena.healthy(wf)


def test_a_deno_dir_from_before_the_seal_is_sealed_on_the_next_load(tmp_path: Path) -> None:
    from host.sandbox.denodir import seal_deno_dir

    d = tmp_path / "old"
    (d / "gen" / "data").mkdir(parents=True)
    (d / "gen" / "data" / "x.js").write_text("1")
    (d / "location_data" / "web_cache").mkdir(parents=True)
    for name in AS_DIRECTORIES:
        (d / name).write_bytes(b"SQLite")
        (d / f"{name}-wal").write_bytes(b"wal")
    seal_deno_dir(d)
    seal_deno_dir(d)  # idempotent
    assert all((d / name).is_file() and (d / name).stat().st_size == 0 for name in AS_FILES)
    assert all((d / name).is_dir() and not (d / f"{name}-wal").exists() for name in AS_DIRECTORIES)
