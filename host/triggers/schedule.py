"""Intervals of `{ on: "schedule", schedule: "1h30m" }` triggers, in the grammar the SDK checks.

One or more `<digits><unit>` parts, units `ms`, `s`, `m`, `h`, `d`, summed: `"90s"`, `"1h30m"`.
"""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class BadSchedule(ValueError):
    """Not an interval the SDK accepts."""


def interval_seconds(schedule: str) -> float:
    """`interval_seconds("1h30m") == 5400.0`; BadSchedule for anything else or a zero interval."""
    if not _WHOLE.match(schedule):
        raise BadSchedule(f'schedule must be a positive interval such as "5m" or "1h30m", got {schedule!r}')
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(schedule))
    if seconds <= 0:
        raise BadSchedule(f"schedule {schedule!r} is not a positive interval")
    return seconds
