"""Text a workflow wrote, made safe for the people and programs that read the host's output.

A workflow chooses its error messages, finding titles and bodies. Printed raw on a terminal,
escape sequences in them can rewrite the screen, set the clipboard or forge an "ok" line; raw
U+2028/U+2029 in a JSON line break readers that split on them (JavaScript's line terminators).

- `shown(text)` makes every control character visible (`\\x1b`, `\\u202e`): C0 and C1 controls,
  DEL, bidirectional overrides and the Unicode line/paragraph separators. Newlines are kept only
  when asked for, and then every following line is indented, so no line of guest text can pass
  for a line of the host's own.
- `dumps_json(value)` is `json.dumps` (UTF-8 kept readable) with those same characters escaped
  inside strings, so a JSON line stays one line for every reader and harmless on a terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls, DEL, C1 controls (0x9b is CSI on 8-bit terminals), line/paragraph separators,
# bidirectional embeddings, overrides and isolates, and the BOM/zero-width no-break space.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")  # json.dumps escapes C0


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str, *, newlines: bool = False, indent: str = "    ") -> str:
    """`text` with its control characters made visible; with `newlines`, line breaks kept and indented."""
    if not newlines:
        return _UNSAFE.sub(_visible, text)
    return _UNSAFE_BUT_NEWLINE.sub(_visible, text).replace("\n", "\n" + indent)


def dumps_json(value: Any, **kwargs: Any) -> str:
    """JSON text with no raw control, separator or bidi character anywhere (each is a `\\uXXXX` escape)."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
