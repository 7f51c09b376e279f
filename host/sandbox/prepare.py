"""Turn a workflow file into something safe to run: snapshot, checked graph, entry and import map."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from host.config import HostConfig, SandboxConfig
from host.paths import sdk_root
from host.sandbox.deno import find_deno
from host.sandbox.denodir import seal_deno_dir
from host.sandbox.graph import check_graph, module_graph
from host.sandbox.snapshot import DirScan, Snapshot, take_snapshot


@dataclass(frozen=True)
class SandboxEnv:
    """Everything fixed for all children of one host: the binary, the SDK, where state goes, the limits."""

    deno: Path
    sdk: Path
    state_dir: Path
    limits: SandboxConfig

    @classmethod
    def from_config(cls, config: HostConfig) -> SandboxEnv:
        sb = config.sandbox
        state = sb.state_dir
        for sub in ("snapshots", "entries", "deno"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        return cls(deno=find_deno(sb.deno_path), sdk=sdk_root(sb.sdk_path), state_dir=state.resolve(), limits=sb)

    def deno_dir_for(self, source: Path) -> Path:
        """One DENO_DIR per workflow file, so workflows share no cache or storage; sealed (see `denodir`)."""
        key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
        path = self.state_dir / "deno" / f"{source.stem}-{key}"
        seal_deno_dir(path)
        return path


@dataclass(frozen=True)
class PreparedWorkflow:
    source: Path
    snapshot: Snapshot
    entry: Path
    import_map: Path
    deno_dir: Path

    @property
    def version(self) -> str:
        return self.snapshot.digest


def _write_once(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.rename(path)


async def prepare(source: Path, env: SandboxEnv, *, scan: DirScan | None = None) -> PreparedWorkflow:
    """Snapshot `source`'s directory, refuse a bad module graph, write the entry file."""
    snap = take_snapshot(
        source, into=env.state_dir / "snapshots", max_bytes=env.limits.max_workflow_bytes, scan=scan
    )
    home = env.state_dir / "entries" / snap.root.name
    home.mkdir(parents=True, exist_ok=True)
    import_map = home / "import_map.json"
    sdk_url = env.sdk.as_uri()
    _write_once(
        import_map,
        json.dumps({"imports": {"@wfhost/sdk": f"{sdk_url}/mod.ts", "@wfhost/sdk/": f"{sdk_url}/"}}, indent=2),
    )
    deno_dir = env.deno_dir_for(source)
    graph = await module_graph(
        deno=env.deno, module=snap.entry, import_map=import_map, deno_dir=deno_dir,
        timeout=env.limits.check_timeout_seconds,
    )
    check_graph(graph, snapshot=snap, sdk_root=env.sdk, original=source)
    entry = home / "entry.ts"
    # The runtime is imported (and takes hold of stdout and console) before any workflow code runs;
    # the workflow comes in through a string-literal dynamic import, which needs no permission, so
    # a syntax error or a top-level throw is answered on `initialize` instead of killing the child.
    _write_once(
        entry,
        f'import {{ serveModule }} from "{sdk_url}/runtime.ts";\n'
        f'serveModule(() => import("{snap.entry.as_uri()}"));\n',
    )
    return PreparedWorkflow(source=source, snapshot=snap, entry=entry, import_map=import_map, deno_dir=deno_dir)
