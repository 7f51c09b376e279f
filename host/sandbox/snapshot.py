"""Read a workflow's directory race-free and within caps, and copy it into a shared, private snapshot.

The child never runs from the watched directory: the module graph is checked on the snapshot,
and the snapshot is what runs, so nothing can change between the check and the run.

Reading the directory is where a workflow's author meets the host's own code first, so it is
written for an author who swaps files while we read them:

- Every entry is looked at and opened relative to an open directory descriptor, never by path
  again: folders with `O_DIRECTORY|O_NOFOLLOW`, files with `O_NOFOLLOW|O_NONBLOCK|O_NOCTTY`.
  A symlink is followed only by resolving it to a real path inside the directory and then
  walking that path's components from the directory's descriptor without following links, so
  whatever is read was inside the directory when it was opened. A file swapped for a symlink,
  a FIFO or a device between the listing and the open fails the open or the `fstat` check;
  nothing blocks (a FIFO opened non-blocking returns at once) and nothing outside is read.
- Caps are checked before the work they bound: entries per directory and name length while
  listing (lazily, so a million entries cost one entry past the cap), the byte caps on the
  open handle's `fstat` size before reading, and then at most the cap plus one byte is read,
  so a sparse 64 GB file costs one `fstat`.
- Every error class at this boundary (`OSError`, `MemoryError`, `RecursionError`, anything
  else) becomes a `WorkflowRefused` of that directory; no message quotes file content.

Only regular JS/TS files are copied; hidden entries (a ConfigMap volume's `..data` and
timestamped folders) are reached only through the top-level symlinks that point into them.
All workflow files of one directory version share one snapshot, named by the version's digest;
`SnapshotStore` counts its users (in this process, and across processes with `flock`) and
removes it when the last one is gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from host.errors import WfhostError, WorkflowRefused

log = structlog.get_logger(__name__)

CODE_SUFFIXES = (".ts", ".mts", ".tsx", ".js", ".mjs", ".jsx")
MAX_DEPTH = 16
MAX_SYMLINK_HOPS = 8
SAFE_NAME_LENGTH = 64

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class ScanCaps:
    """What one workflow directory may hold; each is checked before the work it bounds."""

    max_total_bytes: int = 4 << 20
    max_file_bytes: int = 1 << 20
    max_entries: int = 500
    max_name_length: int = 253


@dataclass(frozen=True)
class Snapshot:
    root: Path
    entry: Path  # the workflow file inside root
    digest: str
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> why it was not copied


@dataclass(frozen=True)
class DirScan:
    files: dict[str, bytes]
    skipped: dict[str, str]
    digest: str  # the version: short, shown to people
    key: str  # the full digest: names the snapshot


def safe_name(name: str, *, limit: int = SAFE_NAME_LENGTH) -> str:
    """`name` if it is short and plain, else a readable prefix and a hash: always a legal file name."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name).lstrip(".") or "_"
    if plain == name and len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{plain[: limit - 17]}-{digest}"


def _is_code(name: str) -> bool:
    return name.endswith(CODE_SUFFIXES)


class _Refused(WfhostError):
    """A cap or a read failed: the whole directory is refused with this reason."""


