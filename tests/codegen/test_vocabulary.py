"""The protocol's vocabulary has one source, `host.model.vocabulary`: what is generated from it is up
to date, and what the host uses is that source rather than a hand-written copy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, get_args

import pytest

import host.capabilities.policy
import host.config
import host.model.events
import host.model.manifest
import host.rpc
import host.rpc.codes
from host.capabilities.routes import build_router
from host.codegen import vocabulary as codegen
from host.model import vocabulary
from tests.conftest import REPO

REGENERATE = f".venv/bin/{codegen.COMMAND}"

# Methods in the vocabulary whose host side is still being written (issue #11). Remove a method
# from here when its route is registered.
PENDING_ROUTES = frozenset({"k8s.get", "k8s.list", "k8s.owners"})


def test_the_generated_files_are_up_to_date() -> None:
    stale = [str(path) for path, _ in codegen.stale(REPO)]
    assert stale == [], f"{', '.join(stale)} disagree with host/model/vocabulary.py: run {REGENERATE}"


def _copy_outputs(root: Path) -> None:
    for output in codegen.OUTPUTS:
        (root / output.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / output.path, root / output.path)


def test_check_reports_drift_and_writing_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copy_outputs(tmp_path)
    schema = tmp_path / codegen.SCHEMA_PATH
    drifted = schema.read_text(encoding="utf-8").replace('        "pod.evicted",\n', "", 1)
    schema.write_text(drifted, encoding="utf-8")
    (tmp_path / codegen.TS_PATH).write_text("// edited by hand\n", encoding="utf-8")

    assert codegen.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{codegen.TS_PATH} is stale: run {codegen.COMMAND}" in err
    assert f"{codegen.SCHEMA_PATH} is stale" in err
    assert str(codegen.DOCS_PATH) not in err
    assert schema.read_text(encoding="utf-8") == drifted, "--check must write nothing"

    assert codegen.main(["--root", str(tmp_path)]) == 0
    for output in codegen.OUTPUTS:
        assert (tmp_path / output.path).read_bytes() == (REPO / output.path).read_bytes(), output.path
    assert codegen.main(["--check", "--root", str(tmp_path)]) == 0


def test_the_schema_is_rewritten_only_in_its_enums() -> None:
    current = (REPO / codegen.SCHEMA_PATH).read_text(encoding="utf-8")
    emptied = current
    for name, values in codegen.SCHEMA_ENUMS.items():
        items = ",\n".join(f'        "{v}"' for v in values)
        assert items in emptied, name
        emptied = emptied.replace(items, '        "placeholder"', 1)
    assert codegen.render_schema(emptied) == current


def test_a_schema_without_the_definitions_is_refused() -> None:
    with pytest.raises(codegen.GenerationError, match="eventKind"):
        codegen.render_schema(
            '{\n  "definitions": {\n    "capability": {\n      "enum": [\n        "x"\n      ]\n    }\n  }\n}\n'
        )


def test_the_host_uses_the_vocabulary_not_a_copy() -> None:
    assert host.config.Capability is vocabulary.Capability
    assert host.config.EventKind is vocabulary.EventKind
    assert host.capabilities.policy.METHOD_CAPABILITY is vocabulary.METHOD_CAPABILITY
    assert host.capabilities.policy.PRIVILEGED is vocabulary.PRIVILEGED
    assert host.rpc.ErrorCode is host.rpc.codes.ErrorCode is vocabulary.ErrorCode
    assert host.model.events.POD_KINDS is vocabulary.POD_KINDS


def _field(model: Any, name: str) -> Any:
    return model.model_fields[name].annotation


def test_the_models_take_exactly_the_vocabulary() -> None:
    kinds, caps = set(vocabulary.EVENT_KINDS), set(vocabulary.CAPABILITIES)
    assert set(get_args(_field(host.model.events.Event, "kind"))) == kinds
    assert set(get_args(_field(host.model.manifest.TriggerSpec, "on"))) == kinds
    assert set(get_args(_field(host.config.TriggerBinding, "on"))) == kinds
    assert set(get_args(get_args(_field(host.model.manifest.Manifest, "capabilities"))[0])) == caps


def test_every_name_is_described_and_every_capability_unlocks_a_method() -> None:
    assert list(vocabulary.EVENT_KIND_DESCRIPTIONS) == list(vocabulary.EVENT_KINDS)
    assert set(vocabulary.ERROR_CODE_DESCRIPTIONS) == set(vocabulary.ErrorCode)
    descriptions = [
        *vocabulary.EVENT_KIND_DESCRIPTIONS.values(),
        *vocabulary.ERROR_CODE_DESCRIPTIONS.values(),
        *(m.description for m in vocabulary.METHODS.values()),
    ]
    assert all(d.strip() and "\n" not in d and "|" not in d and "*/" not in d for d in descriptions)
    assert {m.capability for m in vocabulary.METHODS.values()} == set(vocabulary.CAPABILITIES)
    assert len(vocabulary.EVENT_KINDS) == len(set(vocabulary.EVENT_KINDS))
    assert {c for c in vocabulary.CAPABILITIES if c.startswith("debug.")} == vocabulary.PRIVILEGED
    assert set(vocabulary.EVENT_KINDS) >= vocabulary.POD_KINDS


def test_the_error_codes_are_json_rpc_ones() -> None:
    codes = [c.value for c in vocabulary.ErrorCode]
    assert len(codes) == len(set(codes))
    assert all(-32768 <= c <= -32000 for c in codes)
    ours = [c for c in codes if c > -32100]
    assert all(-32099 <= c <= -32000 for c in ours)


def test_every_method_has_a_route_and_every_route_a_method() -> None:
    backend = object()
    routed = build_router(kube=backend, debug=backend).methods()  # type: ignore[arg-type]
    methods = set(vocabulary.METHODS)
    assert routed - methods == set(), "routed methods missing from host/model/vocabulary.py METHODS"
    assert methods - routed == set(), "methods of the vocabulary with no route in host/capabilities/routes.py"
