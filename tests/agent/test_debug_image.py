"""The debug image's install steps, exercised without a container engine: the pinned
requirements and only `host/agent/` go into a fresh virtualenv, and the agent works from it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import REPO, SpawnTarget

pytestmark = pytest.mark.slow


def _run(argv: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _copy_like_the_dockerfile(src: Path) -> None:
    """Mirror the Dockerfile's COPY lines: pyproject, README, host/__init__.py, host/agent."""
    (src / "host").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("__init__.py", "py.typed"):
        shutil.copy(REPO / "host" / name, src / "host" / name)
    shutil.copytree(
        REPO / "host" / "agent", src / "host" / "agent", ignore=shutil.ignore_patterns("__pycache__")
    )


@pytest.mark.gdb_call
def test_pinned_requirements_and_the_agent_alone_install_and_run(
    tmp_path: Path, spawn_target: SpawnTarget
) -> None:
    dockerfile = (REPO / "debug-image" / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY host/agent /src/host/agent" in dockerfile and "requirements.txt" in dockerfile
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    _run([*pip, "-r", str(REPO / "debug-image" / "requirements.txt")])
    _copy_like_the_dockerfile(tmp_path / "src")
    _run([*pip, "--no-deps", str(tmp_path / "src")])
    agent = str(venv / "bin" / "wfhost-agent")

    listed = json.loads(_run([agent, "ps"]).stdout)
    target = spawn_target("named_threads.py")
    dumped = json.loads(_run([agent, "stacktrace", "--pid", str(target.pid)]).stdout)
    inspected = json.loads(_run([agent, "inspect", "--pid", str(target.pid)]).stdout)  # payloads installed

    assert listed["ok"] is True and any(proc["python"] for proc in listed["result"]["processes"])
    names = {thread["name"] for thread in dumped["result"]["snapshots"][0]["threads"]}
    assert {"worker-alpha", "worker-beta"} <= names
    assert {"worker-alpha", "worker-beta"} <= {thread["name"] for thread in inspected["result"]["threads"]}
    frozen = _run([str(venv / "bin" / "python"), "-m", "pip", "freeze"]).stdout.lower()
    for line in (REPO / "debug-image" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert line.lower().replace("_", "-") in frozen.replace("_", "-"), (
                f"{line} is not what pip installed"
            )


def test_the_image_pins_the_jdk_whose_jfr_javaprofile_runs_and_the_readme_names_it() -> None:
    dockerfile = (REPO / "debug-image" / "Dockerfile").read_text(encoding="utf-8")
    readme = (REPO / "debug-image" / "README.md").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^ARG JDK_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert re.fullmatch(r"17\.\d+(?:\.\d+)*\+\d+-\d+~deb12u\d+", pinned), pinned
    assert '"openjdk-17-jdk-headless=${JDK_VERSION}"' in dockerfile
    assert "&& jfr version" in dockerfile  # the build fails when the tool is missing
    assert f"| OpenJDK  | {pinned} " in readme
