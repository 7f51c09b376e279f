"""Turn a workflow file into something safe to run: snapshot, checked graph, entry and import map."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from host.config import HostConfig, LimitsConfig, SandboxConfig
from host.errors import WorkflowRefused
from host.paths import sdk_root
from host.sandbox.deno import find_deno
from host.sandbox.denodir import seal_deno_dir
from host.sandbox.graph import check_graph, module_graph
from host.sandbox.snapshot import DirScan, ScanCaps, Snapshot, SnapshotStore, safe_name, scan_directory
from host.sandbox.warm import WarmSet


@dataclass(frozen=True)
class SandboxEnv:
    """Everything fixed for all children of one host: the binary, the SDK, where state goes, the limits."""

    deno: Path
    sdk: Path
    state_dir: Path
    limits: SandboxConfig
    caps: LimitsConfig = field(default_factory=LimitsConfig)
    snapshots: SnapshotStore = field(init=False)
    warm: WarmSet = field(init=False)

    def __post_init__(self) -> None:
        store = SnapshotStore(self.state_dir / "snapshots", self.state_dir / "entries")
        object.__setattr__(self, "snapshots", store)
        object.__setattr__(self, "warm", WarmSet(max_warm=self.limits.max_warm_workers))

    @classmethod
    def from_config(cls, config: HostConfig) -> SandboxEnv:
        sb = config.sandbox
        state = sb.state_dir
        for sub in ("snapshots", "entries", "deno"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        return cls(deno=find_deno(sb.deno_path), sdk=sdk_root(sb.sdk_path), state_dir=state.resolve(), limits=sb,
                   caps=config.limits)

    @property
    def scan_caps(self) -> ScanCaps:
        return ScanCaps(max_total_bytes=self.limits.max_workflow_bytes, max_file_bytes=self.caps.max_file_bytes,
                        max_entries=self.caps.max_files_per_directory, max_name_length=self.caps.max_name_length)

    def deno_dir_for(self, source: Path) -> Path:
        """One DENO_DIR per workflow file, so workflows share no cache or storage; sealed (see `denodir`)."""
        key = hashlib.sha256(str(source.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:12]
        path = self.state_dir / "deno" / f"{safe_name(source.stem)}-{key}"
        seal_deno_dir(path)
        return path


def graph_digest(files: dict[str, bytes], modules: tuple[str, ...]) -> str | None:
    """A digest of the local modules a workflow's graph reaches, read from a directory scan; None
    when one of them is gone. Equal digests: nothing this workflow runs has changed."""
    h = hashlib.sha256()
    for rel in modules:
        content = files.get(rel)
        if content is None:
            return None
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(content).digest())
    return h.hexdigest()


@dataclass(frozen=True)
class PreparedWorkflow:
    source: Path
    snapshot: Snapshot
    entry: Path
    import_map: Path
    deno_dir: Path
    modules: tuple[str, ...] = ()  # the local modules its graph reaches, relative to the directory
    graph: str | None = None  # their `graph_digest`: its own version, beside the directory's

    @property
    def version(self) -> str:
        return self.snapshot.digest

    def release(self, env: SandboxEnv) -> None:
        """This version is done (blocking: run in a thread). Its snapshot goes once nobody runs from it,
        and the code Deno emitted for it leaves this file's DENO_DIR now, so edits do not pile up there."""
        env.snapshots.release(self.snapshot)
        emitted = self.deno_dir / "gen" / "file" / self.snapshot.root.relative_to(self.snapshot.root.anchor)
        shutil.rmtree(emitted, ignore_errors=True)


def _write_once(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.rename(path)


@dataclass(frozen=True)
class _Files:
    snapshot: Snapshot
    home: Path
    import_map: Path
    deno_dir: Path


def _lay_out(source: Path, env: SandboxEnv, scan: DirScan) -> _Files:
    """The blocking part of `prepare` (run in a thread): the snapshot, the import map, the DENO_DIR."""
    snap = env.snapshots.take(source, scan)
    try:
        home = env.state_dir / "entries" / snap.root.name / safe_name(source.stem)
        home.mkdir(parents=True, exist_ok=True)
        import_map = home / "import_map.json"
        sdk_url = env.sdk.as_uri()
        _write_once(
            import_map,
            json.dumps({"imports": {"@wfhost/sdk": f"{sdk_url}/mod.ts", "@wfhost/sdk/": f"{sdk_url}/"}}, indent=2),
        )
        return _Files(snapshot=snap, home=home, import_map=import_map, deno_dir=env.deno_dir_for(source))
    except BaseException:
        env.snapshots.release(snap)
        raise


async def prepare(source: Path, env: SandboxEnv, *, scan: DirScan | None = None) -> PreparedWorkflow:
    """Snapshot `source`'s directory, refuse a bad module graph, write the entry file.

    The file work runs in a thread, off the event loop. The snapshot counts one user until the
    caller hands the result to a pool (which releases it when closed); on failure it is released here.
    """
    if scan is None:
        scan = await asyncio.to_thread(scan_directory, source.parent, caps=env.scan_caps)
    try:
        files = await asyncio.to_thread(_lay_out, source, env, scan)
    except OSError as exc:
        raise WorkflowRefused(str(source), f"cannot write the snapshot: {exc.strerror or type(exc).__name__}") from exc
    snap = files.snapshot
    try:
        graph = await module_graph(
            deno=env.deno, module=snap.entry, import_map=files.import_map, deno_dir=files.deno_dir,
            timeout=env.limits.check_timeout_seconds,
        )
        reached = check_graph(graph, snapshot=snap, sdk_root=env.sdk, original=source)
        root = snap.root.resolve()
        modules = tuple(sorted(p.relative_to(root).as_posix() for p in reached if p.is_relative_to(root)))
        entry = files.home / "entry.ts"
        sdk_url = env.sdk.as_uri()
        # The runtime is imported (and takes hold of stdout and console) before any workflow code runs;
        # the workflow comes in through a string-literal dynamic import, which needs no permission, so
        # a syntax error or a top-level throw is answered on `initialize` instead of killing the child.
        text = (
            f'import {{ serveModule }} from "{sdk_url}/runtime.ts";\n'
            f'serveModule(() => import("{snap.entry.as_uri()}"));\n'
        )
        await asyncio.to_thread(_write_once, entry, text)
    except OSError as exc:
        await asyncio.to_thread(env.snapshots.release, snap)
        raise WorkflowRefused(str(source), f"cannot write the entry file: {exc.strerror or type(exc).__name__}") from exc
    except BaseException:
        await asyncio.to_thread(env.snapshots.release, snap)
        raise
    return PreparedWorkflow(source=source, snapshot=snap, entry=entry, import_map=files.import_map,
                            deno_dir=files.deno_dir, modules=modules, graph=graph_digest(scan.files, modules))
