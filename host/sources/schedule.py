"""The `schedule` event source: fires every `{ on: "schedule", schedule: ... }` trigger on time.

One timer per (workflow, interval): the first firing comes one interval after the workflow is
loaded (or the host starts leading), then every interval. The loaded workflows are re-read at
least once a second, so a workflow added, changed or removed gains or loses its timers without
a restart. A firing whose queue is full is dropped and logged, not retried: the next one is a
whole interval later. Like the cluster sources, it runs only on the leader.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from host.model.events import Event
from host.model.manifest import TriggerSpec
from host.runtime.dispatcher import QueueFull, UnknownWorkflow
from host.triggers.schedule import BadSchedule, interval_seconds

log = structlog.get_logger(__name__)

_RESCAN_SECONDS = 1.0
Timer = tuple[str, str]  # (workflow, schedule)


class _Workflow(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def triggers(self) -> list[TriggerSpec]: ...


class _Dispatcher(Protocol):
    def trigger(self, name: str, event: Event, overrides: dict[str, object], *, wait: bool) -> object: ...


def schedules(workflows: Sequence[_Workflow]) -> dict[Timer, float]:
    """Every schedule trigger of the loaded workflows, with its interval in seconds."""
    found: dict[Timer, float] = {}
    for workflow in workflows:
        for spec in workflow.triggers:
            if spec.on != "schedule" or not spec.schedule:
                continue
            try:
                found[(workflow.name, spec.schedule)] = interval_seconds(spec.schedule)
            except BadSchedule as exc:
                log.error("schedule.bad_interval", workflow=workflow.name, error=str(exc))
    return found


class ScheduleSource:
    def __init__(
        self,
        workflows: Callable[[], Sequence[_Workflow]],
        dispatcher: _Dispatcher,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._workflows = workflows
        self._dispatcher = dispatcher
        self._clock = clock
        self._due: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self.fired = 0

    def _rescan(self) -> None:
        now = self._clock()
        current = schedules(self._workflows())
        self._due = {timer: self._due.get(timer, now + interval) for timer, interval in current.items()}
        self._intervals = current

    async def run(self) -> None:
        self._rescan()
        log.info("schedule.started", timers=len(self._due))
        while True:
            now = self._clock()
            for timer, due in list(self._due.items()):
                if due <= now:
                    self._fire(timer)
                    # Keep to the grid; after a long stall, skip the missed firings rather than bunch them.
                    interval = self._intervals[timer]
                    self._due[timer] = due + interval * max(1, int((now - due) // interval) + 1)
            wait = min([_RESCAN_SECONDS, *(due - self._clock() for due in self._due.values())])
            await asyncio.sleep(max(wait, 0.01))
            self._rescan()

    def _fire(self, timer: Timer) -> None:
        workflow, schedule = timer
        try:
            self._dispatcher.trigger(workflow, Event(kind="schedule", schedule=schedule), {}, wait=False)
        except (QueueFull, UnknownWorkflow) as exc:
            log.warning("schedule.dropped", workflow=workflow, schedule=schedule, error=str(exc))
            return
        self.fired += 1
        log.debug("schedule.fired", workflow=workflow, schedule=schedule)
