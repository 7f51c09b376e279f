"""`javathreads`: a real JVM's thread dump through HotSpot's attach mechanism (its named threads,
their states and stacks, the deadlocks the JVM detects), as the JVM's user and through its own
/tmp and pid namespace; clear errors for another runtime and for a JVM that refuses attach."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.agent.conftest import Spawner, SpawnTarget, Target, run_agent

JVM_FLAGS = ("-Xmx128m",)


def _jvm(spawn: Spawner, java: str, classes: Path, *args: str, flags: tuple[str, ...] = (), prefix: tuple[str, ...] = ()) -> Target:
    return spawn([java, *JVM_FLAGS, *flags, "-cp", str(classes), "JavaHot", *args], prefix=prefix)


def _thread(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [t for t in result["threads"] if t["name"] == name]
    return found


def test_named_threads_appear_with_their_state_and_stack_and_there_is_no_deadlock(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = _jvm(spawn, java, java_hot_classes)

    result = run_agent("javathreads", "--pid", str(target.pid)).result

    assert result["javaVersion"].startswith("17") or result["javaVersion"][0].isdigit()
    assert result["vm"].startswith("OpenJDK 64-Bit Server VM") or "VM" in result["vm"]
    burner = _thread(result, "wfhost-burner")
    assert burner["state"] == "RUNNABLE" and burner["daemon"] is True and burner["number"] > 1
    assert any(frame["method"] == "JavaHot.burnCpu" for frame in burner["frames"][:3])
    main = _thread(result, "main")
    assert main["state"] == "TIMED_WAITING" and main["stateDetail"] == "sleeping"
    assert main["frames"][0]["method"] == "java.lang.Thread.sleep"
    assert main["frames"][1] == {"method": "JavaHot.main", "location": main["frames"][1]["location"], "locks": []}
    assert main["frames"][1]["location"].startswith("JavaHot.java:")
    assert result["deadlocks"] == []
    assert result["threadCount"] == len(result["threads"]) >= 5
    assert sum(s["count"] for s in result["byState"]) == result["threadCount"]
    (artifact,) = result["artifacts"]
    assert b'"wfhost-allocator" #' in base64.b64decode(artifact["data"])


def test_two_threads_deadlocked_on_two_monitors_are_reported_as_one_cycle(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = _jvm(spawn, java, java_hot_classes, "deadlock")

    result = run_agent("javathreads", "--pid", str(target.pid)).result

    (cycle,) = result["deadlocks"]
    by_name = {t["name"]: t for t in cycle["threads"]}
    assert set(by_name) == {"locker-a", "locker-b"}
    assert by_name["locker-a"]["heldBy"] == "locker-b" and by_name["locker-b"]["heldBy"] == "locker-a"
    assert by_name["locker-a"]["waitingFor"].startswith("waiting to lock monitor")
    assert "a java.lang.Object" in by_name["locker-a"]["waitingFor"]
    top = by_name["locker-a"]["frames"][0]
    assert top["method"] == "JavaHot.lockBoth"
    assert any(lock.startswith("waiting to lock <") for lock in top["locks"])
    assert any(lock.startswith("locked <") for lock in top["locks"])
    assert _thread(result, "locker-b")["state"] == "BLOCKED"
    assert {"state": "BLOCKED", "count": 2} in result["byState"]


def test_two_threads_deadlocked_on_two_reentrant_locks_are_reported_too(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = _jvm(spawn, java, java_hot_classes, "lock-deadlock")

    result = run_agent("javathreads", "--pid", str(target.pid)).result

    (cycle,) = result["deadlocks"]
    by_name = {t["name"]: t for t in cycle["threads"]}
    assert set(by_name) == {"ledger-a", "ledger-b"}
    assert by_name["ledger-a"]["heldBy"] == "ledger-b"
    assert by_name["ledger-a"]["waitingFor"].startswith("waiting for ownable synchronizer")
    assert "ReentrantLock" in by_name["ledger-a"]["waitingFor"]
    parked = _thread(result, "ledger-b")
    assert parked["state"] == "WAITING" and parked["stateDetail"] == "parking"
    assert any("parking to wait for" in lock for frame in parked["frames"] for lock in frame["locks"])


def test_the_second_attach_reuses_the_listener_and_leaves_no_trigger_file(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = _jvm(spawn, java, java_hot_classes)
    cwd = Path(f"/proc/{target.pid}/cwd").resolve()

    run_agent("javathreads", "--pid", str(target.pid))
    began = time.monotonic()
    second = run_agent("javathreads", "--pid", str(target.pid)).result

    assert time.monotonic() - began < 10
    assert Path(f"/tmp/.java_pid{target.pid}").is_socket()
    assert not Path(f"/tmp/.attach_pid{target.pid}").exists()
    assert not (cwd / f".attach_pid{target.pid}").exists()
    assert _thread(second, "Attach Listener")["daemon"] is True


def test_a_jvm_of_another_user_is_attached_with_its_credentials(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    """HotSpot accepts only root or its own euid/egid as the peer; the agent switches to the JVM's."""
    if os.geteuid() != 0:
        pytest.skip("starting a JVM as another user needs root")
    target = _jvm(spawn, java, java_hot_classes, prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
    assert psutil.Process(target.pid).uids().effective == 65534

    result = run_agent("javathreads", "--pid", str(target.pid)).result

    assert _thread(result, "wfhost-burner")["state"] == "RUNNABLE"
    assert os.stat(f"/tmp/.java_pid{target.pid}").st_uid == 65534


def test_a_jvm_in_its_own_pid_and_mount_namespace_is_reached_through_its_tmp(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    """As in a pod: the JVM is pid 1-ish in its own pid namespace and has its own /tmp."""
    if os.geteuid() != 0:
        pytest.skip("unshare needs root")
    # The classes live under the outer /tmp: bound onto /mnt (in the private mount namespace)
    # before a tmpfs hides that /tmp.
    unshare = (
        "unshare", "--pid", "--fork", "--mount", "--mount-proc", "sh", "-c",
        f"mount -t tmpfs tmpfs /mnt && mkdir /mnt/classes && mount --bind {java_hot_classes} /mnt/classes"
        ' && mount -t tmpfs tmpfs /tmp && exec "$0" "$@"',
    )
    outer = spawn([java, *JVM_FLAGS, "-cp", "/mnt/classes", "JavaHot"], prefix=unshare)
    (jvm,) = [p for p in psutil.Process(outer.pid).children(recursive=True) if p.name() == "java"]
    try:
        nspid = int(Path(f"/proc/{jvm.pid}/status").read_text().split("NSpid:")[1].split("\n")[0].split()[-1])
        assert nspid != jvm.pid

        result = run_agent("javathreads", "--pid", str(jvm.pid)).result

        assert _thread(result, "wfhost-burner")["state"] == "RUNNABLE"
        assert Path(f"/proc/{jvm.pid}/root/tmp/.java_pid{nspid}").is_socket()
        assert not Path(f"/tmp/.java_pid{nspid}").exists() or nspid == jvm.pid
    finally:
        jvm.kill()  # stopping unshare would leave the JVM, its namespace's init, running


def test_a_jvm_started_with_attach_disabled_is_refused_clearly_and_not_signalled(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = _jvm(spawn, java, java_hot_classes, flags=("-XX:+DisableAttachMechanism",))

    run = run_agent("javathreads", "--pid", str(target.pid))

    assert run.returncode == 1
    assert run.error["code"] == "attach_unavailable"
    assert "-XX:+DisableAttachMechanism in its command line" in run.error["message"]
    assert target.popen.poll() is None
    assert not Path(f"/tmp/.attach_pid{target.pid}").exists()


def test_attach_disabled_through_java_tool_options_is_named(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    prefix = ("env", "JAVA_TOOL_OPTIONS=-Xss1m -XX:+DisableAttachMechanism")
    target = _jvm(spawn, java, java_hot_classes, prefix=prefix)

    run = run_agent("javathreads", "--pid", str(target.pid))

    assert run.error["code"] == "attach_unavailable"
    assert "JAVA_TOOL_OPTIONS" in run.error["message"]


def test_a_jvm_run_with_reduced_signals_opens_its_listener_at_start_and_is_attached(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    """HotSpot starts the attach listener at start-up under -Xrs, as SIGQUIT cannot ask for it."""
    target = _jvm(spawn, java, java_hot_classes, flags=("-Xrs",))

    result = run_agent("javathreads", "--pid", str(target.pid)).result

    assert _thread(result, "wfhost-burner")["state"] == "RUNNABLE"


def test_a_jvm_that_does_not_handle_sigquit_and_lost_its_socket_is_refused_and_survives(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    """-Xrs leaves SIGQUIT's default action (end the process): with its socket gone (a /tmp
    cleaner), the agent must not send SIGQUIT to ask for a new one."""
    target = _jvm(spawn, java, java_hot_classes, flags=("-Xrs",))
    socket_path = Path(f"/tmp/.java_pid{target.pid}")
    deadline = time.monotonic() + 10
    while not socket_path.is_socket() and time.monotonic() < deadline:
        time.sleep(0.05)
    socket_path.unlink()

    run = run_agent("javathreads", "--pid", str(target.pid))

    assert run.error["code"] == "attach_unavailable"
    assert "does not handle SIGQUIT" in run.error["message"]
    time.sleep(0.5)
    assert target.popen.poll() is None


def test_a_python_process_is_refused_naming_its_runtime(spawn_target: SpawnTarget) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("javathreads", "--pid", str(target.pid))

    assert run.error["code"] == "wrong_runtime"
    assert run.error["message"].endswith("is a python process, not jvm")
    assert run.error["details"]["runtime"] == "python"


def test_a_pid_that_does_not_exist_is_reported() -> None:
    run = run_agent("javathreads", "--pid", "4000000")

    assert run.error["code"] == "no_such_process"
