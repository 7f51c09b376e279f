"""Container logs kept like a CRI runtime keeps them, and read back with `pods/log` options.

Each container instance writes one file of records `<RFC3339Nano> <stdout|stderr> <F|P> <text>`:
`F` ends a line, `P` is a piece of a line that continues (or that ended without a newline).
This keeps per-line timestamps for `timestamps=true` and `sinceSeconds`, and byte-exact output.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from host.localcluster.objects import rfc3339_nano

_MAX_RECORD = 16 * 1024


@dataclass(frozen=True, slots=True)
class LogOptions:
    tail_lines: int | None = None
    limit_bytes: int | None = None
    timestamps: bool = False
    since_epoch: float | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: str
    text: bytes  # including the trailing newline when the line was complete


def _parse_time(stamp: str) -> float:
    trimmed = stamp.rstrip("Z")
    if "." in trimmed:
        whole, fraction = trimmed.split(".", 1)
        trimmed = f"{whole}.{fraction[:6]}"
        layout = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        layout = "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(trimmed, layout).replace(tzinfo=UTC).timestamp()


class ContainerLog:
    """The log of one container instance: appended by the process readers, read by `pods/log`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._grown = asyncio.Event()
        self.closed = False

    def append(self, stream: str, data: bytes) -> None:
        """Record output of `stream`; every newline ends a line, a trailing remainder is a partial record."""
        if self.closed or not data:
            return
        stamp = rfc3339_nano(time.time()).encode()
        tag = stream.encode()
        records: list[bytes] = []
        for piece in data.splitlines(keepends=True):
            complete = piece.endswith(b"\n")
            body = piece[:-1] if complete else piece
            while len(body) > _MAX_RECORD:
                records.append(b"%s %s P %s\n" % (stamp, tag, body[:_MAX_RECORD]))
                body = body[_MAX_RECORD:]
            records.append(b"%s %s %s %s\n" % (stamp, tag, b"F" if complete else b"P", body))
        self._file.write(b"".join(records))
        self._file.flush()
        self._notify()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._file.close()
            self._notify()

    def _notify(self) -> None:
        self._grown.set()
        self._grown = asyncio.Event()

    def _records(self, offset: int) -> tuple[list[tuple[str, bool, bytes]], int]:
        with self.path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
        records: list[tuple[str, bool, bytes]] = []
        consumed = 0
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            consumed += len(raw)
            parts = raw[:-1].split(b" ", 3)
            if len(parts) < 3:
                continue
            text = parts[3] if len(parts) == 4 else b""
            records.append((parts[0].decode(), parts[2] == b"F", text))
        return records, offset + consumed

    def lines(self) -> list[LogLine]:
        """Complete and partial lines, in order."""
        records, _ = self._records(0)
        return _join(records)

    def render(self, options: LogOptions) -> bytes:
        selected = self.lines()
        if options.since_epoch is not None:
            selected = [line for line in selected if _parse_time(line.timestamp) >= options.since_epoch]
        if options.tail_lines is not None:
            selected = selected[-options.tail_lines :] if options.tail_lines > 0 else []
        out = b"".join(_format(line, options.timestamps) for line in selected)
        if options.limit_bytes is not None:
            out = out[: options.limit_bytes]
        return out

    async def follow(self, options: LogOptions) -> AsyncIterator[bytes]:
        """The rendered log, then new lines as they are written, until the instance ends."""
        first = self.render(options)
        sent = len(first)
        if first:
            yield first
        if options.limit_bytes is not None and sent >= options.limit_bytes:
            return
        _, offset = self._records(0)
        pending: list[tuple[str, bool, bytes]] = []
        while True:
            grown = self._grown
            closed = self.closed
            records, offset = self._records(offset)
            pending += records
            complete: list[tuple[str, bool, bytes]] = []
            while pending and any(done for _, done, _ in pending):
                index = next(i for i, (_, done, _) in enumerate(pending) if done)
                complete += pending[: index + 1]
                pending = pending[index + 1 :]
            if closed:
                complete += pending
                pending = []
            chunk = b"".join(_format(line, options.timestamps) for line in _join(complete))
            if chunk:
                if options.limit_bytes is not None:
                    chunk = chunk[: options.limit_bytes - sent]
                sent += len(chunk)
                yield chunk
                if options.limit_bytes is not None and sent >= options.limit_bytes:
                    return
            if closed:
                return
            await grown.wait()


def _join(records: list[tuple[str, bool, bytes]]) -> list[LogLine]:
    lines: list[LogLine] = []
    pieces: list[bytes] = []
    first_stamp = ""
    for stamp, complete, text in records:
        if not pieces:
            first_stamp = stamp
        pieces.append(text)
        if complete:
            lines.append(LogLine(first_stamp, b"".join(pieces) + b"\n"))
            pieces = []
    if pieces:
        lines.append(LogLine(first_stamp, b"".join(pieces)))
    return lines


def _format(line: LogLine, timestamps: bool) -> bytes:
    return (line.timestamp.encode() + b" " + line.text) if timestamps else line.text
