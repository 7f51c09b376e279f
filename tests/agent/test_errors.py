"""Bad input and failures give one JSON error naming the cause, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.agent.conftest import SpawnTarget, run_agent


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize(
    "action", [["profile", "--duration", "1"], ["stacktrace"], ["inspect"], ["memory", "--duration", "1"]]
)
def test_a_non_python_process_is_refused_as_not_python(
    sleeper: subprocess.Popen[bytes], action: list[str]
) -> None:
    run = run_agent(action[0], "--pid", str(sleeper.pid), *action[1:])

    assert run.returncode != 0
    assert run.error["code"] == "not_python"
    assert f"process {sleeper.pid} (sleep) is not a Python process" in run.error["message"]


def test_a_dead_pid_gives_no_such_process() -> None:
    finished = subprocess.run(["true"], check=True)
    assert finished.returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()

    run = run_agent("stacktrace", "--pid", str(dead.pid))

    assert run.error["code"] == "no_such_process"
    assert str(dead.pid) in run.error["message"]


@pytest.mark.parametrize(
    ("action", "during"),
    [
        (["profile", "--duration", "8"], "profiled"),
        pytest.param(["memory", "--duration", "8"], "allocation tracking", marks=pytest.mark.gdb_call),
        (["stacktrace", "--count", "40", "--interval", "0.25"], "stack dump"),
    ],
)
def test_a_process_exiting_mid_action_gives_process_exited(
    spawn_target: SpawnTarget, action: list[str], during: str
) -> None:
    target = spawn_target("exits_soon.py", "3")

    run = run_agent(action[0], "--pid", str(target.pid), *action[1:])

    assert run.error["code"] == "process_exited"
    assert during in run.error["message"]
    assert run.error["details"]["pid"] == target.pid


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["profile", "--duration", "0"], "--duration"),
        (["profile", "--duration", "301"], "--duration"),
        (["profile", "--duration", "2", "--rate", "5000"], "--rate"),
        (["memory", "--duration", "0.5"], "--duration"),
        (["stacktrace", "--count", "0"], "--count"),
        (["debugger", "--port", "80"], "--port"),
        (["memory", "--duration", "2", "--method", "valgrind"], "--method"),
    ],
)
def test_out_of_range_options_are_bad_arguments_checked_before_the_target(
    args: list[str], named: str
) -> None:
    run = run_agent(args[0], "--pid", "1", *args[1:])

    assert run.returncode == 2
    assert run.error["code"] == "bad_argument"
    assert named in run.error["message"]


def test_a_missing_pid_or_unknown_action_is_a_bad_argument_not_usage_text() -> None:
    missing = run_agent("profile", "--duration", "1")
    unknown = run_agent("flamegraph")

    assert missing.error["code"] == unknown.error["code"] == "bad_argument"
    assert "--pid" in missing.error["message"]
    assert "flamegraph" in unknown.error["message"]
    assert unknown.reply["action"] == "flamegraph"


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv to drop CAP_SYS_PTRACE")
def test_without_ptrace_capability_the_error_is_ptrace_denied(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")

    run = run_agent(
        "stacktrace", "--pid", str(target.pid), prefix=["setpriv", "--bounding-set", "-sys_ptrace", "--"]
    )

    assert run.error["code"] == "ptrace_denied"
    assert "SYS_PTRACE" in run.error["message"]


@pytest.mark.gdb_call
def test_injection_gives_up_cleanly_when_the_gil_holder_is_stuck_in_native_code(
    spawn_target: SpawnTarget,
) -> None:
    # sum() over a huge range runs in C holding the GIL and never reaches the eval loop.
    stuck = subprocess.Popen(
        ["python3", "-c", "print('ready', flush=True); sum(range(10**14))"], stdout=subprocess.PIPE
    )
    try:
        assert stuck.stdout is not None and stuck.stdout.readline().strip() == b"ready"

        run = run_agent("inspect", "--pid", str(stuck.pid))

        assert run.error["code"] == "injection_failed"
        assert "busy in native code" in run.error["message"]
        assert stuck.poll() is None, "the target must survive a failed injection"
        assert run_agent("stacktrace", "--pid", str(stuck.pid)).reply["ok"]  # and is no longer traced
    finally:
        stuck.kill()
        stuck.wait()
        if stuck.stdout is not None:
            stuck.stdout.close()


def test_an_injection_never_kills_the_target_where_the_kernel_would_break_it(spawn_target: SpawnTarget) -> None:
    # Where gdb can call into processes the action works; where the kernel refuses gdb's register
    # writes (probed on a throwaway process first), it is refused and the target lives on.
    target = spawn_target("named_threads.py")
    run = run_agent("inspect", "--pid", str(target.pid))
    if run.reply["ok"]:
        assert run.result["pid"] == target.pid
    else:
        assert run.error["code"] == "injection_unsupported", run.reply
        assert "would kill it, so it was not attempted" in run.error["message"]
    assert target.popen.poll() is None  # alive either way
