"""`HandledRecord`: how far the leader has handled each watch stream, as the Lease carries it.

A stream is one watch of one scope (`ResourceSource.stream`: resource, selectors, namespace). Its
events arrive in resourceVersion order and the leader queues them in that order, so "handled"
is a prefix: a **mark** per stream, the resourceVersion of the last change whose invocations are
queued, says that every change at or below it was handled. The leader writes the marks into its
Lease (`ANNOTATION`) with each renewal; a standby reads them with each try, and a new leader fires
the changes above the old leader's mark and skips those at or below it.

The record is bounded (`MAX_RECORD_BYTES`, far below the 256 KiB the API server allows for all
of an object's annotations): past it, the streams with the oldest marks are left out, and their
changes would fire again on a failover (at least once). A record that does not decode is treated
as none, and logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

log = structlog.get_logger(__name__)

ANNOTATION = "wfhost.io/handled"
MAX_RECORD_BYTES = 64 * 1024
VERSION = 1


class _Wire(BaseModel):
    """The annotation's JSON: `{"v": 1, "marks": {stream: resourceVersion}}`."""

    model_config = ConfigDict(extra="forbid")

    v: int
    marks: dict[str, str]


def _order(position: str) -> tuple[int, int, str]:
    """Sort key of a mark: numeric resourceVersions by value, any other after them by text."""
    return (0, int(position), "") if position.isdigit() else (1, 0, position)


@dataclass(frozen=True)
class HandledRecord:
    """Per stream, the resourceVersion up to which the leader has queued every change."""

    marks: Mapping[str, str] = field(default_factory=dict)

    def covers(self, stream: str, position: str) -> bool:
        """True when the change at `position` of `stream` was handled: at or below the mark.

        A stream without a mark, or a position not comparable with it (not numeric), is not
        covered: it fires (a duplicate at worst, never a loss).
        """
        mark = self.marks.get(stream)
        if mark is None:
            return False
        if position == mark:
            return True
        return position.isdigit() and mark.isdigit() and int(position) <= int(mark)

    def merged(self, newer: Mapping[str, str]) -> HandledRecord:
        """This record with `newer`'s marks over it; a mark never moves back (a numeric one lower
        than this record's is ignored: what this record covers was handled)."""
        marks = dict(self.marks)
        for stream, position in newer.items():
            if not self.covers(stream, position) or position == marks.get(stream):
                marks[stream] = position
        return HandledRecord(marks)

    def encode(self) -> str:
        """The annotation value, within `MAX_RECORD_BYTES` (oldest marks left out past it)."""
        marks = dict(self.marks)
        text = self._text(marks)
        if len(text.encode()) <= MAX_RECORD_BYTES:
            return text
        oldest_first = sorted(marks, key=lambda stream: _order(marks[stream]))
        left_out = 0
        for stream in oldest_first:
            del marks[stream]
            left_out += 1
            text = self._text(marks)
            if len(text.encode()) <= MAX_RECORD_BYTES:
                break
        log.warning("handled.record_capped", streams_left_out=left_out, max_bytes=MAX_RECORD_BYTES)
        return text

    def annotations(self) -> dict[str, str]:
        return {ANNOTATION: self.encode()}

    @staticmethod
    def _text(marks: Mapping[str, str]) -> str:
        return json.dumps({"v": VERSION, "marks": dict(sorted(marks.items()))}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> HandledRecord | None:
        """The record in an annotation value; None (logged) when it is not one this version reads."""
        try:
            wire = _Wire.model_validate_json(text)
        except ValidationError as exc:
            log.warning("handled.record_unreadable", error=str(exc).splitlines()[0], length=len(text))
            return None
        if wire.v != VERSION:
            log.warning("handled.record_unreadable", error=f"record version {wire.v}", expected=VERSION)
            return None
        return cls(wire.marks)

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str] | None) -> HandledRecord | None:
        """The record an object's annotations carry; None when there is none (or it is unreadable)."""
        text = (annotations or {}).get(ANNOTATION)
        return cls.decode(text) if isinstance(text, str) else None
