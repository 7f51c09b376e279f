"""`wfhost check DIR`: validate and type-check every workflow in DIR, one status line per file.

Exit 0 when every file passes, 1 when any fails, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from host.capabilities.policy import declared_grant
from host.capabilities.router import CapabilityRouter
from host.capabilities.routes import build_router
from host.cli.common import EXIT_FAILED, EXIT_OK, add_config_arg, fail, setup
from host.config import HostConfig
from host.errors import WfhostError, WorkflowRefused
from host.sandbox.prepare import SandboxEnv
from host.sandbox.typecheck import type_check
from host.text import shown
from host.workflows.loaded import is_workflow_file
from host.workflows.loader import load_workflow


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate and type-check the workflows in a directory")
    p.add_argument("directory", type=Path)
    p.add_argument("--no-typecheck", action="store_true", help="skip `deno check` (validation only)")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = setup(args, quiet_default="error")
    target: Path = args.directory
    files = [target] if target.is_file() else sorted(p for p in target.glob("*") if is_workflow_file(p))
    if not target.exists():
        return fail(f"{target}: no such file or directory")
    if not files:
        return fail(f"{target}: no workflow files (*.ts) found")
    return asyncio.run(_check_all(config, files, typecheck=not args.no_typecheck))


async def _check_all(config: HostConfig, files: list[Path], *, typecheck: bool) -> int:
    try:
        env = SandboxEnv.from_config(config)
    except WfhostError as exc:
        return fail(str(exc))
    router = build_router()
    failures = 0
    seen: dict[str, Path] = {}
    for path in files:
        problem = await _check_one(env, router, path.absolute(), seen, typecheck=typecheck)
        if problem is None:
            continue
        failures += 1
        first, _, rest = problem.partition("\n")
        print(f"FAIL {shown(str(path))}: {shown(first)}")
        for line in rest.splitlines():
            print(f"     {shown(line)}")
    return EXIT_FAILED if failures else EXIT_OK


async def _check_one(
    env: SandboxEnv, router: CapabilityRouter, path: Path, seen: dict[str, Path], *, typecheck: bool
) -> str | None:
    try:
        wf = await load_workflow(
            path, origin="file", env=env, router=router,
            grant_for=lambda m: declared_grant(m, source="wfhost check"),
        )
    except WorkflowRefused as exc:
        return exc.reason
    except WfhostError as exc:
        return str(exc)
    try:
        if wf.name in seen:
            return f"workflow name {wf.name!r} is already used by {seen[wf.name]}"
        seen[wf.name] = path
        if typecheck:
            diagnostics = await type_check(
                wf.pool.prepared, deno=env.deno, timeout=env.limits.check_timeout_seconds,
                max_memory_mb=env.limits.check_max_memory_mb,
            )
            if diagnostics is not None:
                return "type check failed\n" + diagnostics
        triggers = ", ".join(t.on for t in wf.triggers) or "no triggers"
        caps = ", ".join(wf.manifest.capabilities) or "no capabilities"
        print(f"ok   {shown(str(path))}: {wf.name} ({triggers}; {caps})")
        return None
    finally:
        await wf.pool.close(drain=False)
