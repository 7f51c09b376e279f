"""`{ on: "schedule" }` triggers: the two grammars, the source's timers on injected clocks (cron
grid, spread first firings, skipping while busy), and firing on time in a real host (no cluster)."""

from __future__ import annotations

import asyncio
import itertools
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from host.errors import UnknownWorkflow
from host.metrics import Metrics
from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.runtime.app import Host
from host.sources.schedule import ScheduleSource
from host.triggers.schedule import BadSchedule, CronSchedule, interval_seconds, parse_schedule
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


def test_a_schedule_with_spaces_is_a_five_field_cron_expression_in_utc() -> None:
    assert parse_schedule("5m") == 300
    cron = parse_schedule("*/15 * * * *")
    assert isinstance(cron, CronSchedule)
    assert cron.next_after(datetime(2025, 1, 1, 0, 7, tzinfo=UTC)) == datetime(2025, 1, 1, 0, 15, tzinfo=UTC)
    assert cron.next_after(datetime(2025, 1, 1, 0, 15, tzinfo=UTC)) == datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    # naive means UTC; another zone is converted, not read as local time
    assert cron.next_after(datetime(2025, 1, 1, 0, 59)) == datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
    two_hours_ahead = datetime(2025, 1, 1, 4, 1, tzinfo=timezone(timedelta(hours=2)))  # 02:01 UTC
    assert cron.next_after(two_hours_ahead) == datetime(2025, 1, 1, 2, 15, tzinfo=UTC)
    weekdays = CronSchedule("0 3 * * MON-FRI")
    assert weekdays.next_after(datetime(2025, 1, 3, 4, 0, tzinfo=UTC)) == datetime(
        2025, 1, 6, 3, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("* * * *", "has 4 fields; it needs 5"),
        ("0 * * * * *", "has 6 fields; it needs 5"),  # no seconds field
        ("61 * * * *", "is not valid: Bad minute"),
        ("* 24 * * *", "is not valid: Bad hour"),
        ("*/0 * * * *", "is not valid"),
        ("0 0 31 2 *", "is not valid"),  # never fires
        ("every five minutes, thank you", "is not valid: Bad minute"),
        ("@hourly x", "has 2 fields"),
    ],
)
def test_a_bad_cron_expression_is_an_error_naming_it(bad: str, words: str) -> None:
    with pytest.raises(BadSchedule, match=r"needs 5|is not valid") as caught:
        parse_schedule(bad)
    assert repr(bad) in str(caught.value)
    assert words in str(caught.value)


# -- ScheduleSource on injected clocks ----------------------------------------------------------


@dataclass
class _Workflow:
    name: str
    schedules: list[str]

    @property
    def triggers(self) -> list[TriggerSpec]:
        return [TriggerSpec(on="schedule", schedule=s) for s in self.schedules]


