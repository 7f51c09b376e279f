"""The last line between an object a digest cannot read and the source that follows its resource.

The digests read raw objects defensively (`host.sources.semantic._objects`, `host.sources.normalize`),
and tests/hostile/test_object_shapes.py feeds them objects with fields removed and retyped; this
is for the case nobody foresaw. A digest step that raises is logged with the object's name and
the error, gives no events, and the source goes on with the next change: one odd object must not
end the watch of a whole resource (the source task would die, and with it every event of that
kind until the host restarts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from host.model.events import Event

log = structlog.get_logger(__name__)
Obj = dict[str, Any]


def _name(obj: object) -> tuple[object, object]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return None, None
    return meta.get("namespace"), meta.get("name")


def guarded(resource: str, step: str, obj: object, work: Callable[[], list[Event]]) -> list[Event]:
    """`work()`, or no events (and an error line naming the object) when it raises."""
    try:
        return work()
    except Exception as exc:  # logged with its traceback; the source reads on
        namespace, name = _name(obj)
        log.exception("source.object_unreadable", resource=resource, step=step, namespace=namespace, name=name,
                      error=f"{type(exc).__name__}: {exc}")
        return []
