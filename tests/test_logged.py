"""tests/logged.py: a block logged at another level and format leaves the session's logging intact."""

from __future__ import annotations

import json

import structlog

from tests.logged import logged_at


def test_a_logger_first_used_in_the_block_is_still_captured_after_it() -> None:
    log = structlog.get_logger("tests.test_logged.fresh")
    with logged_at("error") as out:
        log.warning("filtered")
        log.error("inside", n=1)
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["inside"]
    with structlog.testing.capture_logs() as logs:
        log.warning("after")
    assert [e["event"] for e in logs] == ["after"]  # with configure_logging in the block: []
