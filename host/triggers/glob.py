"""Glob patterns (`fnmatch` syntax: `*`, `?`, `[seq]`, `[!seq]`) compiled once, matched in linear time.

A workflow's author writes its triggers' name patterns, so matching must not cost what the author
chooses: no regular expression that can backtrack. A pattern becomes a bit-parallel automaton
(shift-and): each name character costs a few integer operations whatever the pattern holds, so a
match is linear in the name's length (the pattern's length is capped at load).
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CACHE_CHARS = 256


@dataclass(frozen=True)
class _Class:
    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def accepts(self, c: str) -> bool:
        hit = c in self.chars or any(lo <= c <= hi for lo, hi in self.ranges)
        return hit != self.negated


_ANY = _Class(frozenset(), (), True)  # `?`: accepts every character
_STAR = None

Token = _Class | str | None  # a class, a literal character, or a star


def _parse_class(pattern: str, i: int) -> tuple[_Class, int] | None:
    """The class starting at `pattern[i] == '['`, and the index after it; None when it never closes."""
    j = i + 1
    negated = j < len(pattern) and pattern[j] == "!"
    if negated:
        j += 1
    start = j
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and j > start:
            return _Class(frozenset(chars), tuple(ranges), negated), j + 1
        if j + 2 < len(pattern) and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            lo, hi = c, pattern[j + 2]
            if lo <= hi:
                ranges.append((lo, hi))
            j += 3
            continue
        chars.add(c)
        j += 1
    return None


def _tokens(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == "?":
            tokens.append(_ANY)
            i += 1
        elif c == "[" and (parsed := _parse_class(pattern, i)) is not None:
            tokens.append(parsed[0])
            i = parsed[1]
        else:
            tokens.append(c)
            i += 1
    return tokens


@dataclass
class Glob:
    """`Glob(pattern).match(name)` is `fnmatch.fnmatchcase(name, pattern)`, in time linear in `name`."""

    pattern: str
    _tokens: list[Token] = field(init=False, repr=False)
    _stars: int = field(init=False, repr=False)
    _final: int = field(init=False, repr=False)
    _masks: dict[str, int] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._tokens = _tokens(self.pattern)
        self._stars = sum(1 << k for k, t in enumerate(self._tokens) if t is _STAR)
        self._final = 1 << len(self._tokens)

    def _mask(self, c: str) -> int:
        """Bits of the (non-star) tokens that accept `c`, cached per character."""
        mask = self._masks.get(c)
        if mask is None:
            mask = 0
            for k, t in enumerate(self._tokens):
                if t is not _STAR and (t == c if isinstance(t, str) else t is not None and t.accepts(c)):
                    mask |= 1 << k
            if len(self._masks) < _CACHE_CHARS:
                self._masks[c] = mask
        return mask

    def match(self, name: str) -> bool:
        stars = self._stars
        # State k: the first k tokens are matched. A star may match nothing (k -> k+1, no
        # character) or any character (k stays); stars never follow each other, so one step of
        # closure is enough.
        state = 1
        state |= (state & stars) << 1
        for c in name:
            state = ((state & self._mask(c)) << 1) | (state & stars)
            if not state:
                return False
            state |= (state & stars) << 1
        return bool(state & self._final)
