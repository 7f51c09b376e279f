"""Which runtime a process runs: python, go, jvm, node or native, with its version where readable.

Nothing attaches to the process and nothing runs in it; the agent reads `/proc/PID/exe` (its
name, and for Go the build info in the binary), `/proc/PID/maps` (which libraries are mapped) and
a few small files of the target's filesystem through `/proc/PID/root`:

- **python**: `libpython3.X.so` mapped, or an executable named `python3.X` (`procs.py` has the
  rules); the version is major.minor.
- **jvm**: `libjvm.so` mapped, or an executable named `java`; the version is `JAVA_VERSION` from
  the `release` file of the Java home (the directory above `lib/server/libjvm.so`, or above
  `jre/lib/<arch>/server/` for Java 8), else the major version in the Java home's name.
- **node**: an executable named `node`/`nodejs` or `libnode.so` mapped; the version from
  `include/node/node_version.h` beside the binary, else from the release URL Node.js embeds
  in its read-only data (`/release/vX.Y.Z/`), scanned at most `NODE_SCAN_BYTES`.
- **go**: the binary has Go's build info (`gobuild.py`, as `go version -m` reads it) or one of
  the sections only Go's linker writes; the version is e.g. `go1.22.3`.
- **native**: anything else, including a process whose files cannot be read.

Every read is bounded (maps at `MAPS_BYTES`, files at 64 KiB, ELF headers by `elf.py`'s caps) and
results are cached per executable (device, inode, size, mtime), so `ps` costs the same on a
hostile binary as on a small one.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import Literal

from host.agent.elf import ElfFile
from host.agent.gobuild import looks_like_go, read_build_info

Runtime = Literal["python", "go", "jvm", "node", "native"]
RUNTIMES: tuple[Runtime, ...] = ("python", "go", "jvm", "node", "native")

MAPS_BYTES = 4 << 20
SMALL_FILE_BYTES = 64 << 10
NODE_SCAN_BYTES = 16 << 20
_CHUNK = 1 << 20

_LIBPYTHON = re.compile(r"/libpython(\d+)\.(\d+)[^/]*\.so")
_PYTHON_EXE = re.compile(r"^python(\d+)(?:\.(\d+))?[a-z]*$")
_STDLIB_DIR = re.compile(r"/lib/python(\d+)\.(\d+)/")
_LIBJVM = re.compile(r"(/\S*)/libjvm\.so$")
_LIBNODE = re.compile(r"/libnode\.so[.\d]*$")
_JAVA_VERSION = re.compile(r'^JAVA_VERSION="([^"\n]{1,40})"', re.MULTILINE)
_JAVA_HOME_MAJOR = re.compile(r"(?:jdk|jre|java|openjdk)[-_.]?(?:1\.)?(\d{1,2})(?:[.\-_]|$)")
_NODE_DEFINE = re.compile(r"^#define NODE_(MAJOR|MINOR|PATCH)_VERSION (\d{1,4})$", re.MULTILINE)
_NODE_RELEASE = re.compile(rb"/release/v(\d{1,4}\.\d{1,4}\.\d{1,4})/")


@dataclass(frozen=True)
class RuntimeInfo:
    """What `detect` found; `detail` is Go's main package path or the JVM's home, else None."""

    runtime: Runtime
    version: str | None = None
    detail: str | None = None

    @property
    def python_version(self) -> str | None:
        return self.version if self.runtime == "python" else None


_cache: dict[tuple[int, int, int, int], RuntimeInfo | None] = {}
_CACHE_ENTRIES = 256


def _exe_path(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
    except OSError:
        return ""


def _maps(pid: int) -> list[str]:
    """Paths mapped into the process, first seen first (at most MAPS_BYTES of maps read).

    Raises PermissionError / FileNotFoundError / ProcessLookupError as reading /proc does."""
    with open(f"/proc/{pid}/maps", "rb") as maps:
        raw = maps.read(MAPS_BYTES)
    seen: dict[str, None] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            seen.setdefault(parts[5].removesuffix(" (deleted)"), None)
    return list(seen)


def _read_small(pid: int, path: str) -> str | None:
    """A small regular file of the target's filesystem (not following a final symlink), or None."""
    try:
        fd = os.open(f"/proc/{pid}/root{path}", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.pread(fd, SMALL_FILE_BYTES, 0).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def python_version(exe_name: str, maps: list[str]) -> str | None:
    """major.minor of a CPython interpreter, from its mapped libpython, its name or its stdlib."""
    stdlib: str | None = None
    for path in maps:
        if (match := _LIBPYTHON.search(path)) is not None:
            return f"{match.group(1)}.{match.group(2)}"
        if stdlib is None and (match := _STDLIB_DIR.search(path)) is not None:
            stdlib = f"{match.group(1)}.{match.group(2)}"
    match = _PYTHON_EXE.match(exe_name)
    if match is None:
        return None
    if match.group(2) is not None:
        return f"{match.group(1)}.{match.group(2)}"
    return stdlib or match.group(1)


def _jvm(pid: int, maps: list[str], exe: str) -> RuntimeInfo:
    libjvm = next((m.group(1) for path in maps if (m := _LIBJVM.search(path)) is not None), None)
    start = libjvm if libjvm is not None else os.path.dirname(exe)
    home = None
    directory = start
    for _ in range(4):
        directory = os.path.dirname(directory)
        if not directory or directory == "/":
            break
        text = _read_small(pid, f"{directory}/release")
        if text is not None:
            home = directory
            if (match := _JAVA_VERSION.search(text)) is not None:
                return RuntimeInfo("jvm", match.group(1), home)
            break
    guess_from = home or (os.path.dirname(os.path.dirname(start)) if libjvm else start)
    for part in reversed(guess_from.split("/")):
        if (match := _JAVA_HOME_MAJOR.search(part.lower())) is not None:
            return RuntimeInfo("jvm", match.group(1), home or guess_from or None)
    return RuntimeInfo("jvm", None, home)


def _node_version_from_header(pid: int, exe: str) -> str | None:
    prefix = os.path.dirname(os.path.dirname(exe))
    text = _read_small(pid, f"{prefix}/include/node/node_version.h")
    if text is None:
        return None
    parts = dict(_NODE_DEFINE.findall(text))
    if {"MAJOR", "MINOR", "PATCH"} <= set(parts):
        return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"
    return None


def _node_version_from_binary(elf: ElfFile) -> str | None:
    rodata = elf.section(".rodata")
    if rodata is None:
        return None
    end = rodata.offset + min(rodata.size, NODE_SCAN_BYTES)
    pos, tail = rodata.offset, b""
    while pos < end:
        chunk = elf.read(pos, min(_CHUNK, end - pos))
        if not chunk:
            return None
        if (match := _NODE_RELEASE.search(tail + chunk)) is not None:
            return match.group(1).decode("ascii")
        tail = chunk[-32:]
        pos += len(chunk)
    return None


def _from_executable(pid: int, exe: str, node: bool) -> RuntimeInfo | None:
    """Go (or, with `node`, Node's embedded version) from the executable; None when native."""
    try:
        fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
    except OSError:
        return RuntimeInfo("node") if node else None
    try:
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        if key in _cache:
            return _cache[key]
        elf = ElfFile.open(fd)
        found: RuntimeInfo | None
        if node:
            version = _node_version_from_header(pid, exe)
            if version is None and elf is not None:
                version = _node_version_from_binary(elf)
            found = RuntimeInfo("node", version)
        elif elf is None:
            found = None
        else:
            build = read_build_info(elf)
            if build is not None:
                found = RuntimeInfo("go", build.version, build.path)
            else:
                found = RuntimeInfo("go") if looks_like_go(elf) else None
        if len(_cache) >= _CACHE_ENTRIES:
            _cache.clear()
        _cache[key] = found
        return found
    except OSError:
        return None
    finally:
        os.close(fd)


def detect(pid: int) -> RuntimeInfo:
    """The runtime of `pid`. Raises PermissionError when its maps cannot be read (no ptrace
    access) and FileNotFoundError / ProcessLookupError when it is gone."""
    exe = _exe_path(pid)
    name = os.path.basename(exe)
    maps = _maps(pid)
    version = python_version(name, maps)
    if version is not None and (_PYTHON_EXE.match(name) or not _is_jvm(name, maps)):
        return RuntimeInfo("python", version)
    if _is_jvm(name, maps):
        return _jvm(pid, maps, exe)
    if name in ("node", "nodejs") or any(_LIBNODE.search(path) for path in maps):
        return _from_executable(pid, exe, node=True) or RuntimeInfo("node")
    return _from_executable(pid, exe, node=False) or RuntimeInfo("native")


def _is_jvm(name: str, maps: list[str]) -> bool:
    return name == "java" or any(_LIBJVM.search(path) for path in maps)
