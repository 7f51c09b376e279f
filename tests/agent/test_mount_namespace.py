"""A target in its own mount namespace with its own /tmp, as in a pod: the agent's files are not
visible to it and its /tmp is not the agent's, so everything goes through /proc/PID/root."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import SpawnTarget, run_agent
from tests.agent.dap import dap_initialize

# What the target itself needs to start (the checkout with its scripts, the virtualenv): when a
# checkout lives under /tmp (a CI clone may), the private /tmp would hide it, so those paths are
# first bound aside under a private tmpfs on /mnt, then bound back into the new /tmp.
KEEP = sorted({str(p) for p in (Path(__file__).resolve().parents[2], Path(sys.prefix).resolve())
               if p.is_relative_to("/tmp")})
KEPT_NAMES = {Path(p).relative_to("/tmp").parts[0] for p in KEEP}

# unshare execs sh, which mounts a private /tmp and execs the Python target: same pid throughout.
OWN_TMP = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    "set -e; keep='" + " ".join(KEEP) + "'; "
    'if [ -n "$keep" ]; then mount -t tmpfs tmpfs /mnt; '
    'for p in $keep; do mkdir -p "/mnt$p"; mount --bind "$p" "/mnt$p"; done; fi; '
    "mount -t tmpfs tmpfs /tmp; "
    'for p in $keep; do mkdir -p "$p"; mount --bind "/mnt$p" "$p"; done; '
    'exec "$0" "$@"',
]


def own_tmp_entries(pid: int) -> list[str]:
    """What the target's /tmp holds, besides the checkout bound back in."""
    return sorted(set(os.listdir(f"/proc/{pid}/root/tmp")) - KEPT_NAMES)

pytestmark = [
    pytest.mark.gdb_call,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and util-linux unshare"
    ),
]


def test_memory_and_inspect_reach_a_target_with_its_own_tmp(spawn_target: SpawnTarget) -> None:
    target = spawn_target("leaky.py", prefix=OWN_TMP)
    assert os.stat(f"/proc/{target.pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino

    memory = run_agent("memory", "--pid", str(target.pid), "--duration", "1")
    inspect = run_agent("inspect", "--pid", str(target.pid))

    assert memory.result["method"] == "memray"
    assert memory.result["leakCandidates"][0]["function"] == "leak_some"
    assert inspect.result["interpreter"]["executable"]
    assert own_tmp_entries(target.pid) == [], "work directories must be removed"


def test_debugger_copies_debugpy_into_a_slim_target_with_its_own_tmp(
    spawn_target: SpawnTarget, free_port: int
) -> None:
    target = spawn_target("named_threads.py", python_flags=["-I", "-S"], prefix=OWN_TMP)

    run = run_agent("debugger", "--pid", str(target.pid), "--port", str(free_port))

    assert run.result["debugpySource"] == "agent"
    (staged,) = own_tmp_entries(target.pid)
    assert staged.startswith("wfhost-debugpy-")
    assert os.path.isfile(f"/proc/{target.pid}/root/tmp/{staged}/debugpy/__init__.py")
    assert not os.path.exists(f"/tmp/{staged}"), "the copy belongs in the target's /tmp, not the agent's"
    assert dap_initialize(free_port)["success"] is True
