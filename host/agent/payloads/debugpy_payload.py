"""Inside the target: import debugpy (the process's own, else the agent's staged copy) and start
`debugpy.listen`, all on a daemon thread, so gdb detaches at once.

Writes `status.json` once debugpy is imported and `done.json` when `listen` returned or failed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def _write(work_dir: str, name: str, data: dict[str, Any]) -> None:
    temp = os.path.join(work_dir, name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temp, os.path.join(work_dir, name))


def _import_debugpy(staged: str) -> tuple[Any, str]:
    try:
        import debugpy
    except ImportError:
        sys.path.append(staged)
        import debugpy

        return debugpy, "agent"
    return debugpy, "target"


def _start(work_dir: str, params: dict[str, Any]) -> None:
    try:
        debugpy, source = _import_debugpy(params["debugpyPath"])
        from debugpy.server import api

        if getattr(api.listen, "called", False):
            _write(
                work_dir,
                "status.json",
                {"ok": False, "kind": "already_listening", "error": "already listening"},
            )
            return
    except Exception as exc:  # noqa: BLE001 - reported to the agent; the target must not print it
        _write(work_dir, "status.json", {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _write(work_dir, "status.json", {"ok": True, "source": source, "version": debugpy.__version__})
    try:
        debugpy.listen((params["host"], int(params["port"])))
    except Exception as exc:  # noqa: BLE001 - reported to the agent; the target must not print it
        kind = "already_listening" if "already been called" in str(exc) else "error"
        _write(work_dir, "done.json", {"ok": False, "kind": kind, "error": f"{type(exc).__name__}: {exc}"})
        return
    _write(work_dir, "done.json", {"ok": True})


def main(work_dir: str) -> None:
    """Import and start debugpy on a daemon thread, so gdb detaches right away."""
    with open(os.path.join(work_dir, "params.json"), encoding="utf-8") as handle:
        params = json.load(handle)
    threading.Thread(target=_start, args=(work_dir, params), name="wfhost-agent-debugpy", daemon=True).start()
