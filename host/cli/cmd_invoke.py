"""`wfhost invoke FILE --event EVENT.json [--param k=v ...]`: run one workflow once, print its findings.

Exit codes: 0 the workflow ran; 1 it threw (or timed out, or crashed), with the reason on
stderr; 2 bad usage, a bad event file, or a refused workflow.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from host.capabilities.policy import declared_grant
from host.capabilities.routes import build_router
from host.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_config_arg,
    fail,
    load_yaml_or_json,
    parse_params,
    setup,
)
from host.config import HostConfig
from host.errors import WfhostError, WorkflowRefused
from host.findings.files_sink import write_finding
from host.model.events import Event
from host.model.findings import Finding
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.text import dumps_json
from host.validation import first_error
from host.workflows.loader import load_workflow


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("invoke", help="run one workflow once and print its findings as JSON lines")
    p.add_argument("file", type=Path, help="the workflow file (.ts)")
    p.add_argument("--event", type=Path, default=None, help="event JSON/YAML file (default: a bare manual event)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a param")
    p.add_argument("--timeout", type=float, default=None, help="seconds before the run is killed")
    p.add_argument("--out", type=Path, default=None, help="also write each finding and its attachments here")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = setup(args, quiet_default="warning")
    try:
        params = parse_params(args.param)
        event = _read_event(args.event)
    except ValueError as exc:
        return fail(str(exc))
    if not args.file.is_file():
        return fail(f"{args.file}: no such file")
    return asyncio.run(_invoke(config, args.file, event, params, timeout=args.timeout, out=args.out))


def _read_event(path: Path | None) -> Event:
    if path is None:
        return Event(kind="manual")
    data = load_yaml_or_json(path)
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid event: {first_error(exc, root='event')}") from exc


async def _invoke(
    config: HostConfig, path: Path, event: Event, params: dict[str, object], *, timeout: float | None, out: Path | None
) -> int:
    try:
        env = SandboxEnv.from_config(config)
    except WfhostError as exc:
        return fail(str(exc))
    router = build_router()

    async def print_finding(finding: Finding) -> None:
        sys.stdout.write(dumps_json(finding.summary()) + "\n")
        sys.stdout.flush()
        if out is not None:
            await asyncio.to_thread(write_finding, out, finding)

    try:
        wf = await load_workflow(
            path.absolute(), origin="file", env=env, router=router,
            grant_for=lambda m: declared_grant(m, source="wfhost invoke"),
        )
    except WorkflowRefused as exc:
        return fail(f"workflow refused: {exc}")
    except WfhostError as exc:
        return fail(str(exc))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        result = await invoke(wf, event, overrides=params, on_finding=print_finding, timeout=timeout)
    finally:
        await wf.pool.close(drain=False)
    if result.outcome == "ok":
        return EXIT_OK
    if result.outcome == "rejected":
        return fail(result.error or "rejected", EXIT_USAGE)
    name = f"{result.error_name}: " if result.error_name else ""
    return fail(f"{wf.name} {result.outcome}: {name}{result.error}", EXIT_FAILED)
