"""Schedules of `{ on: "schedule", schedule: ... }` triggers, in the grammar the SDK checks.

Two forms, told apart by whitespace:

- an interval: one or more `<digits><unit>` parts, units `ms`, `s`, `m`, `h`, `d`, summed:
  `"90s"`, `"1h30m"`;
- a cron expression: five whitespace-separated fields (minute, hour, day of month, month,
  day of week), evaluated in UTC: `"*/15 * * * *"`, `"0 3 * * MON-FRI"`. Parsing and
  evaluation are cronsim's (Debian cron's semantics: lists, ranges, steps, month and weekday
  names, and its `L`, `W` and `#` extensions). The SDK checks only the shape; this is the
  authoritative check.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from host.errors import WfhostError

_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
CRON_FIELDS = 5


class BadSchedule(WfhostError, ValueError):
    """Not a schedule the host accepts: the message names the schedule and what is wrong."""


def is_cron(schedule: str) -> bool:
    """A schedule with whitespace in it is meant as a cron expression; one without, as an interval."""
    return any(ch.isspace() for ch in schedule)


def interval_seconds(schedule: str) -> float:
    """`interval_seconds("1h30m") == 5400.0`; BadSchedule for anything else or a zero interval."""
    if not _WHOLE.match(schedule):
        raise BadSchedule(
            f'schedule must be a positive interval such as "5m" or "1h30m", or a 5-field cron '
            f'expression such as "*/15 * * * *", got {schedule!r}'
        )
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(schedule))
    if seconds <= 0:
        raise BadSchedule(f"schedule {schedule!r} is not a positive interval")
    return seconds


class CronSchedule:
    """A checked 5-field cron expression, evaluated in UTC.

    >>> CronSchedule("*/15 * * * *").next_after(datetime(2025, 1, 1, 0, 7, tzinfo=UTC))
    datetime.datetime(2025, 1, 1, 0, 15, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != CRON_FIELDS:
            raise BadSchedule(
                f"cron schedule {expression!r} has {len(fields)} fields; it needs 5 "
                '(minute hour day-of-month month day-of-week), e.g. "*/15 * * * *"'
            )
        self.expression = expression
        self._normalized = " ".join(fields)
        try:
            self.next_after(datetime(2000, 1, 1, tzinfo=UTC))
        except (CronSimError, ValueError, StopIteration) as exc:
            raise BadSchedule(f"cron schedule {expression!r} is not valid: {exc or 'never fires'}") from None

    def next_after(self, moment: datetime) -> datetime:
        """The first time on this schedule strictly after `moment` (naive means UTC), in UTC."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return next(CronSim(self._normalized, moment))

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"


Schedule = float | CronSchedule


def parse_schedule(schedule: str) -> Schedule:
    """An interval in seconds, or a CronSchedule; BadSchedule (naming the schedule) for anything else."""
    if is_cron(schedule):
        return CronSchedule(schedule)
    return interval_seconds(schedule)