@dataclass
class _Clocks:
    """A monotonic and a wall clock that move together, only when told to."""

    mono: float = 1000.0
    wall: datetime = datetime(2025, 1, 1, 0, 7, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


@dataclass(eq=False)  # hashable, as the real one is: the runs in flight are kept per dispatcher
class _Dispatcher:
    """Records each trigger with the wall time it came at; its runs end when a test says so."""

    clocks: _Clocks
    metrics: Metrics = field(default_factory=Metrics)
    fired: list[tuple[str, str, datetime]] = field(default_factory=list)
    runs: list[asyncio.Future[Any]] = field(default_factory=list)
    finish_at_once: bool = True

    def trigger(
        self, name: str, event: Event, overrides: dict[str, Any], *, wait: bool
    ) -> tuple[str, asyncio.Future[Any] | None]:
        assert wait, "the schedule waits for its runs, to know when one is still running"
        assert event.kind == "schedule"
        assert event.schedule is not None
        self.fired.append((name, event.schedule, self.clocks.wall))
        run: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.finish_at_once:
            run.set_result(None)
        self.runs.append(run)
        return f"inv-{len(self.runs)}", run


def _source(
    workflows: list[_Workflow], clocks: _Clocks, dispatcher: _Dispatcher, **kwargs: Any
) -> ScheduleSource:
    return ScheduleSource(
        lambda: workflows, dispatcher, clock=lambda: clocks.mono, wall_clock=lambda: clocks.wall, **kwargs
    )


async def _run_for(source: ScheduleSource, clocks: _Clocks, seconds: float) -> None:
    """What `run()` does for `seconds` (polling at the end too), with the clocks moved instead of sleeping."""
    end = clocks.mono + seconds
    while True:
        wait = source.poll()
        await asyncio.sleep(0)  # let finished runs' callbacks run, as they would while sleeping
        if clocks.mono >= end:
            return
        clocks.advance(min(wait, end - clocks.mono))


async def test_a_cron_schedule_fires_on_its_grid_in_utc() -> None:
    clocks = _Clocks()  # 00:07 UTC
    dispatcher = _Dispatcher(clocks)
    source = _source([_Workflow("quarterly", ["*/15 * * * *"])], clocks, dispatcher, cron_jitter_seconds=0)
    await _run_for(source, clocks, 3600)
    times = [at.strftime("%H:%M:%S") for _, _, at in dispatcher.fired]
    assert times == ["00:15:00", "00:30:00", "00:45:00", "01:00:00"]
    assert {(name, schedule) for name, schedule, _ in dispatcher.fired} == {("quarterly", "*/15 * * * *")}
    assert source.fired == 4


async def test_cron_timers_keep_to_the_grid_within_a_few_seconds_of_jitter_each() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks)
    workflows = [_Workflow(f"wf-{i}", ["*/15 * * * *"]) for i in range(20)]
    source = _source(workflows, clocks, dispatcher)
    await _run_for(source, clocks, 1800)
    late: dict[str, set[float]] = {}
    for name, _, at in dispatcher.fired:
        grid = at.replace(second=0, microsecond=0)
        assert grid.minute % 15 == 0, at
        late.setdefault(name, set()).add((at - grid).total_seconds())
    assert sorted(late) == sorted(w.name for w in workflows)
    assert all(max(d) - min(d) < 0.05 for d in late.values()), (
        late
    )  # each timer's jitter is its own, and stable
    delays = [min(d) for d in late.values()]
    assert all(0 <= d <= 3 for d in delays), delays
    assert len(set(delays)) > 10, delays  # spread, not all in the same instant


async def test_a_cron_schedule_skips_what_it_missed_instead_of_bunching() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks)
    source = _source([_Workflow("quarterly", ["*/15 * * * *"])], clocks, dispatcher, cron_jitter_seconds=0)
    source.poll()
    clocks.advance(3 * 3600)  # a suspended machine: no poll for three hours
    source.poll()
    source.poll()
    assert len(dispatcher.fired) == 1
    await _run_for(source, clocks, 15 * 60)
    assert [at.strftime("%H:%M") for _, _, at in dispatcher.fired] == ["03:07", "03:15"]


async def test_interval_first_firings_are_spread_over_the_interval_and_stable() -> None:
    async def first_firings() -> dict[str, float]:
        clocks = _Clocks()
        dispatcher = _Dispatcher(clocks)
        source = _source([_Workflow(f"wf-{i}", ["5m"]) for i in range(50)], clocks, dispatcher)
        start = clocks.wall
        await _run_for(source, clocks, 300)
        firsts: dict[str, float] = {}
        for name, _, at in dispatcher.fired:
            firsts.setdefault(name, (at - start).total_seconds())
        return firsts

    firsts = await first_firings()
    assert len(firsts) == 50  # every one fired within one interval
    assert all(0 < at <= 300 for at in firsts.values()), firsts
    assert max(firsts.values()) - min(firsts.values()) > 200  # not bunched at start
    assert len({round(at) for at in firsts.values()}) > 40
    assert await first_firings() == firsts  # the same offsets on every start


async def test_an_interval_fires_every_interval_after_its_first_firing() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks)
    source = _source([_Workflow("w", ["1m"])], clocks, dispatcher)
    await _run_for(source, clocks, 10 * 60)
    times = [at for _, _, at in dispatcher.fired]
    assert len(times) == 10
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([60.0] * 9, abs=1e-3)


