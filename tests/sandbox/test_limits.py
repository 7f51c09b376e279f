"""Every resource limit is configurable and enforced: the same workflow passes under a generous
setting and is stopped under a tight one.

heap cap (`sandbox.maxHeapMb`), wall-clock timeout (`invocationTimeoutSeconds`), start timeout
(`startTimeoutSeconds`), calls per invocation (`maxCallsPerInvocation`), message size
(`maxMessageBytes`), log volume (`maxLogBytesPerInvocation`), findings per invocation
(`maxFindingsPerInvocation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import structlog

from host.errors import ConfigError, WorkflowRefused
from host.model.invocation import InvocationResult
from tests.conftest import make_config
from tests.sandbox.conftest import ArenaFactory, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


@dataclass(frozen=True)
class Limit:
    setting: str
    tight: Any
    loose: Any
    body: str
    stopped: str  # outcome under the tight setting
    words: str  # in its error


LIMITS = {
    "heap": Limit("maxHeapMb", 32, 384,
                  "const keep: number[][] = []; for (let i = 0; i < 20; i++) keep.push(new Array(1e6).fill(i + 0.5));"
                  " await ctx.report({ title: String(keep.length) });", "crashed", "worker died"),
    "timeout": Limit("invocationTimeoutSeconds", 1, 6,
                     "await new Promise((r) => setTimeout(r, 2000)); await ctx.report({ title: 'slept' });", "timeout",
                     "did not finish within 1s"),
    "calls": Limit("maxCallsPerInvocation", 5, 50,
                   "for (let i = 0; i < 10; i++) await ctx.report({ title: 'n' + i });", "failed", "more than 5 capability calls"),
    "findings": Limit("maxFindingsPerInvocation", 3, 50,
                      "for (let i = 0; i < 8; i++) await ctx.report({ title: 'n' + i });", "failed", "more than 3 findings"),
    "message-size": Limit("maxMessageBytes", 4096, 1 << 20,
                          "await ctx.report({ title: 'big', body: 'b'.repeat(8000) });", "crashed", "exceeds the limit of 4096"),
}


async def _run(factory: ArenaFactory, limit: Limit, value: Any) -> InvocationResult:
    # Room for the workflow's ten reports unless the limit under test is one of those caps.
    settings = {"maxCallsPerInvocation": 50, "maxFindingsPerInvocation": 50, limit.setting: value}
    arena = factory(**settings)
    wf = await arena.load(hostile("limited", limit.body))
    result = await arena.run(wf)
    await arena.healthy(wf)
    return result


@pytest.mark.parametrize("name", list(LIMITS))
async def test_a_limit_stops_the_workflow_when_tight_and_not_when_loose(arena_factory: ArenaFactory, name: str) -> None:
    limit = LIMITS[name]
    loose = await _run(arena_factory, limit, limit.loose)
    assert loose.outcome == "ok", (loose.outcome, loose.error)
    tight = await _run(arena_factory, limit, limit.tight)
    assert tight.outcome == limit.stopped, (tight.outcome, tight.error)
    assert limit.words in (tight.error or ""), tight.error


async def test_the_start_timeout_is_configurable(arena_factory: ArenaFactory) -> None:
    slow_start = hostile("slow-start", "", after="const t = Date.now(); while (Date.now() - t < 2500) { /* busy */ }\n")
    loose = arena_factory(startTimeoutSeconds=15)
    assert (await loose.load(slow_start)).name == "slow-start"
    tight = arena_factory(startTimeoutSeconds=1)
    with pytest.raises(WorkflowRefused) as info:
        await tight.load(slow_start)
    assert "did not answer initialize within 1s" in info.value.reason
    await tight.healthy()


@pytest.mark.parametrize(("cap", "expect_drop"), [(1024, True), (1 << 20, False)], ids=["tight", "loose"])
async def test_the_log_volume_cap_is_configurable(arena_factory: ArenaFactory, cap: int, expect_drop: bool) -> None:
    arena = arena_factory(maxLogBytesPerInvocation=cap)
    wf = await arena.load(hostile("talker", 'for (let i = 0; i < 100; i++) console.error("m".repeat(100)); await ctx.report({ title: "t" });'))
    with structlog.testing.capture_logs() as logs:
        result = await arena.run(wf)
    assert result.outcome == "ok", result.error
    logged = [e for e in logs if e.get("event") == "workflow.log"]
    limited = [e for e in logs if e.get("event") == "sandbox.log_limit_reached"]
    if expect_drop:
        assert sum(len(e["message"]) for e in logged) <= cap
        assert [e["limit"] for e in limited] == [cap]
    else:
        assert len(logged) == 100
        assert limited == []
    await arena.healthy(wf)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("maxHeapMb", 8), ("invocationTimeoutSeconds", 0), ("maxMessageBytes", 100), ("maxCallsPerInvocation", 0),
     ("maxFindingsPerInvocation", 0), ("maxLogBytesPerInvocation", 10)],
)
def test_a_limit_set_too_low_is_a_config_error_naming_the_key(tmp_path: Any, setting: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, sandbox={setting: value})
    assert setting in str(info.value)
