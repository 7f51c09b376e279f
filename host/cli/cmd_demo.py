"""`wfhost demo [--out DIR] [--serve]`: the embedded default — everything, end to end, on this machine.

Starts the local cluster, a deliberately slow and leaky sample Python app in a pod, the host with
the built-in workflows, runs all six against the app, and prints a summary of the findings (written
to DIR through the files sink). With --serve it keeps the findings page up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from host.cli.common import EXIT_FAILED
from host.logs import configure_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the built-in workflows against a sample app on a local cluster")
    p.add_argument("--out", type=Path, default=Path("wfhost-demo"), help="where findings go (default ./wfhost-demo)")
    p.add_argument("--serve", action="store_true", help="keep serving the findings page until Ctrl-C")
    p.add_argument("--port", type=int, default=8080, help="API port with --serve (default 8080)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from host.demo.run import run_demo

    configure_logging(format="console", level=args.log_level)
    try:
        return asyncio.run(run_demo(args.out, serve=args.serve, port=args.port))
    except KeyboardInterrupt:
        return EXIT_FAILED
