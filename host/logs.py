"""structlog setup: JSON lines in a cluster (or when asked), readable key=value on a terminal."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Literal, TextIO

import structlog

from host.text import shown

Format = Literal["auto", "json", "console"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _escaped(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    """On a terminal, text a workflow chose (errors, titles) shows its control characters escaped."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = shown(value, newlines=key == "exception")
    return event


def processors_for(format: Format, out: TextIO) -> list[structlog.types.Processor]:
    """The processor chain for `format` ("auto" decided by where `out` goes), renderer last."""
    if format == "auto":
        in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ
        format = "json" if in_cluster or not out.isatty() else "console"
    renderer: structlog.types.Processor
    escape: list[structlog.types.Processor] = []
    if format == "json":
        renderer = structlog.processors.JSONRenderer()  # ASCII: U+2028/U+2029 and controls escaped
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        escape = [_escaped]
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        *escape,
        renderer,
    ]


def configure_logging(*, format: Format = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    structlog.configure(
        processors=processors_for(format, out),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )


def audit_logger() -> Any:
    """A logger for audit lines: the processors and destination in force now, no level filter.

    Audit lines (`audit.privileged_call`, `audit.api_action`) go where every other line goes, in the
    same format, but are written even with `logging.level: warning` or `error`.
    """
    config = structlog.get_config()
    return structlog.wrap_logger(
        config["logger_factory"](), processors=config["processors"], wrapper_class=structlog.BoundLogger
    )
