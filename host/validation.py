"""How a pydantic validation error is told to a person: the key path (`a.b[0].c`) and the problem.

One renderer for every boundary (config, RPC messages, capability params, API bodies, events), so
the same bad value is named the same way wherever it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def dotted_path(loc: Sequence[int | str]) -> str:
    """`("grants", 0, "capabilities")` -> `grants[0].capabilities`; empty for the root."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def first_error(exc: ValidationError, *, root: str) -> str:
    """`path: problem` for the first error; `root` names the whole value when the path is empty."""
    first = exc.errors()[0]
    return f"{dotted_path(first['loc']) or root}: {first['msg']}"
