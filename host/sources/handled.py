"""`HandledRecord`: how far the leader has handled each watch stream, as the Lease carries it.

A stream is one watch of one scope (`ResourceSource.stream`: resource, selectors, namespace). Its
changes arrive in resourceVersion order. Per stream the record holds a **mark**, the
resourceVersion at or below which every change was handled (all of its invocations finished:
`host.sources.ledger`), and **done**, the changes above the mark that were handled too (those
that finished while an older one is still running). The leader writes the record into its Lease
(`ANNOTATION`) with each renewal; a standby reads it with each try, and a new leader fires the
changes the old leader's record does not cover and skips those it does.

The record is bounded (`MAX_RECORD_BYTES`, far below the 256 KiB the API server allows for all
of an object's annotations; `MAX_DONE` changes above each mark, the newest kept): past it, the
oldest entries are left out, and their changes would fire again on a failover (at least once). A
record that does not decode is treated as none, and logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

log = structlog.get_logger(__name__)

ANNOTATION = "wfhost.io/handled"
MAX_RECORD_BYTES = 64 * 1024
MAX_DONE = 512
VERSION = 1


class _Wire(BaseModel):
    """The annotation's JSON: `{"v": 1, "marks": {stream: rv}, "done": {stream: [rv, ...]}}`."""

    model_config = ConfigDict(extra="forbid")

    v: int
    marks: dict[str, str]
    done: dict[str, list[str]] = {}


def _order(position: str) -> tuple[int, int, str]:
    """Sort key of a position: numeric resourceVersions by value, any other after them by text."""
    return (0, int(position), "") if position.isdigit() else (1, 0, position)


def _at_or_below(position: str, mark: str) -> bool:
    if position == mark:
        return True
    return position.isdigit() and mark.isdigit() and int(position) <= int(mark)


@dataclass(frozen=True)
class HandledRecord:
    """Per stream, the mark and the handled changes above it."""

    marks: Mapping[str, str] = field(default_factory=dict)
    done: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def covers(self, stream: str, position: str) -> bool:
        """True when the change at `position` of `stream` was handled: at or below the mark, or done.

        A stream without a mark, or a position not comparable with it (not numeric), is not
        covered unless listed as done: it fires (a duplicate at worst, never a loss).
        """
        mark = self.marks.get(stream)
        if mark is not None and _at_or_below(position, mark):
            return True
        return position in self.done.get(stream, ())

    def merged(self, newer: HandledRecord) -> HandledRecord:
        """This record with `newer` over it: a mark never moves back (what this record covers was
        handled), and the done changes of both stay while above the mark, the newest `MAX_DONE`."""
        marks = dict(self.marks)
        for stream, position in newer.marks.items():
            if not self.covers(stream, position) or position == marks.get(stream):
                marks[stream] = position
        done: dict[str, tuple[str, ...]] = {}
        for stream in self.done.keys() | newer.done.keys():
            mark = marks.get(stream)
            above = {
                position
                for position in (*self.done.get(stream, ()), *newer.done.get(stream, ()))
                if mark is None or not _at_or_below(position, mark)
            }
            if above:
                done[stream] = _newest(above)
        return HandledRecord(marks, done)

    def encode(self) -> str:
        """The annotation value, within `MAX_RECORD_BYTES`: past it the done lists go first, then
        the oldest marks."""
        marks = dict(self.marks)
        done = {stream: _newest(positions) for stream, positions in self.done.items() if positions}
        text = self._text(marks, done)
        if len(text.encode()) <= MAX_RECORD_BYTES:
            return text
        left_out = len(done)
        done = {}
        text = self._text(marks, done)
        for stream in sorted(marks, key=lambda stream: _order(marks[stream])):
            if len(text.encode()) <= MAX_RECORD_BYTES:
                break
            del marks[stream]
            left_out += 1
            text = self._text(marks, done)
        log.warning("handled.record_capped", entries_left_out=left_out, max_bytes=MAX_RECORD_BYTES)
        return text

    def annotations(self) -> dict[str, str]:
        return {ANNOTATION: self.encode()}

    @staticmethod
    def _text(marks: Mapping[str, str], done: Mapping[str, tuple[str, ...]]) -> str:
        body: dict[str, object] = {"v": VERSION, "marks": dict(sorted(marks.items()))}
        if done:
            body["done"] = {stream: list(positions) for stream, positions in sorted(done.items())}
        return json.dumps(body, separators=(",", ":"))

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
        return cls(wire.marks, {stream: tuple(positions) for stream, positions in wire.done.items()})

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str] | None) -> HandledRecord | None:
        """The record an object's annotations carry; None when there is none (or it is unreadable)."""
        text = (annotations or {}).get(ANNOTATION)
        return cls.decode(text) if isinstance(text, str) else None


def _newest(positions: Iterable[str]) -> tuple[str, ...]:
    """The newest `MAX_DONE` positions, oldest first."""
    return tuple(sorted(set(positions), key=_order)[-MAX_DONE:])
