"""The layer contract (pyproject.toml, `[tool.importlinter]`): kept today, and broken by an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_an_upward_import_breaks_the_layer_contract(tmp_path: Path) -> None:
    root = _copy_of_the_package(tmp_path)
    watch = root / "host" / "kube" / "watch.py"
    watch.write_text(watch.read_text() + "\nfrom host.runtime.dispatcher import Dispatcher  # noqa\n")

    result = _lint_imports(root)

    assert result.returncode != 0
    assert "host.kube is not allowed to import host.runtime" in result.stdout, result.stdout[-3000:]


def test_the_api_may_not_import_the_runtime_that_serves_it(tmp_path: Path) -> None:
    root = _copy_of_the_package(tmp_path)
    runtime = root / "host" / "runtime" / "app.py"
    runtime.write_text(runtime.read_text() + "\nfrom host.api.server import ApiServer  # noqa\n")

    result = _lint_imports(root)

    assert result.returncode != 0
    assert "host.runtime is not allowed to import host.api" in result.stdout, result.stdout[-3000:]


def test_the_debug_agent_may_not_import_the_host(tmp_path: Path) -> None:
    root = _copy_of_the_package(tmp_path)
    agent = next((root / "host" / "agent").glob("*.py"))
    agent.write_text(agent.read_text() + "\nimport host.config  # noqa\n")

    result = _lint_imports(root)

    assert result.returncode != 0
    assert "host.agent" in result.stdout and "host.config" in result.stdout, result.stdout[-3000:]
