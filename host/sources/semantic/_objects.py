"""Reading raw API objects defensively: a missing or mistyped field reads as None, never raises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

Obj = dict[str, Any]


def get(obj: object, *path: str) -> Any:
    """`obj[path[0]][path[1]]...`, None as soon as a step is not a mapping or lacks the key."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def text(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def condition(obj: object, kind: str) -> Obj | None:
    """The `status.conditions` entry of this type (the last one, should the list repeat a type)."""
    found: Obj | None = None
    conditions = get(obj, "status", "conditions")
    for entry in conditions if isinstance(conditions, list) else []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            found = entry
    return found


def uid(obj: object) -> str | None:
    return text(get(obj, "metadata", "uid"))


def parse_time(value: object) -> float | None:
    """An RFC 3339 timestamp as the API server writes it (`2024-05-01T10:00:00Z`) -> epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # the API server always writes UTC with an offset; anything else is not its
    return parsed.timestamp()


def container_statuses(pod: object) -> list[Obj]:
    """Init and regular container statuses that have a name (ephemeral containers are not included)."""
    found: list[Obj] = []
    for key in ("initContainerStatuses", "containerStatuses"):
        statuses = get(pod, "status", key)
        found.extend(
            s
            for s in (statuses if isinstance(statuses, list) else [])
            if isinstance(s, dict) and text(s.get("name"))
        )
    return found
