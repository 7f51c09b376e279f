"""Where Deno is and how it is started: flags, environment and resource limits of a child.

Nothing here grants a permission. Every `--deny-*` flag is set explicitly as well, so a
future Deno default cannot quietly widen what a guest may do.
"""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path

from host.errors import SandboxError

DENY_FLAGS = (
    "--deny-read",
    "--deny-write",
    "--deny-net",
    "--deny-env",
    "--deny-run",
    "--deny-ffi",
    "--deny-sys",
    "--deny-import",
)

# Flags every Deno invocation of ours carries: no remote or npm modules, no config file
# discovery (a deno.json next to a workflow could otherwise change resolution), no lockfile.
COMMON_FLAGS = ("--no-remote", "--no-npm", "--no-config", "--no-lock")


def find_deno(configured: Path | None = None) -> Path:
    """The Deno binary: the configured one, else the one the `deno` PyPI package ships."""
    if configured is not None:
        if not os.access(configured, os.X_OK):
            raise SandboxError(f"sandbox.denoPath {configured} is not an executable file")
        return configured
    try:
        import deno

        found = Path(deno.find_deno_bin())
    except (ImportError, FileNotFoundError, RuntimeError) as exc:
        which = shutil.which("deno")
        if which is None:
            raise SandboxError("no Deno binary: install the `deno` package or set sandbox.denoPath") from exc
        found = Path(which)
    return found


def scrubbed_env(deno_dir: Path) -> dict[str, str]:
    """The whole environment of a child: nothing inherited from the host."""
    return {
        "DENO_DIR": str(deno_dir),
        "DENO_NO_UPDATE_CHECK": "1",
        "DENO_NO_PROMPT": "1",
        "NO_COLOR": "1",
        "HOME": str(deno_dir),
        "PATH": "/nonexistent",
        "LANG": "C.UTF-8",
    }


def run_args(*, deno: Path, entry: Path, import_map: Path, max_heap_mb: int) -> list[str]:
    """Command line for a workflow child."""
    return [
        str(deno),
        "run",
        *COMMON_FLAGS,
        "--no-prompt",
        *DENY_FLAGS,
        "--cached-only",
        f"--import-map={import_map}",
        f"--v8-flags=--max-old-space-size={max_heap_mb}",
        "--quiet",
        str(entry),
    ]


def info_args(*, deno: Path, module: Path, import_map: Path) -> list[str]:
    """Command line that prints a module's graph as JSON, resolving exactly as `run` will."""
    return [str(deno), "info", "--json", *COMMON_FLAGS, f"--import-map={import_map}", str(module)]


def limit_child(*, data_bytes: int) -> None:
    """Runs in the child between fork and exec: own session, death with the parent, limits."""
    os.setsid()
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_DATA, (data_bytes, data_bytes))


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the kernel sends SIGKILL to the child when the host dies, even by SIGKILL."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
