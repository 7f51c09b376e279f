"""Where the files that ship with the host live: the TypeScript SDK and the built-in workflows.

In a source checkout (editable install) they sit beside the `host` package; in an image they
are copied next to it too (see the Dockerfile). Config can override both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from host.errors import ConfigError

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _first_existing(name: str) -> Path | None:
    for base in (_PACKAGE_ROOT, Path(sys.prefix) / "share" / "wfhost"):
        if (base / name).is_dir():
            return base / name
    return None


def sdk_root(configured: Path | None = None) -> Path:
    """The `sdk-ts` directory (it holds `mod.ts` and `runtime.ts`)."""
    root = configured or _first_existing("sdk-ts")
    if root is None or not (root / "mod.ts").is_file():
        raise ConfigError(f"sandbox.sdkPath: no TypeScript SDK (mod.ts) found at {root or _PACKAGE_ROOT / 'sdk-ts'}")
    return root.resolve()


def builtin_workflows_root(configured: Path | None = None) -> Path:
    """The `builtin_workflows` directory."""
    root = configured or _first_existing("builtin_workflows")
    if root is None or not root.is_dir():
        raise ConfigError(f"workflows.builtinDirectory: no built-in workflows at {root or _PACKAGE_ROOT / 'builtin_workflows'}")
    return root.resolve()
