"""Copy a workflow's directory into a private, content-addressed snapshot the child runs from.

The child never runs from the watched directory: the module graph is checked on the
snapshot, and the snapshot is what runs, so nothing can change between the check and the
run. Only regular JS/TS files whose real path stays inside the directory are copied; hidden
entries (a ConfigMap volume's `..data` and timestamped folders) are reached only through the
top-level symlinks that point into them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from host.errors import WorkflowRefused

CODE_SUFFIXES = (".ts", ".mts", ".tsx", ".js", ".mjs", ".jsx")


@dataclass(frozen=True)
class Snapshot:
    root: Path
    entry: Path  # the workflow file inside root
    digest: str
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> why it was not copied


def _is_code(name: str) -> bool:
    return name.endswith(CODE_SUFFIXES)


def _collect(source_dir: Path, *, max_bytes: int) -> tuple[dict[str, bytes], dict[str, str]]:
    real_root = source_dir.resolve()
    files: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(source_dir, followlinks=False):
        here = Path(dirpath)
        keep_dirs = []
        for d in dirnames:
            rel = (here / d).relative_to(source_dir).as_posix()
            if d.startswith("."):
                continue
            if (here / d).is_symlink():
                skipped[rel] = "a symlinked directory"
                continue
            keep_dirs.append(d)
        dirnames[:] = sorted(keep_dirs)
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(source_dir).as_posix()
            if name.startswith("."):
                continue
            if not _is_code(name):
                skipped[rel] = "not a JavaScript/TypeScript module"
                continue
            real = path.resolve()
            if not real.is_relative_to(real_root):
                skipped[rel] = f"a symlink to {real}, outside the workflow directory"
                continue
            if not real.is_file():
                skipped[rel] = "not a regular file"
                continue
            data = real.read_bytes()
            total += len(data)
            if total > max_bytes:
                raise WorkflowRefused(str(source_dir), f"holds more than {max_bytes} bytes of code")
            files[rel] = data
    return files, skipped


@dataclass(frozen=True)
class DirScan:
    files: dict[str, bytes]
    skipped: dict[str, str]
    digest: str


def scan_directory(source_dir: Path, *, max_bytes: int) -> DirScan:
    """Read the code files of a workflow directory and a digest of them all (cheap: no writes)."""
    try:
        files, skipped = _collect(source_dir, max_bytes=max_bytes)
    except OSError as exc:
        raise WorkflowRefused(str(source_dir), f"cannot read the workflow directory: {exc}") from exc
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return DirScan(files=files, skipped=skipped, digest=h.hexdigest()[:16])


def take_snapshot(workflow_file: Path, *, into: Path, max_bytes: int, scan: DirScan | None = None) -> Snapshot:
    """Copy `workflow_file`'s directory under `into/<name>-<digest>/` and return where it is."""
    rel_entry = workflow_file.name
    if scan is None:
        scan = scan_directory(workflow_file.parent, max_bytes=max_bytes)
    files, skipped, digest = scan.files, scan.skipped, scan.digest
    if rel_entry not in files:
        why = skipped.get(rel_entry, "missing")
        raise WorkflowRefused(str(workflow_file), f"the workflow file itself cannot be used: {why}")
    stem = workflow_file.stem.replace(os.sep, "_")
    root = into / f"{stem}-{digest}"
    if not root.exists():
        tmp = into / f".{stem}-{digest}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o444)
        try:
            tmp.rename(root)
        except OSError:
            if not root.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    return Snapshot(root=root, entry=root / rel_entry, digest=digest, skipped=skipped)
