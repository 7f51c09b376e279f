"""Helpers the subcommands share: config loading, logging, `k=v` params, clean error exits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from host.config import HostConfig, load_config, load_yaml
from host.errors import ConfigError
from host.logs import configure_logging
from host.text import shown

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="host config YAML (keys mirror the Helm values)")
    parser.add_argument("--log-format", choices=("auto", "json", "console"), default=None)
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None)


def setup(args: argparse.Namespace, *, quiet_default: str | None = None) -> HostConfig:
    """Load config and configure logging; exits with code 2 and the key path on a bad config."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        configure_logging(format="console", level="error")
        print(f"wfhost: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from exc
    level = args.log_level or quiet_default or config.logging.level
    configure_logging(format=args.log_format or config.logging.format, level=level)
    return config


def parse_params(items: list[str]) -> dict[str, Any]:
    """`k=v` pairs; values stay text unless YAML reads them as a number/bool, the manifest types them later."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE")
        params[key.strip()] = value
    return params


def load_yaml_or_json(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid JSON/YAML: {exc}") from exc


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print `message` on stderr with its control characters made visible (it may quote a workflow)."""
    print(f"wfhost: {shown(message, newlines=True)}", file=sys.stderr)
    return code
