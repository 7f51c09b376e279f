"""The `schedule` event source: fires every `{ on: "schedule", schedule: ... }` trigger on time.

One timer per (workflow, schedule). Like the cluster sources, it runs only on the leader.

- **Intervals** (`"5m"`, `"1h30m"`) run on the monotonic clock. The first firing comes within
  one interval of the workflow being loaded (or the host starting to lead), at a stable offset
  of its own in `(0, interval]`, hashed from (workflow, schedule): a hundred workflows on `"5m"`
  do not all fire in the same instant after a start, and each keeps its phase across restarts.
  Then every interval, on that grid.
- **Cron expressions** (`"*/15 * * * *"`, UTC) run on the wall clock, on the cron grid, each
  timer a stable 0 to `cron_jitter_seconds` (3 s) late, hashed the same way, so that timers on
  the same grid point do not all start together.
- **Never two at once**: a firing that comes while a run this source started for that workflow
  (from any of its schedules) is still queued or running is skipped, counted (`skipped`, and
  `wfhost_schedule_skipped_total{workflow}`) and logged. Runs started by events, the API or the
  CLI do not count. The runs in flight are kept per dispatcher, so a source started again (the
  host leading again) still sees the previous source's runs.
- After a stall (a suspended machine, a long GC), the missed firings are skipped, not bunched.
- A firing whose queue is full is dropped and logged, not retried.

The loaded workflows are re-read at least once a second, so a workflow added, changed or
removed gains or loses its timers without a restart. A bad schedule is logged once per
(workflow, schedule) and has no timer. Both clocks can be injected, and `poll()` does one
step without sleeping, so tests need no real waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from host.errors import QueueFull, UnknownWorkflow
from host.metrics import Metrics
from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.triggers.schedule import BadSchedule, CronSchedule, Schedule, parse_schedule

log = structlog.get_logger(__name__)

_RESCAN_SECONDS = 1.0
_MIN_SLEEP_SECONDS = 0.01
CRON_JITTER_SECONDS = 3.0
Timer = tuple[str, str]  # (workflow, schedule)
InFlight = dict[str, asyncio.Future[Any]]  # workflow -> its scheduled run still queued or running


class _Workflow(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def triggers(self) -> list[TriggerSpec]: ...


class _Dispatcher(Protocol):
    def trigger(
        self, name: str, event: Event, overrides: dict[str, Any], *, wait: bool
    ) -> tuple[str, asyncio.Future[Any] | None]: ...


# Keyed by dispatcher: the runs belong to it, and outlive the source that started them.
_IN_FLIGHT: weakref.WeakKeyDictionary[Any, InFlight] = weakref.WeakKeyDictionary()


def _in_flight_of(dispatcher: object) -> InFlight:
    try:
        return _IN_FLIGHT.setdefault(dispatcher, {})
    except TypeError:  # not weak-referenceable: this source's own runs only
        return {}


def utcnow() -> datetime:
    return datetime.now(UTC)


def phase(workflow: str, schedule: str) -> float:
    """A stable fraction in [0, 1) for (workflow, schedule): the same on every host and every start."""
    digest = hashlib.sha256(f"{workflow}\0{schedule}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def schedules(workflows: Sequence[_Workflow]) -> dict[Timer, Schedule]:
    """Every schedule trigger of the loaded workflows, parsed; a bad one is logged and left out."""
    found: dict[Timer, Schedule] = {}
    for workflow in workflows:
        for spec in workflow.triggers:
            if spec.on != "schedule" or not spec.schedule:
                continue
            try:
                found[(workflow.name, spec.schedule)] = parse_schedule(spec.schedule)
            except BadSchedule as exc:
                log.error(
                    "schedule.bad_schedule", workflow=workflow.name, schedule=spec.schedule, error=str(exc)
                )
    return found


class _IntervalTimer:
    def __init__(self, seconds: float, offset: float, now: float) -> None:
        self.seconds = seconds
        self.due = now + offset

    def is_due(self, now: float, wall: datetime) -> bool:
        return self.due <= now

    def advance(self, now: float, wall: datetime) -> None:
        # Keep to the grid; after a stall, skip the missed firings rather than bunch them.
        self.due += self.seconds * max(1, int((now - self.due) // self.seconds) + 1)

    def seconds_left(self, now: float, wall: datetime) -> float:
        return self.due - now


class _CronTimer:
    def __init__(self, cron: CronSchedule, jitter: float, wall: datetime) -> None:
        self.cron = cron
        self.jitter = timedelta(seconds=jitter)
        self.grid = cron.next_after(wall - self.jitter)  # the next grid point; fires `jitter` after it

    def is_due(self, now: float, wall: datetime) -> bool:
        return self.grid + self.jitter <= wall

    def advance(self, now: float, wall: datetime) -> None:
        # The next grid point not yet passed: missed ones (a stall, the clock set forward) are skipped.
        self.grid = self.cron.next_after(max(self.grid, wall - self.jitter))

    def seconds_left(self, now: float, wall: datetime) -> float:
        return (self.grid + self.jitter - wall).total_seconds()


class ScheduleSource:
    def __init__(
        self,
        workflows: Callable[[], Sequence[_Workflow]],
        dispatcher: _Dispatcher,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        cron_jitter_seconds: float = CRON_JITTER_SECONDS,
    ) -> None:
        """`clock` (monotonic seconds) drives intervals, `wall_clock` (a UTC datetime; naive
        means UTC) drives cron expressions. `metrics` defaults to the dispatcher's."""
        self._workflows = workflows
        self._dispatcher = dispatcher
        self._clock = clock
        self._wall_clock = wall_clock
        dispatcher_metrics = getattr(dispatcher, "metrics", None)
        self._metrics = (
            metrics
            if metrics is not None
            else (dispatcher_metrics if isinstance(dispatcher_metrics, Metrics) else None)
        )
        self._cron_jitter = cron_jitter_seconds
        self._timers: dict[Timer, _IntervalTimer | _CronTimer] = {}
        self._bad: set[Timer] = set()
        self._in_flight = _in_flight_of(dispatcher)
        self.fired = 0
        self.skipped = 0

    @property
    def timers(self) -> list[Timer]:
        return list(self._timers)

    def _wall(self) -> datetime:
        wall = self._wall_clock()
        return wall.replace(tzinfo=UTC) if wall.tzinfo is None else wall.astimezone(UTC)

    def _rescan(self, now: float, wall: datetime) -> None:
        declared = [
            (workflow.name, spec.schedule)
            for workflow in self._workflows()
            for spec in workflow.triggers
            if spec.on == "schedule" and spec.schedule
        ]
        self._bad &= set(declared)  # a bad schedule removed and declared again is logged again
        timers: dict[Timer, _IntervalTimer | _CronTimer] = {}
        for timer in declared:
            kept = self._timers.get(timer)
            if kept is not None:
                timers[timer] = kept  # parsed once, when it first appeared
                continue
            if timer in self._bad or timer in timers:
                continue
            workflow, schedule = timer
            try:
                parsed = parse_schedule(schedule)
            except BadSchedule as exc:
                log.error("schedule.bad_schedule", workflow=workflow, schedule=schedule, error=str(exc))
                self._bad.add(timer)
                continue
            if isinstance(parsed, CronSchedule):
                timers[timer] = _CronTimer(parsed, self._cron_jitter * phase(*timer), wall)
            else:
                timers[timer] = _IntervalTimer(parsed, parsed * (1 - phase(*timer)), now)
        self._timers = timers

    def poll(self) -> float:
        """One step: re-read the workflows, fire what is due; the seconds until the next step."""
        now, wall = self._clock(), self._wall()
        self._rescan(now, wall)
        for timer, state in list(self._timers.items()):
            if state.is_due(now, wall):
                self._fire(timer)
                state.advance(now, wall)
        left = [state.seconds_left(now, wall) for state in self._timers.values()]
        return max(_MIN_SLEEP_SECONDS, min([_RESCAN_SECONDS, *left]))

    async def run(self) -> None:
        wait = self.poll()
        log.info("schedule.started", timers=len(self._timers))
        while True:
            await asyncio.sleep(wait)
            wait = self.poll()

    def busy(self, workflow: str) -> bool:
        """True while a run this source (or an earlier one on the same dispatcher) started for
        `workflow` is queued or running."""
        running = self._in_flight.get(workflow)
        return running is not None and not running.done()

    def _fire(self, timer: Timer) -> None:
        workflow, schedule = timer
        if self.busy(workflow):
            self.skipped += 1
            if self._metrics is not None:
                self._metrics.schedule_skipped.labels(workflow).inc()
            log.info(
                "schedule.skipped",
                workflow=workflow,
                schedule=schedule,
                reason="the previous scheduled run is still queued or running",
            )
            return
        try:
            _, done = self._dispatcher.trigger(
                workflow, Event(kind="schedule", schedule=schedule), {}, wait=True
            )
        except (QueueFull, UnknownWorkflow) as exc:
            log.warning("schedule.dropped", workflow=workflow, schedule=schedule, error=str(exc))
            return
        if done is not None:
            self._in_flight[workflow] = done
            done.add_done_callback(lambda future: self._finished(workflow, future))
        self.fired += 1
        log.debug("schedule.fired", workflow=workflow, schedule=schedule)

    def _finished(self, workflow: str, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: an unloaded workflow or a stopping host is not an error here
        if self._in_flight.get(workflow) is future:
            del self._in_flight[workflow]
