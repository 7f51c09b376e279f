"""The layer contract (pyproject.toml, `[tool.importlinter]`): kept today, and broken by an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # The package is found on PYTHONPATH first (the editable install's finder comes after it).
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def _copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "host", tmp_path / "host", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_host_keeps_its_layer_contracts() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


BREACHES = [
    # (file changed, import added, what lint-imports must say)
    ("host/kube/watch.py", "from host.runtime.dispatcher import Dispatcher",
     "host.kube is not allowed to import host.runtime"),
    ("host/runtime/app.py", "from host.api.server import ApiServer",
     "host.runtime is not allowed to import host.api"),
    ("host/agent/procs.py", "import host.config", "host.agent"),
]


@pytest.mark.parametrize(("path", "line", "said"), BREACHES, ids=["upward", "runtime-to-api", "agent-to-host"])
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, path: str, line: str, said: str) -> None:
    root = _copy_of_the_package(tmp_path)
    changed = root / path
    changed.write_text(changed.read_text() + f"\n{line}  # noqa\n")

    result = _lint_imports(root)

    assert result.returncode != 0
    assert said in result.stdout, result.stdout[-3000:]
