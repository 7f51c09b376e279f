"""A target in its own mount namespace with its own /tmp, as in a pod: the agent's files are not
visible to it and its /tmp is not the agent's, so everything goes through /proc/PID/root."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.agent.conftest import SpawnTarget, run_agent
from tests.agent.dap import dap_initialize

# unshare execs sh, which mounts a private /tmp and execs the Python target: same pid throughout.
OWN_TMP = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount -t tmpfs tmpfs /tmp && exec "$0" "$@"',
]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and util-linux unshare"
)


def test_memory_and_inspect_reach_a_target_with_its_own_tmp(spawn_target: SpawnTarget) -> None:
    target = spawn_target("leaky.py", prefix=OWN_TMP)
    assert os.stat(f"/proc/{target.pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino

    memory = run_agent("memory", "--pid", str(target.pid), "--duration", "1")
    inspect = run_agent("inspect", "--pid", str(target.pid))

    assert memory.result["method"] == "memray"
    assert memory.result["leakCandidates"][0]["function"] == "leak_some"
    assert inspect.result["interpreter"]["executable"]
    assert os.listdir(f"/proc/{target.pid}/root/tmp") == [], "work directories must be removed"


def test_debugger_copies_debugpy_into_a_slim_target_with_its_own_tmp(
    spawn_target: SpawnTarget, free_port: int
) -> None:
    target = spawn_target("named_threads.py", python_flags=["-I", "-S"], prefix=OWN_TMP)

    run = run_agent("debugger", "--pid", str(target.pid), "--port", str(free_port))

    assert run.result["debugpySource"] == "agent"
    (staged,) = os.listdir(f"/proc/{target.pid}/root/tmp")
    assert staged.startswith("wfhost-debugpy-")
    assert os.path.isfile(f"/proc/{target.pid}/root/tmp/{staged}/debugpy/__init__.py")
    assert not os.path.exists(f"/tmp/{staged}"), "the copy belongs in the target's /tmp, not the agent's"
    assert dap_initialize(free_port)["success"] is True
