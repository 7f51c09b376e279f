"""`wait`: the ephemeral container's main process sleeps until SIGTERM, then answers once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.agent.conftest import REPO


def test_wait_sleeps_until_sigterm_then_prints_one_reply() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.agent", "wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    # Poll until the handler is installed (the interpreter's startup may be slow on a busy machine).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/status", encoding="utf-8") as status:
            caught = int(next(line for line in status if line.startswith("SigCgt:")).split()[1], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "wait must not return by itself"

    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 0, stderr
    reply = json.loads(stdout)
    assert reply["ok"] is True and reply["action"] == "wait"
    assert reply["result"]["signal"] == "SIGTERM"
