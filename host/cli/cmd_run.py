"""`wfhost run --config FILE`: the service — watch the cluster, run workflows, serve the API."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from host.cli.common import EXIT_OK, add_config_arg, fail, setup
from host.errors import WfhostError
from host.runtime.app import Host
from host.service import Service, run_until_signalled


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the host service (until SIGINT/SIGTERM)")
    p.add_argument("--kubeconfig", type=Path, default=None,
                   help="kubeconfig file (default: cluster.kubeconfig, in-cluster config, or $KUBECONFIG)")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = setup(args)
    if args.kubeconfig is not None:
        config = config.model_copy(update={"cluster": config.cluster.model_copy(update={"kubeconfig": args.kubeconfig})})
    try:
        host = Host(config)
    except WfhostError as exc:
        return fail(str(exc))
    asyncio.run(run_until_signalled(Service(host)))
    return EXIT_OK
