"""structlog setup: JSON lines in a cluster (or when asked), readable key=value on a terminal."""

from __future__ import annotations

import logging
import os
import sys
from typing import Literal, TextIO

import structlog

Format = Literal["auto", "json", "console"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(*, format: Format = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    if format == "auto":
        in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ
        format = "json" if in_cluster or not out.isatty() else "console"
    renderer: structlog.types.Processor
    if format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
