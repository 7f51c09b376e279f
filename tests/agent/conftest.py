"""Fixtures for the agent tests: real target processes and a runner for the real agent command.

The Go targets (`targets/go_pprof`, `targets/go_plain`, standard library only) are built with the
local toolchain into a cache directory under the system's temp dir, keyed by the sources and the
Go version, so a later session reuses the binaries (GOFLAGS=-mod=mod, GOTOOLCHAIN=local,
GOPROXY=off: no network). Tests that need a Go toolchain or Node.js skip without one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGETS = Path(__file__).parent / "targets"
READY_TIMEOUT_SECONDS = 60.0


@dataclass
class AgentRun:
    """One finished `wfhost-agent` command: exit status, its single JSON reply, its stderr."""

    returncode: int
    reply: dict[str, Any]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        assert self.reply["ok"] is True, self.reply
        result: dict[str, Any] = self.reply["result"]
        return result

    @property
    def error(self) -> dict[str, Any]:
        assert self.reply["ok"] is False, self.reply
        error: dict[str, Any] = self.reply["error"]
        return error


def run_agent(
    *args: str, env: dict[str, str] | None = None, prefix: Sequence[str] = (), timeout: float = 180.0
) -> AgentRun:
    """Run the agent as its own process and check the output contract: one JSON line, no traceback."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "host.agent", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {proc.stdout!r}; stderr: {proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    reply: dict[str, Any] = json.loads(lines[0])
    assert (proc.returncode == 0) == reply["ok"], (proc.returncode, reply)
    return AgentRun(returncode=proc.returncode, reply=reply, stderr=proc.stderr)


@dataclass
class Target:
    """A target process started by a test, after it printed its ready line."""

    popen: subprocess.Popen[str]
    ready_line: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class SpawnTarget(Protocol):
    def __call__(
        self, script: str, *args: str, python_flags: Sequence[str] = (), prefix: Sequence[str] = ()
    ) -> Target: ...


def _read_line(stream: Any, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"target printed no ready line within {timeout:.0f} s")


@pytest.fixture
def spawn_target(tmp_path: Path) -> Iterator[SpawnTarget]:
    """Start `targets/<script>` under this interpreter (after `prefix`, which must exec it in the
    same process); every target is stopped after the test."""
    started: list[Target] = []

    def spawn(
        script: str, *args: str, python_flags: Sequence[str] = (), prefix: Sequence[str] = ()
    ) -> Target:
        stderr = open(tmp_path / f"{script}.{len(started)}.stderr", "w", encoding="utf-8")  # noqa: SIM115
        popen = subprocess.Popen(
            [*prefix, sys.executable, *python_flags, str(TARGETS / script), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        stderr.close()
        target = Target(popen=popen, ready_line="")
        started.append(target)
        target.ready_line = _read_line(popen.stdout, READY_TIMEOUT_SECONDS).strip()
        assert target.ready_line.startswith("ready"), target.ready_line
        return target

    yield spawn
    for target in started:
        target.stop()


@pytest.fixture
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- Go and Node.js targets ---------------------------------------------------------------

GO_CACHE = Path(tempfile.gettempdir()) / "wfhost-test-go"


def go_tool() -> str | None:
    found = shutil.which("go")
    if found is None and Path("/usr/local/go/bin/go").is_file():
        found = "/usr/local/go/bin/go"
    return found


def node_tool() -> str | None:
    return shutil.which("node")


def go_version(go: str) -> str:
    return subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()


def build_go(name: str) -> Path:
    """The binary of `targets/<name>` (a Go main package), built once per source and Go version."""
    go = go_tool()
    if go is None:
        pytest.skip("no Go toolchain (go on PATH or /usr/local/go/bin/go)")
    source = TARGETS / name
    digest = hashlib.sha256(go_version(go).encode())
    for path in sorted(source.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    out_dir = GO_CACHE / f"{name}-{digest.hexdigest()[:16]}"
    binary = out_dir / name
    if binary.is_file():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(GO_CACHE / ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        env = {
            **os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPROXY": "off",
            "GOCACHE": str(GO_CACHE / "gocache"), "GOPATH": str(GO_CACHE / "gopath"), "CGO_ENABLED": "0",
        }
        partial = out_dir / f".{name}.partial"
        done = subprocess.run(
            [go, "build", "-o", str(partial), "."], cwd=source, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )
        assert done.returncode == 0, f"go build {name} failed:\n{done.stdout}\n{done.stderr}"
        os.replace(partial, binary)
    return binary


class Spawner:
    """Starts programs that print a `ready ...` line; stops them all at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Target] = []

    def __call__(self, argv: Sequence[str], *, prefix: Sequence[str] = ()) -> Target:
        stderr = open(self.tmp_path / f"spawned.{len(self.started)}.stderr", "w", encoding="utf-8")  # noqa: SIM115
        popen = subprocess.Popen(
            [*prefix, *argv], stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True
        )
        stderr.close()
        target = Target(popen=popen, ready_line="")
        self.started.append(target)
        target.ready_line = _read_line(popen.stdout, READY_TIMEOUT_SECONDS).strip()
        assert target.ready_line.startswith("ready"), (target.ready_line, self.stderr(target))
        return target

    def stderr(self, target: Target) -> str:
        index = self.started.index(target)
        return (self.tmp_path / f"spawned.{index}.stderr").read_text(encoding="utf-8")

    def stop_all(self) -> None:
        for target in self.started:
            target.stop()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawner]:
    spawner = Spawner(tmp_path)
    yield spawner
    spawner.stop_all()


@pytest.fixture(scope="session")
def go_pprof_binary() -> Path:
    return build_go("go_pprof")


@pytest.fixture(scope="session")
def go_plain_binary() -> Path:
    return build_go("go_plain")


@pytest.fixture(scope="session")
def node() -> str:
    found = node_tool()
    if found is None:
        pytest.skip("no node on PATH")
    return found


# --- Java targets ---------------------------------------------------------------------------

JAVA_CACHE = Path(tempfile.gettempdir()) / "wfhost-test-java"


def java_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"no {name} on PATH (a JDK)")
    return found


def build_java(name: str) -> Path:
    """The class directory of `targets/java/<name>.java`, compiled once per source and javac version."""
    javac = java_tool("javac")
    source = TARGETS / "java" / f"{name}.java"
    version = subprocess.run([javac, "-version"], capture_output=True, text=True, check=True).stdout.strip()
    digest = hashlib.sha256(version.encode() + b"\0" + source.read_bytes()).hexdigest()[:16]
    out_dir = JAVA_CACHE / f"{name}-{digest}"
    if (out_dir / f"{name}.class").is_file():
        return out_dir
    JAVA_CACHE.mkdir(parents=True, exist_ok=True)
    with open(JAVA_CACHE / ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if (out_dir / f"{name}.class").is_file():
            return out_dir
        partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=JAVA_CACHE))
        done = subprocess.run(
            [javac, "-d", str(partial), str(source)], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"javac {name} failed:\n{done.stdout}\n{done.stderr}"
        os.chmod(partial, 0o755)
        os.replace(partial, out_dir)
    return out_dir


@pytest.fixture(scope="session")
def java_hot_classes() -> Path:
    """`targets/java/JavaHot.java` compiled: a hot method, an allocating loop, named threads,
    and two deadlocked threads with the argument `deadlock`."""
    return build_java("JavaHot")


@pytest.fixture(scope="session")
def java() -> str:
    return java_tool("java")
