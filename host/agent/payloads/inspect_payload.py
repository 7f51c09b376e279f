"""Inside the target: the interpreter, loaded modules with their distributions, and threads.

The module list is the one the bootstrap line copied before this file imported anything; resolving distributions may import
`importlib.metadata` (and its stdlib dependencies) into the target, which is the action's only
lasting trace.
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


def _stdlib_names() -> frozenset[str]:
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return frozenset(names)
    return frozenset(sys.builtin_module_names)


def _is_stdlib(name: str, module: Any, stdlib: frozenset[str]) -> bool:
    if name in stdlib or name in sys.builtin_module_names:
        return True
    path = getattr(module, "__file__", None) or ""
    return bool(path) and "-packages" not in path and path.startswith(sys.base_prefix)


def _package_distributions() -> dict[str, list[str]]:
    import importlib.metadata as metadata

    mapping: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        tops = (dist.read_text("top_level.txt") or "").split()
        if not tops:
            tops = [
                str(path.parts[0]).split(".")[0]
                for path in (dist.files or [])
                if path.parts
                and not str(path.parts[0]).endswith((".dist-info", ".egg-info", "..", "__pycache__"))
            ]
        for top in set(tops):
            mapping.setdefault(top, []).append(name)
    return mapping


def collect(loaded: dict[str, Any]) -> dict[str, Any]:
    stdlib = _stdlib_names()
    tops: dict[str, Any] = {}
    for name, module in loaded.items():
        if module is None or name.startswith("__"):
            continue
        top = name.split(".")[0]
        tops.setdefault(top, loaded.get(top, module))
    third_party = sorted(name for name, module in tops.items() if not _is_stdlib(name, module, stdlib))
    import importlib.metadata as metadata

    dists = _package_distributions()
    modules = []
    for name in third_party:
        candidates = dists.get(name, [])
        dist_name = candidates[0] if candidates else None
        version = None
        if dist_name is not None:
            try:
                version = metadata.version(dist_name)
            except metadata.PackageNotFoundError:
                version = None
        module = tops[name]
        modules.append(
            {
                "name": name,
                "distribution": dist_name,
                "version": version,
                "path": getattr(module, "__file__", None),
            }
        )
    import platform

    return {
        "interpreter": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "prefix": sys.prefix,
            "debugBuild": hasattr(sys, "gettotalrefcount"),
            "platform": sys.platform,
        },
        "modules": modules,
        "stdlibModules": sorted(
            name for name in tops if name not in third_party and not name.startswith("_")
        ),
        "threads": [
            {
                "name": thread.name,
                "ident": thread.ident or 0,
                "nativeId": getattr(thread, "native_id", None),
                "daemon": thread.daemon,
            }
            for thread in threading.enumerate()
            if not thread.name.startswith("wfhost-agent-")
        ],
    }


def _collect_and_write(work_dir: str, loaded: dict[str, Any]) -> None:
    try:
        result = collect(loaded)
    except Exception as exc:  # noqa: BLE001 - reported to the agent; the target must not print it
        _write(work_dir, "status.json", {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _write(work_dir, "status.json", {"ok": True, "result": result})


def main(work_dir: str) -> None:
    """Copy the module table, then collect on a daemon thread so gdb detaches right away."""
    before = globals().get("__loaded__") or tuple(sys.modules)  # the bootstrap's snapshot
    loaded = {name: sys.modules.get(name) for name in before}
    thread = threading.Thread(target=_collect_and_write, args=(work_dir, loaded), name="wfhost-agent-inspect")
    thread.daemon = True
    thread.start()
