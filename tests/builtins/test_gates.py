"""The built-ins' own gates: strict type-check, lint, format, their Deno unit tests, and `wfhost check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from host.sandbox.deno import find_deno
from host.workflows.builtins import DEBUG_BUILTINS
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(300)

BUILTINS = REPO / "builtin_workflows"
WORKFLOWS = BUILTINS / "pod_troubleshooting"


@pytest.fixture(scope="module")
def deno_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "DENO_DIR": str(tmp_path_factory.mktemp("deno")), "NO_COLOR": "1"}


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=280, env=env)


@pytest.mark.parametrize(
    ("gate", "cwd"),
    [
        (["check", "."], BUILTINS),
        (["lint", "."], BUILTINS),
        (["fmt", "--check", "."], BUILTINS),
        (["test", "--quiet", "workflows_test.ts"], REPO / "tests" / "builtins"),
        # The explainers' analyzers and workflows, tested beside their code.
        (["test", "--quiet", "."], BUILTINS),
    ],
    ids=["check-strict", "lint", "fmt", "unit-tests", "explainer-unit-tests"],
)
def test_the_built_ins_pass_their_deno_gates(gate: list[str], cwd: Path, deno_env: dict[str, str]) -> None:
    proc = _run([str(find_deno()), *gate], cwd=cwd, env=deno_env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_wfhost_check_passes_all_six(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"sandbox:\n  stateDir: {tmp_path / 'state'}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "host.cli.main", "check", str(WORKFLOWS), "--config", str(config)],
        capture_output=True, text=True, timeout=280, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ok_lines = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert sorted(line.split(": ")[1].split(" ")[0] for line in ok_lines) == sorted(DEBUG_BUILTINS)
