"""JSON on the event pipeline's hot paths: orjson where it takes the value, the standard library where not.

Every pod update is parsed once from the watch stream and encoded once into a `run` request; with
the standard library those two were about a quarter of the host's CPU per event (a 2.4 KB pod:
60-70 us to parse, 70 us to encode the request that carries it three times). orjson does each in
a fraction of that. What it does differently, and what that means here:

- It refuses what the standard library accepts as an extension (NaN, Infinity, lone surrogate
  escapes): `loads` then falls back to the standard library, so a line is read exactly when it
  was read before.
- It reads integers beyond 64 bits as floats, as the guest's `JSON.parse` reads every number.
- `dumps_line` writes non-finite floats as `null` (the standard library, as configured before,
  refused them); it falls back to the standard library for what orjson cannot write (integers
  beyond 64 bits, non-string keys), which keeps its refusals.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_std_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def loads(data: bytes | str) -> Any:
    """Parse one JSON document; raises `ValueError` when neither parser takes it."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps_line(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value` and a newline (raw newlines in strings are always escaped)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _std_dumps(value).encode() + b"\n"