class _Reader:
    def __init__(self, real_root: str, root_fd: int, caps: ScanCaps) -> None:
        self.real_root = real_root
        self.root_fd = root_fd
        self.caps = caps
        self.files: dict[str, bytes] = {}
        self.skipped: dict[str, str] = {}
        self.entries = 0
        self.total = 0

    # -- listing ---------------------------------------------------------------------------
    def walk(self, dir_fd: int, prefix: str, depth: int) -> None:
        for name in self._names(dir_fd):
            rel = f"{prefix}{name}"
            if name.startswith("."):
                continue
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone since the listing
            if stat.S_ISDIR(st.st_mode):
                if depth >= MAX_DEPTH:
                    raise _Refused(f"nests folders deeper than {MAX_DEPTH} levels")
                try:
                    sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError as exc:
                    self.skipped[rel] = f"a folder that changed while it was read ({_why(exc)})"
                    continue
                try:
                    self.walk(sub, f"{rel}/", depth + 1)
                finally:
                    os.close(sub)
            elif stat.S_ISLNK(st.st_mode) and os.path.isdir(os.path.join(self.real_root, prefix, name)):
                self.skipped[rel] = "a symlinked directory"
            elif not _is_code(name):
                self.skipped[rel] = "not a JavaScript/TypeScript module"
            elif stat.S_ISLNK(st.st_mode):
                self._linked(dir_fd, prefix, name, rel)
            elif stat.S_ISREG(st.st_mode):
                self._read(dir_fd, name, rel)
            else:
                self.skipped[rel] = "not a regular file"

    def _names(self, dir_fd: int) -> list[str]:
        """The names in a folder, counted against the entry cap as they come (never listed past it)."""
        names: list[str] = []
        with os.scandir(dir_fd) as it:
            for entry in it:
                self.entries += 1
                if self.entries > self.caps.max_entries:
                    raise _Refused(f"holds more than {self.caps.max_entries} files and folders")
                if len(entry.name) > self.caps.max_name_length:
                    raise _Refused(f"holds a name longer than {self.caps.max_name_length} characters")
                names.append(entry.name)
        return sorted(names)

    # -- symlinks --------------------------------------------------------------------------
    def _linked(self, dir_fd: int, prefix: str, name: str, rel: str) -> None:
        """Follow a symlink only to a regular file inside the directory, opened without following links."""
        real = os.path.realpath(os.path.join(self.real_root, prefix, name))
        inside = os.path.relpath(real, self.real_root)
        if inside == "." or inside.startswith(("../", "/")) or inside == "..":
            self.skipped[rel] = "a symlink that leads outside the workflow directory"
            return
        parts = inside.split("/")
        fds: list[int] = []
        try:
            here = self.root_fd
            for part in parts[:-1]:
                here = os.open(part, _DIR_FLAGS, dir_fd=here)
                fds.append(here)
            self._read(here, parts[-1], rel)
        except OSError as exc:
            self.skipped[rel] = f"a symlink whose target changed while it was read ({_why(exc)})"
        finally:
            for fd in fds:
                os.close(fd)

    # -- reading ---------------------------------------------------------------------------
    def _read(self, dir_fd: int, name: str, rel: str) -> None:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO, errno.EWOULDBLOCK):
                self.skipped[rel] = f"a file that changed while it was read ({_why(exc)})"
                return
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                self.skipped[rel] = "not a regular file"
                return
            self._room(rel, st.st_size)
            limit = min(self.caps.max_file_bytes, self.caps.max_total_bytes - self.total)
            data = _read_at_most(fd, limit + 1)
            self._room(rel, len(data))
        finally:
            os.close(fd)
        self.total += len(data)
        self.files[rel] = data

    def _room(self, rel: str, size: int) -> None:
        if size > self.caps.max_file_bytes:
            raise _Refused(f"{rel} is larger than {self.caps.max_file_bytes} bytes")
        if self.total + size > self.caps.max_total_bytes:
            raise _Refused(f"holds more than {self.caps.max_total_bytes} bytes of code")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = os.read(fd, min(limit - got, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def scan_directory(source_dir: Path, *, caps: ScanCaps) -> DirScan:
    """Read the code files of a workflow directory and a digest of them all (no writes).

    Raises only `WorkflowRefused`, whatever the directory holds or does while it is read.
    """
    where = str(source_dir)
    try:
        real_root = os.path.realpath(source_dir)
        root_fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            reader = _Reader(real_root, root_fd, caps)
            reader.walk(root_fd, "", 0)
        finally:
            os.close(root_fd)
    except _Refused as exc:
        raise WorkflowRefused(where, str(exc)) from None
    except OSError as exc:
        raise WorkflowRefused(where, f"cannot read the workflow directory: {_why(exc)}") from None
    except MemoryError:
        raise WorkflowRefused(where, "reading the workflow directory ran out of memory") from None
    except RecursionError:
        raise WorkflowRefused(where, "the workflow directory nests too deeply") from None
    except Exception as exc:  # noqa: BLE001 -- the boundary: anything else refuses this directory, never the host
        log.warning("snapshot.scan_failed", directory=where, error_type=type(exc).__name__)
        raise WorkflowRefused(where, f"cannot read the workflow directory ({type(exc).__name__})") from None
    h = hashlib.sha256()
    for rel in sorted(reader.files):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(reader.files[rel]).digest())
    key = h.hexdigest()
    return DirScan(files=reader.files, skipped=reader.skipped, digest=key[:16], key=key)


# -- the shared snapshots ----------------------------------------------------------------------


def _locked(path: Path, *, exclusive: bool) -> int | None:
    """An fd holding a flock on `path` (created if missing), or None if an exclusive lock is taken."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if exclusive:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                fcntl.flock(fd, fcntl.LOCK_SH)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            here, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            os.close(fd)
            continue  # removed by its last user meanwhile: take a fresh one
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            return fd
        os.close(fd)


class SnapshotStore:
    """The snapshots under `<state>/snapshots`, one per directory version, removed when unused.

    Users in this process are counted; across processes (`wfhost invoke` beside a host sharing a
    state dir) each user holds a shared `flock` on the snapshot's lock file, and a snapshot is
    removed only under an exclusive one, so no process loses files it runs from.
    """

    def __init__(self, root: Path, entries: Path) -> None:
        self.root = root
        self.entries = entries
        self._users: dict[str, int] = {}
        self._locks: dict[str, int] = {}
        self._mutex = threading.Lock()  # take/release run in worker threads
        self.removed = 0

    def lock_path(self, name: str) -> Path:
        return self.root / f".{name}.lock"

    def take(self, workflow_file: Path, scan: DirScan) -> Snapshot:
        """Copy (once) the scanned directory under `snapshots/<key>/` and count one user of it."""
        rel_entry = workflow_file.name
        if rel_entry not in scan.files:
            why = scan.skipped.get(rel_entry, "missing")
            raise WorkflowRefused(str(workflow_file), f"the workflow file itself cannot be used: {why}")
        name = scan.key
        with self._mutex:
            return self._take(name, rel_entry, scan)

    def _take(self, name: str, rel_entry: str, scan: DirScan) -> Snapshot:
        if name not in self._users:
            fd = _locked(self.lock_path(name), exclusive=False)
            assert fd is not None
            try:
                self._write(name, scan)
            except BaseException:
                os.close(fd)
                raise
            self._locks[name] = fd
        self._users[name] = self._users.get(name, 0) + 1
        root = self.root / name
        return Snapshot(root=root, entry=root / rel_entry, digest=scan.digest, skipped=scan.skipped)

    def _write(self, name: str, scan: DirScan) -> None:
        root = self.root / name
        if root.exists():
            return
        tmp = self.root / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            for rel, data in scan.files.items():
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                target.chmod(0o444)
            tmp.mkdir(exist_ok=True)
            tmp.rename(root)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not root.exists():
                raise

    def users(self, name: str) -> int:
        return self._users.get(name, 0)

    def release(self, snapshot: Snapshot) -> None:
        """One user is done; the last one (in every process) removes the snapshot and its entry files."""
        with self._mutex:
            self._release(snapshot.root.name)

    def _release(self, name: str) -> None:
        left = self._users.get(name, 0) - 1
        if left > 0:
            self._users[name] = left
            return
        self._users.pop(name, None)
        fd = self._locks.pop(name, None)
        if fd is not None:
            os.close(fd)
        lock = self.lock_path(name)
        exclusive = _locked(lock, exclusive=True)
        if exclusive is None:
            return  # another process still runs from it; the last one removes it
        try:
            shutil.rmtree(self.root / name, ignore_errors=True)
            shutil.rmtree(self.entries / name, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            self.removed += 1
            log.debug("snapshot.removed", snapshot=name)
        finally:
            os.close(exclusive)

    def names(self) -> Iterator[str]:
        return iter(sorted(self._users))
