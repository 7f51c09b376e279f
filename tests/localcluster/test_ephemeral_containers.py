"""Ephemeral containers on the kubelet: started when added, reported, pointed at their target's process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psutil
from kubernetes.stream import stream

from host.localcluster import LocalCluster
from host.localcluster.testing import sleeping_pod, wait_for

REPORT_TARGET = "import os, time\nprint('target', os.environ.get('WFHOST_AGENT_TARGET_PID'))\ntime.sleep(600)"


def add_debugger(api: Any, pod: str, code: str, name: str = "debugger") -> Any:
    container = {
        "name": name,
        "image": "wfhost/debug-agent:dev",
        "command": ["python", "-u", "-c", code],
        "targetContainerName": "app",
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
    }
    return api.patch_namespaced_pod_ephemeralcontainers(
        pod, "default", {"spec": {"ephemeralContainers": [container]}}
    )


def ephemeral_status(api: Any, pod: str, name: str = "debugger") -> Any:
    statuses = api.read_namespaced_pod(pod, "default").status.ephemeral_container_statuses or []
    return next((s for s in statuses if s.name == name), None)


def start_target(node: LocalCluster, api: Any) -> int:
    api.create_namespaced_pod("default", sleeping_pod("target"))
    return wait_for(lambda: node.container_pids("default", "target").get("app"), what="the target container")


def test_added_ephemeral_container_runs_with_the_target_pid(node: LocalCluster, node_api: Any) -> None:
    target_pid = start_target(node, node_api)
    add_debugger(node_api, "target", REPORT_TARGET)
    state = wait_for(
        lambda: (s := ephemeral_status(node_api, "target")) and s.state.running and s, what="debugger running"
    )
    assert state.image == "wfhost/debug-agent:dev"
    assert state.ready is False
    log = wait_for(
        lambda: node_api.read_namespaced_pod_log("target", "default", container="debugger"), what="its output"
    )
    assert log == f"target {target_pid}\n"
    assert "python" in " ".join(psutil.Process(target_pid).cmdline())
    assert set(node.container_pids("default", "target")) == {"app", "debugger"}
    pod = node_api.read_namespaced_pod("target", "default")
    assert pod.status.phase == "Running"
    assert [s.name for s in pod.status.container_statuses] == ["app"]
    events = node_api.list_namespaced_event(
        "default", field_selector="involvedObject.fieldPath=spec.ephemeralContainers{debugger}"
    )
    assert [e.reason for e in sorted(events.items, key=lambda e: e.metadata.resource_version)] == [
        "Pulled",
        "Created",
        "Started",
    ]


def test_finished_ephemeral_container_is_not_restarted(node: LocalCluster, node_api: Any) -> None:
    start_target(node, node_api)
    add_debugger(node_api, "target", "raise SystemExit(4)")
    state = wait_for(
        lambda: (s := ephemeral_status(node_api, "target")) and s.state.terminated and s, what="debugger exit"
    )
    assert state.state.terminated.exit_code == 4
    assert state.restart_count == 0
    assert node_api.read_namespaced_pod("target", "default").status.phase == "Running"


@contextlib.contextmanager
def exec_session(api: Any, pod: str, container: str, command: list[str]) -> Iterator[Any]:
    response = stream(
        api.connect_get_namespaced_pod_exec,
        pod,
        "default",
        container=container,
        command=command,
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    try:
        yield response
    finally:
        response.close()
        if response.sock is not None:
            response.sock.shutdown()


def test_exec_into_the_ephemeral_container_sees_the_target_pid(node: LocalCluster, node_api: Any) -> None:
    target_pid = start_target(node, node_api)
    add_debugger(node_api, "target", "import time\ntime.sleep(600)")
    wait_for(lambda: (s := ephemeral_status(node_api, "target")) and s.state.running, what="debugger running")
    command = ["python", "-c", "import os; print(os.environ['WFHOST_AGENT_TARGET_PID'])"]
    with exec_session(node_api, "target", "debugger", command) as response:
        response.run_forever(timeout=30)
        assert response.read_stdout() == f"{target_pid}\n"
        assert response.returncode == 0


def test_ephemeral_container_processes_end_with_the_pod(node: LocalCluster, node_api: Any) -> None:
    start_target(node, node_api)
    add_debugger(node_api, "target", "import time\ntime.sleep(600)")
    debugger_pid = wait_for(
        lambda: node.container_pids("default", "target").get("debugger"), what="debugger process"
    )
    node_api.delete_namespaced_pod("target", "default")
    wait_for(
        lambda: (
            not psutil.pid_exists(debugger_pid)
            or psutil.Process(debugger_pid).status() == psutil.STATUS_ZOMBIE
        ),
        timeout=15,
    )


def test_a_restarted_target_stays_in_reach_of_the_ephemeral_container(node: LocalCluster, node_api: Any) -> None:
    # As a shared pid namespace would: the agent's scope follows the target's current process.
    first = start_target(node, node_api)
    add_debugger(node_api, "target", "import time\ntime.sleep(600)")
    wait_for(lambda: (s := ephemeral_status(node_api, "target")) and s.state.running, what="debugger running")
    psutil.Process(first).kill()  # the target container restarts (restartPolicy Always)
    second = wait_for(
        lambda: (pid := node.container_pids("default", "target").get("app")) and pid != first and pid,
        what="the restarted target",
    )
    command = ["python", "-c", "from host.agent.procs import scope_pid; print(scope_pid())"]
    with exec_session(node_api, "target", "debugger", command) as response:
        response.run_forever(timeout=30)
        assert response.read_stdout() == f"{second}\n", response.read_stderr()
