"""The project's own gates, run as tests so CI enforces them: mypy --strict, ruff, and the SDK's Deno checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from host.sandbox.deno import find_deno
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(600)
BIN = Path(sys.executable).parent


def _run(args: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=580, env=env)


def test_the_host_package_is_mypy_strict_clean() -> None:
    proc = _run([sys.executable, "-m", "mypy", "host"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_finds_nothing() -> None:
    proc = _run([str(BIN / "ruff"), "check", "host", "tests", "bench"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def deno_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "DENO_DIR": str(tmp_path_factory.mktemp("deno")), "NO_COLOR": "1"}


@pytest.mark.parametrize(
    "gate",
    [
        ["check"],
        ["lint", ".", "../examples/workflows"],
        ["fmt", "--check", ".", "../examples", "../docs/sdk.md"],
        ["test", "--allow-run", "--doc", "--quiet"],
        ["test", "--doc", "--quiet", "../docs/sdk.md"],
        ["doc", "--lint", "mod.ts", "runtime.ts", "testing.ts"],
    ],
    ids=["check", "lint", "fmt", "test", "doc-sdk-md", "doc-lint"],
)
def test_the_sdk_passes_its_deno_gates(gate: list[str], deno_env: dict[str, str]) -> None:
    proc = _run([str(find_deno()), *gate], cwd=REPO / "sdk-ts", env=deno_env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
