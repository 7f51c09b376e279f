"""Seal a workflow's DENO_DIR so nothing a guest does there reaches the disk.

`--deny-write` stops the guest's own writes, not Deno's: for every module a guest loads, even a
computed `data:` or `blob:` one, Deno stores emitted JavaScript (`gen/data`, `gen/blob`), a V8
code cache and a dependency analysis; the Cache API stores response bodies and `localStorage` its
items, all under DENO_DIR and without a quota. Measured with Deno 2.9: 350 MB of caches in 11 s
from `data:` imports, 200 MB/s through `caches.put` (reachable from a `node:worker_threads`
worker even though the SDK deletes `caches`), from a workflow with no permissions: enough to fill
the host's disk. Deno treats these caches as optional: when a database path is a directory it
keeps that cache in memory, and when `gen/data`, `gen/blob` or `location_data` is a regular file
those emits are skipped and `caches.open`/`localStorage` throw. So we put exactly those in its way
(costs about 8 ms per child start). Emits of `file:` modules stay cached: only the snapshot's and
the SDK's files can be loaded, so they are bounded. Cache names carry a version (`_v2`);
tests/sandbox checks that a flood of modules still leaves the directory small, so a Deno upgrade
that renames them is caught.
"""

from __future__ import annotations

import shutil
from pathlib import Path

AS_FILES = ("gen/data", "gen/blob", "location_data")  # Deno wants directories here
AS_DIRECTORIES = ("dep_analysis_cache_v2", "node_analysis_cache_v2", "v8_code_cache_v2")  # Deno wants SQLite files here


def seal_deno_dir(path: Path) -> None:
    """Make `path`'s emit, code, analysis and storage caches unwritable for Deno (idempotent)."""
    path.mkdir(parents=True, exist_ok=True)
    for name in AS_FILES:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink():
            target.unlink()
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")
    for name in AS_DIRECTORIES:
        target = path / name
        for leftover in (target, path / f"{name}-wal", path / f"{name}-shm", path / f"{name}-journal"):
            if leftover.is_symlink() or leftover.is_file():
                leftover.unlink()
        target.mkdir(exist_ok=True)
