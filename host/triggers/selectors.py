"""Kubernetes label selector syntax (`a=b,c!=d,e in (x,y),!f,g`) parsed once, matched many times.

A workflow's author writes its selectors, so the parser is a single left-to-right scan with no
regular expression: its cost is linear in the selector's length (which is also capped at load).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Requirement = Callable[[Mapping[str, str]], bool]

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./_-")
_VALUE_CHARS = _KEY_CHARS - {"/"}
_SPACE = frozenset(" \t\r\n\f\v")


def _split(selector: str) -> list[str]:
    """The terms between top-level commas (commas inside `( )` belong to a set)."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(selector):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    last = selector[start:]
    if last.strip():
        parts.append(last)
    return parts


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def space(self) -> int:
        start = self.i
        while self.i < len(self.text) and self.text[self.i] in _SPACE:
            self.i += 1
        return self.i - start

    def word(self, chars: frozenset[str]) -> str:
        start = self.i
        while self.i < len(self.text) and self.text[self.i] in chars:
            self.i += 1
        return self.text[start:self.i]

    def take(self, literal: str) -> bool:
        if self.text.startswith(literal, self.i):
            self.i += len(literal)
            return True
        return False

    @property
    def done(self) -> bool:
        return self.i >= len(self.text)


def _requirement(term: str) -> Requirement:
    bad = ValueError(f"invalid label selector term {term.strip()!r}")
    s = _Scanner(term)
    s.space()
    negated = s.take("!")
    s.space()
    key = s.word(_KEY_CHARS)
    if not key:
        raise bad
    gap = s.space()
    if s.done:
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    if negated:
        raise bad
    for op in ("==", "!=", "="):
        if s.take(op):
            s.space()
            value = s.word(_VALUE_CHARS)
            s.space()
            if not s.done:
                raise bad
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    op = s.word(frozenset("innot"))
    if op not in ("in", "notin") or not gap or not s.space() or not s.take("("):
        raise bad
    close = term.find(")", s.i)
    if close < 0:
        raise bad
    inner = term[s.i:close]
    s.i = close + 1
    s.space()
    if not s.done:
        raise bad
    values = {v.strip() for v in inner.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def parse_selector(selector: str) -> Callable[[Mapping[str, str]], bool]:
    """Return a predicate on a label map; raise ValueError naming the bad term."""
    reqs = [_requirement(t) for t in _split(selector)]
    return lambda labels: all(r(labels) for r in reqs)
