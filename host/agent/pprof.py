"""Go's profiles, read without Go: the pprof protobuf (gzip) and the goroutine dump (`debug=2`).

`decode_profile` is a small protobuf reader for the fields of `profile.proto` that a CPU profile
uses (sample types, samples, locations with their lines, functions, the string table, period and
duration). It is bounded: at most `MAX_PROFILE_BYTES` decompressed, `MAX_ITEMS` samples,
locations and functions each, and a malformed message raises `ValueError` rather than looping.
`stacks` turns the samples into the flamegraph module's stacks (outermost frame first, inlined
functions expanded), so the Go profile gets the same top-functions table and SVG as py-spy's.

`parse_goroutines` reads `/debug/pprof/goroutine?debug=2` (the format of a Go panic's
traceback): each goroutine's id, state (`running`, `chan receive`, `IO wait`...), how long it
has waited when the runtime says (only from one minute on), whether it is locked to its thread,
its frames and where it was created.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from host.agent.flamegraph import Frame

MAX_PROFILE_BYTES = 64 << 20
MAX_ITEMS = 2_000_000
MAX_DEPTH = 512


# --- protobuf wire format ------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field of one message; varints as int, length-
    delimited as bytes (fixed32/64 as int)."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, wire, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("length past the end of the message")
            out.append((number, wire, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            if pos + 8 > len(data):
                raise ValueError("fixed64 past the end")
            out.append((number, wire, int.from_bytes(data[pos : pos + 8], "little")))
            pos += 8
        elif wire == 5:
            if pos + 4 > len(data):
                raise ValueError("fixed32 past the end")
            out.append((number, wire, int.from_bytes(data[pos : pos + 4], "little")))
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if len(out) > MAX_ITEMS:
            raise ValueError("too many fields")
    return out


def _ints(wire: int, value: int | bytes) -> list[int]:
    """A repeated integer field: packed (bytes) or one varint."""
    if isinstance(value, int):
        return [value]
    items: list[int] = []
    pos = 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        items.append(item)
    return items


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- profile.proto ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    function_id: int
    line: int


@dataclass(frozen=True)
class Function:
    name: str
    filename: str


@dataclass
class Profile:
    sample_types: list[tuple[str, str]] = field(default_factory=list)  # (type, unit)
    samples: list[tuple[list[int], list[int]]] = field(default_factory=list)  # (location ids leaf first, values)
    locations: dict[int, list[Line]] = field(default_factory=dict)
    functions: dict[int, Function] = field(default_factory=dict)
    period_type: tuple[str, str] | None = None
    period: int = 0
    duration_nanos: int = 0

    def value_index(self, *names: str) -> int | None:
        for index, (kind, _unit) in enumerate(self.sample_types):
            if kind in names:
                return index
        return None


def gunzip(data: bytes, limit: int = MAX_PROFILE_BYTES) -> bytes:
    """Decompress a gzip body, refusing more than `limit` bytes out (a zip bomb stops there)."""
    if data[:2] != b"\x1f\x8b":
        return data[:limit]  # the profile may come uncompressed
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip data: {exc}") from exc
    if len(out) > limit:
        raise ValueError(f"the profile is over {limit} bytes decompressed")
    return out


def decode_profile(raw: bytes) -> Profile:
    """A pprof Profile message (gzip or not). Raises ValueError when it is not one."""
    data = gunzip(raw)
    strings: list[str] = []
    top = fields(data)
    for number, _wire, value in top:
        if number == 6 and isinstance(value, bytes):
            strings.append(value.decode("utf-8", "replace"))

    def text(index: int) -> str:
        return strings[index] if 0 <= index < len(strings) else ""

    profile = Profile()
    raw_functions: list[tuple[int, int, int]] = []
    for number, wire, value in top:
        if number == 1 and isinstance(value, bytes):  # sample_type: ValueType
            vt = {n: v for n, _w, v in fields(value) if isinstance(v, int)}
            profile.sample_types.append((text(vt.get(1, 0)), text(vt.get(2, 0))))
        elif number == 2 and isinstance(value, bytes):  # sample
            location_ids: list[int] = []
            values: list[int] = []
            for n, w, v in fields(value):
                if n == 1:
                    location_ids += _ints(w, v)
                elif n == 2:
                    values += [_signed(x) for x in _ints(w, v)]
            profile.samples.append((location_ids[:MAX_DEPTH], values))
            if len(profile.samples) > MAX_ITEMS:
                raise ValueError("too many samples")
        elif number == 4 and isinstance(value, bytes):  # location
            location_id = 0
            lines: list[Line] = []
            for n, _w, v in fields(value):
                if n == 1 and isinstance(v, int):
                    location_id = v
                elif n == 4 and isinstance(v, bytes):
                    ln = {k: x for k, _ww, x in fields(v) if isinstance(x, int)}
                    lines.append(Line(function_id=ln.get(1, 0), line=_signed(ln.get(2, 0))))
            profile.locations[location_id] = lines
        elif number == 5 and isinstance(value, bytes):  # function
            fn = {k: x for k, _w, x in fields(value) if isinstance(x, int)}
            raw_functions.append((fn.get(1, 0), fn.get(2, 0), fn.get(4, 0)))
        elif number == 11 and isinstance(value, bytes):  # period_type
            vt = {n: v for n, _w, v in fields(value) if isinstance(v, int)}
            profile.period_type = (text(vt.get(1, 0)), text(vt.get(2, 0)))
        elif number == 12 and isinstance(value, int):
            profile.period = _signed(value)
        elif number == 10 and isinstance(value, int):
            profile.duration_nanos = _signed(value)
        if len(profile.locations) > MAX_ITEMS or len(raw_functions) > MAX_ITEMS:
            raise ValueError("too many locations or functions")
        del wire
    for function_id, name, filename in raw_functions:
        profile.functions[function_id] = Function(name=text(name), filename=text(filename))
    if not profile.sample_types:
        raise ValueError("not a pprof profile (no sample types)")
    return profile


def stacks(profile: Profile, value_index: int = 0) -> list[tuple[list[Frame], int]]:
    """Stacks (outermost frame first) weighted by one of the sample values (default: the count)."""
    out: list[tuple[list[Frame], int]] = []
    for location_ids, values in profile.samples:
        if value_index >= len(values) or values[value_index] <= 0:
            continue
        frames: list[Frame] = []
        for location_id in location_ids:  # leaf first
            lines = profile.locations.get(location_id) or []
            if not lines:
                frames.append(Frame(function=f"0x{location_id:x}", file=None, line=None))
            for line in lines:  # innermost (inlined) first, the caller it was inlined into last
                fn = profile.functions.get(line.function_id)
                frames.append(
                    Frame(
                        function=fn.name if fn else "?",
                        file=(fn.filename or None) if fn else None,
                        line=line.line or None,
                    )
                )
        frames.reverse()
        out.append((frames, values[value_index]))
    return out


# --- goroutine dump (debug=2) ----------------------------------------------------------------

_HEADER = re.compile(r"^goroutine (\d+)(?: [^\[]*)?\[([^\]]*)\]:\s*$")
_MINUTES = re.compile(r"^(\d+) minutes?$")
_LOCATION = re.compile(r"^\s+(.*?):(\d+)(?: \+0x[0-9a-f]+)?$")


@dataclass
class Goroutine:
    id: int
    state: str
    wait_minutes: int | None
    locked_to_thread: bool
    frames: list[Frame] = field(default_factory=list)
    created_by: str | None = None


def parse_goroutines(text: str, *, limit: int = 100_000) -> list[Goroutine]:
    """Every goroutine of a `debug=2` dump (at most `limit`), frames innermost first."""
    goroutines: list[Goroutine] = []
    current: Goroutine | None = None
    pending: str | None = None  # a function line waiting for its file:line
    creator = False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header is not None:
            if len(goroutines) >= limit:
                break
            parts = [part.strip() for part in header.group(2).split(",")]
            minutes = next((int(m.group(1)) for p in parts if (m := _MINUTES.match(p))), None)
            state = parts[0] if parts else "unknown"
            current = Goroutine(
                id=int(header.group(1)), state=state, wait_minutes=minutes,
                locked_to_thread="locked to thread" in parts,
            )
            goroutines.append(current)
            pending, creator = None, False
            continue
        if current is None or not line.strip():
            pending = None
            continue
        location = _LOCATION.match(line)
        if location is not None and pending is not None:
            if creator:
                current.created_by = f"{pending} ({location.group(1)}:{location.group(2)})"
            elif len(current.frames) < MAX_DEPTH:
                current.frames.append(Frame(function=pending, file=location.group(1), line=int(location.group(2))))
            pending = None
            continue
        stripped = line.strip()
        if stripped.startswith("created by "):
            creator = True
            pending = stripped.removeprefix("created by ").split(" in goroutine ")[0]
        elif not line.startswith("\t") and not line.startswith(" "):
            creator = False
            pending = stripped[: stripped.rindex("(")] if stripped.endswith(")") and "(" in stripped else stripped
    return goroutines
