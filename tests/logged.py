"""`logged_at`: log as the host would with `logging.level` and `format` set, into a buffer, for one block.

Reconfiguring with `configure_logging` inside a test breaks the rest of the session: loggers
first used in the block are cached bound to its buffer and level for good, and
`structlog.testing.capture_logs`, which swaps the contents of the processors *list object* in
place, no longer reaches them. So the block keeps that list object (its contents swapped and put
back, as capture_logs does) and caches nothing.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import structlog

from host.logs import LEVELS, Format, processors_for


@contextlib.contextmanager
def logged_at(level: str, *, format: Format = "json") -> Iterator[io.StringIO]:
    """The lines logged in the block, as `logging.level: LEVEL`, `logging.format: FORMAT` writes them."""
    out = io.StringIO()
    before = structlog.get_config()
    processors = before["processors"]
    saved = list(processors)
    processors[:] = processors_for(format, out)
    structlog.configure(
        processors=processors, logger_factory=structlog.PrintLoggerFactory(file=out),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]), cache_logger_on_first_use=False,
    )
    try:
        yield out
    finally:
        processors[:] = saved
        structlog.configure(**before)
