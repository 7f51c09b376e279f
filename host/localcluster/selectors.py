"""Label and field selectors, parsed and matched the way the API server does.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
joined by commas (all must hold). Field selectors: `f=v`, `f==v`, `f!=v` joined by commas,
with `\\` escaping `,`, `=` and `!` in values; each resource supports a fixed set of fields and
any other field is a 400 like on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from host.localcluster import status

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if not present or value is None:
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        bound = int(next(iter(self.values)))
        return number > bound if self.op == "gt" else number < bound


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _bad(text: str, why: str) -> status.ApiError:
    return status.bad_request(f"unable to parse requirement: {why} in {text!r}")


def _check_key(key: str, text: str) -> str:
    if not _KEY.match(key):
        raise _bad(text, f"invalid label key {key!r}")
    return key


def _check_value(value: str, text: str) -> str:
    if len(value) > 63 or not _VALUE.match(value):
        raise _bad(text, f"invalid label value {value!r}")
    return value


_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)\s*$")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a labelSelector query value; a malformed one is a 400 BadRequest."""
    if text is None or not text.strip():
        return LabelSelector(())
    requirements: list[Requirement] = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise _bad(text, "empty requirement")
        set_match = _SET_RE.match(part)
        if set_match:
            key, op, inner = set_match.groups()
            if not inner.strip():
                raise _bad(text, "for 'in', 'notin' operators, values set can't be empty")
            values = frozenset(_check_value(v.strip(), text) for v in inner.split(","))
            requirements.append(Requirement(_check_key(key, text), op, values))
            continue
        if part.startswith("!"):
            requirements.append(Requirement(_check_key(part[1:].strip(), text), "!", frozenset()))
            continue
        cmp_match = _CMP_RE.match(part)
        if cmp_match:
            key, op, value = cmp_match.groups()
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise _bad(text, f"for 'Gt', 'Lt' operators, the value must be an integer: {value!r}")
                requirements.append(
                    Requirement(_check_key(key, text), "gt" if op == ">" else "lt", frozenset([value]))
                )
            else:
                requirements.append(
                    Requirement(
                        _check_key(key, text),
                        "!=" if op == "!=" else "=",
                        frozenset([_check_value(value, text)]),
                    )
                )
            continue
        if re.fullmatch(r"\S+", part):
            requirements.append(Requirement(_check_key(part, text), "exists", frozenset()))
            continue
        raise _bad(text, "found unexpected token")
    return LabelSelector(tuple(requirements))


# -- field selectors -----------------------------------------------------------------------

FieldGetter = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...]

    def matches(self, obj: Mapping[str, Any], fields: Mapping[str, FieldGetter]) -> bool:
        for req in self.requirements:
            actual = fields[req.field](obj)
            if (actual == req.value) != req.equal:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_escaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            if nxt not in ("\\", ",", "=", "!"):
                raise status.bad_request(f"invalid field selector: invalid escape sequence in {value!r}")
            out.append(nxt)
        else:
            out.append(char)
    return "".join(out)


def _find_operator(term: str) -> tuple[int, str] | None:
    escaped = False
    for index, char in enumerate(term):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        if term.startswith("!=", index):
            return index, "!="
        if term.startswith("==", index):
            return index, "=="
        if char == "=":
            return index, "="
    return None


def parse_field_selector(
    text: str | None,
    supported: Mapping[str, FieldGetter],
    unsupported: str = "field label not supported: {name}",
) -> FieldSelector:
    """Parse a fieldSelector; an unsupported field is a 400 with `unsupported` (`{name}` is the field)."""
    if text is None or not text.strip():
        return FieldSelector(())
    requirements: list[FieldRequirement] = []
    for term in _split_escaped(text, ","):
        found = _find_operator(term)
        if found is None:
            raise status.bad_request(f"invalid field selector: {term!r}: does not contain an operator")
        index, op = found
        name = term[:index].strip()
        value = _unescape(term[index + len(op) :].strip())
        if name not in supported:
            raise status.bad_request(unsupported.format(name=name))
        requirements.append(FieldRequirement(name, op != "!=", value))
    return FieldSelector(tuple(requirements))


def path_getter(*path: str) -> FieldGetter:
    """A getter for a nested field, rendering booleans and numbers the way the server does."""

    def get(obj: Mapping[str, Any]) -> str:
        node: Any = obj
        for part in path:
            if not isinstance(node, Mapping):
                return ""
            node = node.get(part)
        if node is None:
            return ""
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    return get
