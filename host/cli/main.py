"""`wfhost`: parse the command line and hand over to one subcommand module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from host import __version__

# Each module has `register(subparsers)`, which adds its parser and sets `func(args) -> int`.
COMMANDS = (
    "host.cli.cmd_run",
    "host.cli.cmd_invoke",
    "host.cli.cmd_check",
    "host.cli.cmd_trigger",
    "host.cli.cmd_demo",
    "host.cli.cmd_localcluster",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wfhost", description="Kubernetes troubleshooting host")
    parser.add_argument("--version", action="version", version=f"wfhost {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (`wfhost invoke ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
