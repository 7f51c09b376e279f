"""`inspect`: interpreter, loaded modules with versions, threads, files, sockets, env names."""

from __future__ import annotations

import platform
import sys

import pydantic
import pytest
import yaml

from tests.agent.conftest import SpawnTarget, run_agent

pytestmark = pytest.mark.gdb_call


def test_imported_modules_appear_with_their_distribution_versions(spawn_target: SpawnTarget) -> None:
    target = spawn_target("imports_yaml.py")

    run = run_agent("inspect", "--pid", str(target.pid))

    result = run.result
    modules = {module["name"]: module for module in result["modules"]}
    assert (modules["yaml"]["distribution"], modules["yaml"]["version"]) == ("PyYAML", yaml.__version__)
    assert (modules["pydantic"]["distribution"], modules["pydantic"]["version"]) == (
        "pydantic",
        pydantic.VERSION,
    )
    assert "json" not in modules and "threading" not in modules
    assert "time" in result["stdlibModules"]
    assert result["interpreter"]["version"] == platform.python_version()
    assert result["interpreter"]["executable"] == sys.executable
    assert result["method"] == "gdb-injection"
    assert result["injection"]["strategy"] == "main-thread-syscall"


def test_lists_threads_and_environment_names_without_values(
    spawn_target: SpawnTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFHOST_TEST_SECRET", "hunter2-do-not-leak")
    target = spawn_target("named_threads.py")

    run = run_agent("inspect", "--pid", str(target.pid))

    result = run.result
    assert {"MainThread", "worker-alpha", "worker-beta"} <= {thread["name"] for thread in result["threads"]}
    assert "WFHOST_TEST_SECRET" in result["environmentNames"]
    assert "hunter2" not in str(run.reply)
    assert result["warnings"] == []


def test_reports_what_the_application_loaded_not_what_the_agent_imported(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py", python_flags=["-I", "-S"])

    first = run_agent("inspect", "--pid", str(target.pid)).result
    second = run_agent("inspect", "--pid", str(target.pid)).result

    assert "threading" in first["stdlibModules"]
    for ours in ("json", "importlib", "pathlib", "typing"):
        assert ours not in first["stdlibModules"], ours
    assert first["modules"] == []
    # The first inspection's imports (json, importlib.metadata) are now really loaded in the target.
    assert "json" in second["stdlibModules"]
