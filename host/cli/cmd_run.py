"""`wfhost run --config FILE`: the service — watch the cluster, run workflows, serve the API."""

from __future__ import annotations

import argparse
import asyncio

from host.cli.common import EXIT_OK, add_config_arg, fail, setup
from host.errors import WfhostError
from host.runtime.app import Host, run_until_signalled


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the host service (until SIGINT/SIGTERM)")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = setup(args)
    try:
        host = Host(config)
    except WfhostError as exc:
        return fail(str(exc))
    asyncio.run(run_until_signalled(host))
    return EXIT_OK
