"""The SDK's debug result types (sdk-ts/debug/) match the agent's reply models (host/agent/models.py).

For each action, sample results are generated from the pydantic model itself (every field set,
and again with every nullable field null), validated by the model, turned into what a workflow
receives (camelCase keys, artifacts as handles) and assigned to the TypeScript type as object
literals: `deno check` then refuses a key the type lacks, a key the type requires that the agent
does not send, and a value of the wrong type. A field added on either side fails this test.
"""

from __future__ import annotations

import json
import os
import subprocess
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from host.agent import models
from host.sandbox.deno import find_deno
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(120)

TS_TYPES = {
    "ps": "ProcessListResult",
    "profile": "PythonProfileResult",
    "stacktrace": "PythonStackTraceResult",
    "memory": "PythonMemoryResult",
    "inspect": "PythonInspectResult",
    "debugger": "PythonDebuggerResult",
}

# What the host hands the guest instead of each embedded artifact (host/capabilities/debug_actions.py).
HANDLE = {"artifactId": "art-1", "name": "flamegraph.svg", "mediaType": "image/svg+xml", "size": 2210}


def _sample(annotation: Any, *, nulls: bool, pick: int) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if nulls and type(None) in args:
            return None
        return _sample(next(a for a in args if a is not type(None)), nulls=nulls, pick=pick)
    if origin is Literal:
        return args[pick % len(args)]
    if origin is list:
        return [_sample(args[0], nulls=nulls, pick=pick)]
    if origin is dict:
        return {"name": "Attach (wfhost)", "connect": {"port": 5678}}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _instance(annotation, nulls=nulls, pick=pick)
    return {int: 7, float: 1.5, str: "text", bool: True, datetime: datetime(2024, 5, 1, tzinfo=UTC)}[annotation]


def _instance(model: type[BaseModel], *, nulls: bool, pick: int) -> BaseModel:
    hints = typing.get_type_hints(model, localns=vars(models))
    values = {name: _sample(hints[name], nulls=nulls, pick=pick) for name in model.model_fields}
    return model.model_validate(values)


def guest_view(action: str, *, nulls: bool, pick: int) -> dict[str, Any]:
    """A reply's result as a workflow sees it, built from the model of `action`."""
    model = models.RESULT_MODELS[action]
    result = _instance(model, nulls=nulls, pick=pick)
    wire = result.model_dump(mode="json", by_alias=True)
    assert model.model_validate(wire) == result  # camelCase round trip, as the agent sends it
    if "artifacts" in wire:
        wire["artifacts"] = [HANDLE]
    return wire


def _check(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "samples.ts"
    path.write_text(source)
    env = {**os.environ, "DENO_DIR": str(tmp_path / "deno"), "NO_COLOR": "1"}
    return subprocess.run(
        [str(find_deno()), "check", "--no-config", "--no-remote", "--no-npm", "--quiet", str(path)],
        capture_output=True, text=True, timeout=100, env=env, cwd=tmp_path,
    )


def _module(samples: dict[str, dict[str, Any]]) -> str:
    debug_ts = (REPO / "sdk-ts" / "debug" / "mod.ts").as_uri()
    names = sorted(set(TS_TYPES.values()))
    lines = [f'import type {{ {", ".join(names)} }} from "{debug_ts}";']
    for label, sample in samples.items():
        action = label.split("_")[0]
        lines.append(f"export const {label}: {TS_TYPES[action]} = {json.dumps(sample, indent=1)};")
    return "\n".join(lines) + "\n"


def test_every_agent_result_type_checks_against_the_sdk_types_exactly(tmp_path: Path) -> None:
    samples = {
        f"{action}_{variant}": guest_view(action, nulls=variant == "nulls", pick=pick)
        for action in TS_TYPES
        for pick, variant in enumerate(("full", "nulls"))
    }
    proc = _check(_module(samples), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_refuses_a_missing_key_and_an_unknown_key(tmp_path: Path) -> None:
    profile = guest_view("profile", nulls=False, pick=0)
    del profile["samplingErrors"]
    memory = guest_view("memory", nulls=False, pick=0)
    memory["flamegraph"] = HANDLE
    proc = _check(_module({"profile_missing": profile, "memory_extra": memory}), tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "samplingErrors" in out and "flamegraph" in out