async def test_a_tick_while_the_previous_scheduled_run_is_queued_or_running_is_skipped_and_counted() -> None:
    clocks = _Clocks()  # 00:07:00
    dispatcher = _Dispatcher(clocks, finish_at_once=False)  # runs go on until the test ends them
    workflows = [_Workflow("slow", ["* * * * *", "30s"]), _Workflow("other", ["* * * * *"])]
    source = _source(workflows, clocks, dispatcher, cron_jitter_seconds=0)

    def runs_of(name: str) -> int:
        return [fired for fired, _, _ in dispatcher.fired].count(name)

    def skips_of(name: str) -> float | None:
        return dispatcher.metrics.registry.get_sample_value(
            "wfhost_schedule_skipped_total", {"workflow": name}
        )

    await _run_for(source, clocks, 60)  # to 00:08:00
    # "slow": its 30s timer fired within 30 s; its next tick and the 00:08 cron tick came while that
    # run went on, so both were skipped: the two schedules of one workflow never overlap either.
    assert [(n, s) for n, s, _ in dispatcher.fired] == [("slow", "30s"), ("other", "* * * * *")]
    assert source.busy("slow")
    assert source.busy("other")
    assert source.skipped == 2
    assert skips_of("slow") == 2

    await _run_for(source, clocks, 5 * 60)  # to 00:13:00, nothing finishing: every tick is skipped
    assert (runs_of("slow"), runs_of("other")) == (1, 1)
    assert source.skipped == 2 + 10 + 5 + 5
    assert skips_of("slow") == 17
    assert skips_of("other") == 5

    for run in dispatcher.runs:
        run.set_result(None)  # the runs end: the next tick fires again
    await asyncio.sleep(0)
    assert not source.busy("slow")
    await _run_for(source, clocks, 60)  # to 00:14:00
    assert (runs_of("slow"), runs_of("other")) == (2, 2)


async def test_a_run_dropped_by_the_dispatcher_does_not_keep_the_schedule_busy() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks, finish_at_once=False)
    source = _source([_Workflow("w", ["1m"])], clocks, dispatcher)
    await _run_for(source, clocks, 60)
    assert len(dispatcher.runs) == 1
    dispatcher.runs[0].set_exception(UnknownWorkflow("w: workflow unloaded"))  # retrieved, not left dangling
    await asyncio.sleep(0)
    assert not source.busy("w")
    await _run_for(source, clocks, 60)
    assert len(dispatcher.runs) == 2


async def test_a_source_started_again_still_sees_the_previous_sources_run() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks, finish_at_once=False)
    workflows = [_Workflow("w", ["1m"])]
    first = _source(workflows, clocks, dispatcher)
    await _run_for(first, clocks, 60)
    assert len(dispatcher.runs) == 1
    again = _source(workflows, clocks, dispatcher)  # the host lost and regained the lead meanwhile
    await _run_for(again, clocks, 120)
    assert len(dispatcher.runs) == 1
    assert again.skipped == 2


async def test_a_bad_schedule_gets_no_timer_and_the_others_still_fire() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks)
    workflows = [_Workflow("bad", ["61 * * * *", "0s"]), _Workflow("good", ["1m"])]
    source = _source(workflows, clocks, dispatcher)
    with structlog.testing.capture_logs() as logs:
        await _run_for(source, clocks, 60)  # about 60 re-reads of the workflows
    assert source.timers == [("good", "1m")]
    assert [name for name, _, _ in dispatcher.fired] == ["good"]
    bad = [(entry["schedule"], entry["error"]) for entry in logs if entry["event"] == "schedule.bad_schedule"]
    assert len(bad) == 2, bad  # logged once each, not on every re-read
    assert ("61 * * * *", "cron schedule '61 * * * *' is not valid: Bad minute") in bad


async def test_timers_follow_the_loaded_workflows() -> None:
    clocks = _Clocks()
    dispatcher = _Dispatcher(clocks)
    workflows = [_Workflow("a", ["1m"])]
    source = _source(workflows, clocks, dispatcher)
    source.poll()
    workflows.append(_Workflow("b", ["*/5 * * * *"]))
    workflows.pop(0)
    source.poll()
    assert source.timers == [("b", "*/5 * * * *")]


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
    assert 3 <= len(ticks) <= 5, ticks  # first firing within one interval of load, then every second
    assert set(ticks) == {"tick schedule 1s"}
    assert "idle ran" not in host()  # a workflow without a schedule trigger is not fired
