"""`ps`: processes in scope, Python ones flagged with their version."""

from __future__ import annotations

import subprocess
import sys

import psutil

from tests.agent.conftest import REPO, SpawnTarget, run_agent


def test_lists_the_scoped_python_process_and_its_non_python_child(spawn_target: SpawnTarget) -> None:
    parent = spawn_target("spawns_child.py")
    child_pid = int(parent.ready_line.split()[1])

    run = run_agent("ps", env={"WFHOST_AGENT_TARGET_PID": str(parent.pid)})
    parent.stop()

    by_pid = {proc["pid"]: proc for proc in run.result["processes"]}
    assert run.result["scopePid"] == parent.pid
    assert set(by_pid) == {parent.pid, child_pid}
    assert by_pid[parent.pid]["python"] is True
    assert by_pid[parent.pid]["pythonVersion"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert by_pid[parent.pid]["cmdline"][-1].endswith("spawns_child.py")
    assert by_pid[parent.pid]["rssBytes"] > 1_000_000
    assert (
        by_pid[child_pid] | {"python": False, "pythonVersion": None, "ppid": parent.pid} == by_pid[child_pid]
    )
    assert by_pid[child_pid]["cmdline"] == ["sleep", "300"]
    assert not psutil.pid_exists(child_pid) or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE


def test_reports_cpu_use_of_a_busy_process(spawn_target: SpawnTarget) -> None:
    busy = spawn_target("cpu_bound.py")

    run = run_agent("ps", env={"WFHOST_AGENT_TARGET_PID": str(busy.pid)})

    (proc,) = run.result["processes"]
    assert proc["cpuPercent"] > 5.0  # generous: the machine running the tests may be busy
    assert proc["threads"] >= 1


def test_refuses_an_action_on_a_pid_outside_the_scope(spawn_target: SpawnTarget) -> None:
    inside = spawn_target("named_threads.py")
    outside = spawn_target("named_threads.py")

    run = run_agent("stacktrace", "--pid", str(outside.pid), env={"WFHOST_AGENT_TARGET_PID": str(inside.pid)})

    assert run.error["code"] == "out_of_scope"
    assert str(outside.pid) in run.error["message"]


def test_leaves_out_the_agents_own_processes(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")
    waiting = subprocess.Popen(
        [sys.executable, "-m", "host.agent", "wait"], cwd=REPO, stdout=subprocess.DEVNULL
    )
    try:
        run = run_agent("ps")
    finally:
        waiting.terminate()
        waiting.wait(30)

    pids = {proc["pid"] for proc in run.result["processes"]}
    assert target.pid in pids
    assert waiting.pid not in pids
    assert not any("host.agent" in proc["cmdline"] for proc in run.result["processes"])
