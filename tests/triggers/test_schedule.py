"""`{ on: "schedule" }` triggers fire on time, in a real host with real workflows (no cluster)."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from host.runtime.app import Host
from host.triggers.schedule import BadSchedule, interval_seconds
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(120)

TICKER = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "ticker",
  triggers: [{ on: "schedule", schedule: "1s" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    await ctx.report({ title: `tick ${event.kind} ${event.schedule}` });
  },
});
"""

IDLE = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "idle",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  async run(ctx) {
    await ctx.report({ title: "idle ran" });
  },
});
"""


def test_intervals_follow_the_sdks_grammar() -> None:
    assert interval_seconds("1h30m") == 5400
    assert interval_seconds("500ms") == 0.5
    assert interval_seconds("2d") == 172800
    for bad in ("", "5", "0s", "1 m", "1w", "m5"):
        with pytest.raises(BadSchedule):
            interval_seconds(bad)


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Callable[[], list[str]]]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "ticker.ts").write_text(textwrap.dedent(TICKER))
    (custom / "idle.ts").write_text(textwrap.dedent(IDLE))
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    config = make_config(
        tmp_path,
        api={"enabled": False},
        workflows={"builtinDirectory": str(builtin)},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
        triggers={"perSubjectIntervalSeconds": 0},
    )
    running = Host(config, with_cluster=False)
    await running.start(watch=False)
    try:
        yield lambda: [f.title for f in running.findings.recent()]
    finally:
        await running.stop()


async def test_a_one_second_schedule_fires_about_once_a_second(host: Callable[[], list[str]]) -> None:
    await asyncio.sleep(4.5)
    ticks = [title for title in host() if title.startswith("tick ")]
    assert 3 <= len(ticks) <= 5, ticks  # first firing one interval after load, then every second
    assert set(ticks) == {"tick schedule 1s"}
    assert "idle ran" not in host()  # a workflow without a schedule trigger is not fired
