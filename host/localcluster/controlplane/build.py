"""Build the control-plane binary from `tools/controlplane/` into a cache keyed by its inputs.

The key hashes the Go module's own files (go.mod, go.sum, *.go), the Go toolchain's version and
the link flags, so a checkout reuses its binary until one of them changes and two checkouts of
the same commit share one. The cache lives under `$WFHOST_CACHE_DIR` (default
`$XDG_CACHE_HOME/wfhost`, else `~/.cache/wfhost`), never in the repo. Builds are serialised
with a file lock, so parallel test processes build once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import structlog

from host.errors import WfhostError

log = structlog.get_logger(__name__)

KUBERNETES_VERSION = "v1.37.2"
_MAJOR, _MINOR = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
# Stamped in as Kubernetes' own build does, so /version and `kubectl version` show the release.
LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
        f"-X k8s.io/component-base/version.gitMajor={_MAJOR}",
        f"-X k8s.io/component-base/version.gitMinor={_MINOR}",
        "-X k8s.io/component-base/version.gitTreeState=clean",
        f"-X k8s.io/client-go/pkg/version.gitVersion={KUBERNETES_VERSION}",
        f"-X k8s.io/client-go/pkg/version.gitMajor={_MAJOR}",
        f"-X k8s.io/client-go/pkg/version.gitMinor={_MINOR}",
    ]
)
BUILD_TIMEOUT_SECONDS = 3600.0


class ControlPlaneUnavailable(WfhostError, RuntimeError):
    """The real control plane cannot be built or started here; the message says what is missing."""


def source_dir() -> Path:
    """The Go module: `$WFHOST_CONTROLPLANE_SRC`, else `tools/controlplane` of this checkout."""
    override = os.environ.get("WFHOST_CONTROLPLANE_SRC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "tools" / "controlplane"


def cache_root() -> Path:
    if override := os.environ.get("WFHOST_CACHE_DIR"):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wfhost"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ControlPlaneUnavailable(
            "the real control plane is built with Go (1.26 or newer), and `go` is not on PATH: install Go, "
            "or use `--control-plane builtin` (the pip-only stand-in)"
        )
    return go


def _inputs_key(source: Path, go: str) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in source.iterdir() if p.name in ("go.mod", "go.sum") or p.suffix == ".go")
    if not any(p.name == "go.mod" for p in files):
        raise ControlPlaneUnavailable(f"no Go module at {source} (expected tools/controlplane/go.mod)")
    for path in files:
        if path.name.endswith("_test.go"):
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    digest.update(version.encode() + LDFLAGS.encode())
    return digest.hexdigest()[:20]


def binary(*, build: bool = True) -> Path:
    """The control-plane binary for this checkout, built first if the cache has none."""
    source = source_dir()
    go = _go()
    key = _inputs_key(source, go)
    target = cache_root() / "controlplane" / key / "controlplane"
    if target.exists():
        return target
    if not build:
        raise ControlPlaneUnavailable(f"the control plane is not built yet ({target})")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        partial = target.with_name("controlplane.partial")
        log.info("controlplane.build_started", source=str(source), target=str(target))
        began = time.monotonic()
        env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
        try:
            result = subprocess.run(
                [go, "build", "-trimpath", "-ldflags", LDFLAGS, "-o", str(partial), "."],
                cwd=source,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            raise ControlPlaneUnavailable(
                f"building the control plane took over {BUILD_TIMEOUT_SECONDS:.0f} s"
            ) from exc
        if result.returncode != 0:
            raise ControlPlaneUnavailable(
                f"`go build` of {source} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
        partial.rename(target)
        log.info("controlplane.built", target=str(target), seconds=round(time.monotonic() - began, 1))
    return target


def main() -> None:
    """`python -m host.localcluster.controlplane.build`: build (or find) the binary, print its path."""
    print(binary())


if __name__ == "__main__":
    main()
