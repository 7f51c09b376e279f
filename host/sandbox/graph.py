"""Refuse a workflow whose module graph reaches outside its snapshot and the SDK.

With zero permissions Deno still reads any file a static or string-literal dynamic import
names, as JSON, text or bytes. `deno info --json` lists that graph without running anything;
we accept only JS/TS modules (`kind: esm`) whose real path lies in the snapshot or the SDK.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from host.errors import WorkflowRefused
from host.sandbox.deno import info_args, scrubbed_env
from host.sandbox.snapshot import Snapshot

CODE_MEDIA_TYPES = frozenset({"TypeScript", "JavaScript", "Mts", "Mjs", "Cts", "Cjs", "TSX", "JSX", "Dts", "Dmts", "Dcts"})


async def module_graph(*, deno: Path, module: Path, import_map: Path, deno_dir: Path, timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *info_args(deno=deno, module=module, import_map=import_map),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=scrubbed_env(deno_dir),
        cwd=str(deno_dir),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise WorkflowRefused(str(module), f"resolving the module graph took longer than {timeout:g}s") from exc
    if proc.returncode != 0:
        raise WorkflowRefused(str(module), _clean(err.decode(errors="replace")) or "deno info failed")
    result: dict[str, Any] = json.loads(out)
    return result


def _clean(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " ".join(ln.removeprefix("error: ") for ln in lines)[:800]


def _local_path(specifier: str) -> Path | None:
    url = urlparse(specifier)
    if url.scheme != "file":
        return None
    return Path(unquote(url.path))


def check_graph(graph: dict[str, Any], *, snapshot: Snapshot, sdk_root: Path, original: Path) -> list[Path]:
    """Raise `WorkflowRefused` naming the first bad module; return the modules otherwise."""
    snap_root = snapshot.root.resolve()
    sdk = sdk_root.resolve()
    modules: list[Path] = []
    for mod in graph.get("modules", []):
        spec = str(mod.get("specifier", "?"))
        shown = _shown(spec, snap_root, original)
        kind = mod.get("kind")
        path = _local_path(spec)
        if path is None:
            raise WorkflowRefused(str(original), f"imports {spec}: only local modules in the workflow directory are allowed")
        real = path.resolve()
        if not (real.is_relative_to(snap_root) or real.is_relative_to(sdk)):
            raise WorkflowRefused(str(original), f"imports {shown}, which is outside the workflow directory")
        if "error" in mod:
            raise WorkflowRefused(str(original), _explain_error(str(mod["error"]), spec, snapshot, snap_root))
        for dep in mod.get("dependencies") or []:
            for side in ("code", "type"):
                problem = (dep.get(side) or {}).get("error")
                if problem:
                    raise WorkflowRefused(
                        str(original), f"{shown} imports {dep.get('specifier', '?')!r}, which cannot be resolved: {problem}"
                    )
        if kind != "esm" or mod.get("mediaType") not in CODE_MEDIA_TYPES:
            what = {"asserted": "a JSON import", "external": "a text/bytes import"}.get(str(kind), f"a {kind} module")
            raise WorkflowRefused(
                str(original), f"imports {shown} as {what}: only JavaScript/TypeScript modules are allowed"
            )
        modules.append(real)
    return modules


def _shown(spec: str, snap_root: Path, original: Path) -> str:
    """Name a module as the author wrote it: relative to the original directory, not our snapshot."""
    path = _local_path(spec)
    if path is None:
        return spec
    if path.is_relative_to(snap_root.parent):
        return os.path.normpath(original.parent / os.path.relpath(path, snap_root))
    return str(path)


def _explain_error(error: str, spec: str, snapshot: Snapshot, snap_root: Path) -> str:
    path = _local_path(spec)
    if path is not None and path.is_relative_to(snap_root):
        rel = path.relative_to(snap_root).as_posix()
        if not rel.endswith((".ts", ".mts", ".tsx", ".js", ".mjs", ".jsx")):
            return f"imports {rel}: only JavaScript/TypeScript modules are allowed"
        if rel in snapshot.skipped:
            return f"imports {rel}, which cannot be used: it is {snapshot.skipped[rel]}"
    return f"cannot resolve {spec}: {error}"
