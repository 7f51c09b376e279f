"""Triggers an author writes to stall the host: huge selectors and trigger lists refused at load,
selectors parsed and name patterns matched without backtracking, an index by kind and namespace."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.config import LimitsConfig
from host.errors import WorkflowRefused
from host.model.events import Event, Subject
from host.model.manifest import TriggerSpec
from host.triggers.glob import Glob
from host.triggers.index import TriggerError, TriggerIndex, check_triggers
from host.triggers.selectors import parse_selector

pytestmark = pytest.mark.timeout(180)


@settings(max_examples=400, deadline=None)
@given(st.text("ab*?[]!-", max_size=10), st.text("ab-]![", max_size=12))
def test_a_compiled_glob_matches_exactly_what_fnmatch_does(pattern: str, name: str) -> None:
    assert Glob(pattern).match(name) is fnmatch.fnmatchcase(name, pattern)


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("api-*", "api-7", True), ("*-[0-9]", "web-3", True), ("*-[!0-9]", "web-3", False),
    ("w?b-*", "web-1", True), ("*a*a*a*a*a*a*a*b", "a" * 200, False), ("[", "[", True), ("*", "", True),
])
def test_globs_cover_the_fnmatch_syntax(pattern: str, name: str, expected: bool) -> None:
    assert Glob(pattern).match(name) is expected


@pytest.mark.parametrize("selector", [
    " " * 50_000 + "!",                       # the old exists-regex split these spaces both ways
    "a" + " " * 50_000 + "in (x",            # ... and the set-regex these
    "a=" + "b" * 30_000 + " " * 30_000 + "!",
    "(" * 50_000,
])
def test_selectors_an_old_regex_backtracked_on_are_refused_naming_the_term(selector: str) -> None:
    with pytest.raises(ValueError, match="invalid label selector term"):
        parse_selector(selector)


def test_a_long_valid_selector_still_means_what_it_says() -> None:
    selector = ",".join(f"k{i} in (a, b)" for i in range(2000)) + ",app=web,!legacy"
    match = parse_selector(selector)
    labels = {f"k{i}": "a" for i in range(2000)} | {"app": "web"}
    assert match(labels)
    assert not match({**labels, "legacy": "1"})


def test_the_caps_refuse_many_triggers_and_long_selectors_and_patterns_before_parsing() -> None:
    caps = LimitsConfig()
    with pytest.raises(TriggerError, match="declares 50000 triggers; at most 64"):
        check_triggers([TriggerSpec(on="alert", name_pattern="*a*")] * 50_000, caps)
    with pytest.raises(TriggerError, match=r"triggers\[0\]\.labelSelector is longer than 1024"):
        check_triggers([TriggerSpec(on="alert", label_selector="a=b," * 25_000)], caps)
    with pytest.raises(TriggerError, match=r"triggers\[1\]\.namePattern is longer than 253"):
        check_triggers([TriggerSpec(on="alert"), TriggerSpec(on="alert", name_pattern="*" * 300)], caps)
    with pytest.raises(TriggerError, match=r"triggers\[0\]: invalid label selector term 'app=>web'"):
        check_triggers([TriggerSpec(on="alert", label_selector="app=>web")], caps)


def _many_triggers(name: str, count: int) -> str:
    return f"""
    import {{ defineWorkflow }} from "@wfhost/sdk";
    export default defineWorkflow({{
      name: "{name}",
      triggers: Array.from({{ length: {count} }}, () => ({{ on: "alert" as const }})),
      capabilities: ["findings.report"],
      async run(ctx) {{ await ctx.report({{ title: "hi" }}); }},
    }});
    """


def _long_selector(name: str, length: int) -> str:
    return f"""
    import {{ defineWorkflow }} from "@wfhost/sdk";
    export default defineWorkflow({{
      name: "{name}",
      triggers: [{{ on: "alert", labelSelector: "a=b,".repeat({length // 4}) }}],
      capabilities: ["findings.report"],
      async run(ctx) {{ await ctx.report({{ title: "hi" }}); }},
    }});
    """


async def test_a_manifest_with_50k_triggers_is_refused_at_load(loaded: Any, write_workflow: Any) -> None:
    path: Path = write_workflow("flood.ts", _many_triggers("flood", 50_000))
    with pytest.raises(WorkflowRefused) as info:
        await loaded(path)
    assert "declares 50000 triggers" in info.value.reason
    ok: Path = write_workflow("fine.ts", _many_triggers("fine", 64))
    assert len((await loaded(ok)).triggers) == 64


async def test_a_100k_character_selector_is_refused_at_load(loaded: Any, write_workflow: Any) -> None:
    path: Path = write_workflow("selector.ts", _long_selector("selector", 100_000))
    with pytest.raises(WorkflowRefused) as info:
        await loaded(path)
    assert "labelSelector is longer than 1024 characters" in info.value.reason


def _event(ns: str | None, name: str = "web-1") -> Event:
    return Event(kind="alert", subject=Subject(kind="Pod", namespace=ns, name=name))


def test_the_index_by_namespace_keeps_load_order_and_never_looks_at_other_namespaces() -> None:
    index = TriggerIndex()
    index.rebuild([
        SimpleNamespace(name="shop-first", triggers=[TriggerSpec(on="alert", namespaces=["shop"])]),
        SimpleNamespace(name="anywhere", triggers=[TriggerSpec(on="alert")]),
        SimpleNamespace(name="both", triggers=[TriggerSpec(on="alert", namespaces=["shop", "db"], name_pattern="web-*")]),
        SimpleNamespace(name="db", triggers=[TriggerSpec(on="alert", namespaces=["db"])]),
    ])
    assert index.match(_event("shop")) == ["shop-first", "anywhere", "both"]
    assert index.match(_event("db", "api-1")) == ["anywhere", "db"]
    assert index.match(_event(None)) == ["anywhere"]
    # 10,000 namespaced triggers elsewhere are not even candidates for an event in `shop`.
    index.rebuild([SimpleNamespace(name=f"w{i}", triggers=[TriggerSpec(on="alert", namespaces=[f"ns{i}"])])
                   for i in range(10_000)])
    assert index._by_kind["alert"].anywhere == []
    assert index.match(_event("shop")) == []
    assert index.match(_event("ns42")) == ["w42"]
