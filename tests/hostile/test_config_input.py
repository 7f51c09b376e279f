"""Hostile config files: random documents, mutated valid configs and bytes that are no YAML at all.
Loading either succeeds or raises `ConfigError` whose message names the key; nothing else escapes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.config import HostConfig, load_config, parse_config
from host.errors import ConfigError

pytestmark = pytest.mark.timeout(180)

SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)

# Every key path of the defaults (as values.yaml spells it) whose value is a mapping or a scalar.
DEFAULTS: dict[str, Any] = HostConfig().model_dump(mode="json", by_alias=True)


def key_paths(doc: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            paths.append((*prefix, key))
            paths += key_paths(value, (*prefix, key))
    return paths


PATHS = key_paths(DEFAULTS)


def refusal(load: Callable[[], object]) -> str | None:
    """None when `load` succeeds, the message of its `ConfigError` when not; anything else escapes."""
    try:
        load()
    except ConfigError as exc:
        return str(exc)
    return None


def replaced(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=15), VALUES, max_size=5) | VALUES)
def test_a_random_document_loads_or_is_refused_with_a_config_error(data: Any) -> None:
    message = refusal(lambda: parse_config(data))
    if message is not None:
        assert message.startswith("invalid configuration in <config>")
        assert len(message.splitlines()) >= 2 or "top level must be a mapping" in message


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PATHS), VALUES)
def test_a_valid_config_with_one_value_replaced_loads_or_names_that_key(path: tuple[str, ...], value: Any) -> None:
    data = replaced(DEFAULTS, path, value)
    message = refusal(lambda: parse_config(data))
    if message is not None:
        dotted = ".".join(path)
        # The key itself or, for a list, mapping or union, a key below it; a value that is valid on
        # its own may break a rule of its section (the sinks, a grant), named by the section.
        named = [line.strip().split(":")[0] for line in message.splitlines()[1:]]
        assert any(n.startswith(dotted) or dotted.startswith(n) for n in named), (dotted, message)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_as_a_config_file_load_or_raise_a_config_error(tmp_path: Path, raw: bytes) -> None:
    f = tmp_path / "config.yaml"
    f.write_bytes(raw)
    message = refusal(lambda: load_config(f))
    assert message is None or str(f) in message


@pytest.mark.parametrize(("raw", "says"), [
    (b"\xff\xfeapi: {}\n", "is not UTF-8 text: byte 0 is 0xff"),
    (b"[" * 5000, "nests collections too deeply"),
    (b"a: " + b"{b: " * 5000, "nests collections too deeply"),
    (b"!!python/object/apply:os.system [true]\n", "not valid YAML"),
    (b"api:\n  port: \"eighty\"\n", "api.port"),
    (b"1: 2\n", "[1]: Keys should be strings"),
    (json.dumps({"sandbox": {"maxHeapMb": 10**40}}).encode(), "sandbox.maxHeapMb"),
], ids=["not-utf8", "deep-list", "deep-map", "python-tag", "type", "int-key", "huge-int"])
def test_broken_files_get_a_config_error_that_says_what_is_wrong(tmp_path: Path, raw: bytes, says: str) -> None:
    f = tmp_path / "config.yaml"
    f.write_bytes(raw)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert says in str(info.value)


@pytest.mark.parametrize(("data", "key"), [
    ({"sandbox": {"stateDir": "/tmp/a\x00b"}}, "sandbox.stateDir"),
    ({"api": {"tokenFile": "/run/token\x00"}}, "api.tokenFile"),
    ({"cluster": {"kubeconfig": "\x00"}}, "cluster.kubeconfig"),
    ({"customWorkflows": {"typescript": {"volume": {"mountPath": "/w\x00"}}}}, "customWorkflows.typescript.volume.mountPath"),
])
def test_a_path_with_a_nul_byte_is_refused_naming_its_key(data: dict[str, Any], key: str) -> None:
    message = refusal(lambda: parse_config(data))
    assert message is not None and f"{key}: Value error, a path cannot contain a NUL byte" in message


def test_the_defaults_written_out_as_yaml_load_back_unchanged(tmp_path: Path) -> None:
    f = tmp_path / "config.yaml"
    f.write_text(yaml.safe_dump(DEFAULTS))
    assert load_config(f) == HostConfig()
