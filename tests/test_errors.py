"""The exception tree drawn in host/errors.py is the host's real one: every exception class in the
`host` package is drawn there under its real base, and derives from `WfhostError`, bar the two
trees that stand apart for a stated reason."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import host
import host.errors
from host.errors import WfhostError

# Modules that cannot be imported in the test process: their classes are read from the source.
NOT_IMPORTABLE = {
    "host.agent.__main__": "runs the agent when imported",
    "host.agent.gdb_injector": "runs inside gdb's embedded Python",
}
# The debug agent ships alone in the debug image and may not import host.errors (pyproject.toml).
SHIPS_ALONE = "host.agent."

_LINE = re.compile(r"^    (?P<prefix>(?:[│ ]   )*)(?:[├└]── )?(?P<name>_?[A-Z]\w*)(?:\s{2,}(?P<what>.*))?$")


@dataclass(frozen=True)
class Drawn:
    name: str
    parent: str | None
    what: str


def _drawn() -> dict[str, Drawn]:
    """Every class in the drawing: its drawn parent (None for a root) and its description."""
    drawn: dict[str, Drawn] = {}
    stack: list[str] = []
    for line in (host.errors.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if match is None:
            stack = []  # prose or a blank line ends a tree
            continue
        depth = len(match["prefix"]) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        name = match["name"]
        assert name not in drawn, f"{name} is drawn twice"
        drawn[name] = Drawn(name, stack[-1] if stack else None, match["what"] or "")
        stack.append(name)
    return drawn


def _classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the `host` package, by name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(host.__path__, "host."):
        if info.name in NOT_IMPORTABLE:
            spec = importlib.util.find_spec(info.name)
            assert spec is not None and spec.origin is not None
            tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
            classes = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
            assert classes == [], f"{info.name} defines {classes}: import it some other way to check them"
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                assert obj.__name__ not in found, f"two exception classes named {obj.__name__}"
                found[obj.__name__] = obj
    return found


def test_every_exception_the_host_defines_is_drawn_in_the_tree_and_nothing_else_is() -> None:
    drawn = _drawn()
    found = _classes()
    assert len(found) > 40  # the walk did reach the whole package
    assert sorted(set(found) - set(drawn)) == [], "defined but not drawn in host/errors.py"
    assert sorted(set(drawn) - set(found) - {"Exception"}) == [], "drawn in host/errors.py but not defined"


def test_each_is_drawn_under_its_real_base_with_its_module_named() -> None:
    drawn = _drawn()
    for name, cls in _classes().items():
        entry = drawn[name]
        if entry.parent is not None:
            assert entry.parent == cls.__bases__[0].__name__, f"{name} derives from {cls.__bases__[0].__name__}"
        module = cls.__module__.removeprefix("host.")
        if module != "errors":
            assert entry.what.startswith(f"{module}: "), f"{name}'s line should start with '{module}: '"
        for extra in cls.__bases__[1:]:
            assert f"also {extra.__name__}" in entry.what, f"{name} should say 'also {extra.__name__}'"


def test_each_derives_from_wfhost_error_but_the_agents() -> None:
    outside = {name for name, cls in _classes().items() if not issubclass(cls, WfhostError)}
    agent = {name for name in outside if _classes()[name].__module__.startswith(SHIPS_ALONE)}
    assert outside - agent == set(), "derive from WfhostError"
    assert not [name for name, d in _drawn().items() if d.parent == "Exception"]
