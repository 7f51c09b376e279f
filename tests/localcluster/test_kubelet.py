"""The kubelet: pods run as local processes with truthful statuses, restarts, back-off, events and cleanup."""

from __future__ import annotations

import re
import time
from typing import Any

import psutil
from kubernetes import client

from host.localcluster import LocalCluster, LocalClusterSettings
from host.localcluster.kubelet.cgroups import Cgroups
from host.localcluster.testing import WatchRecorder, python_pod, sleeping_pod, wait_for


def read(api: Any, name: str) -> Any:
    return api.read_namespaced_pod(name, "default")


def status_of(api: Any, name: str, container: str = "app") -> Any:
    statuses = read(api, name).status.container_statuses or []
    return next((s for s in statuses if s.name == container), None)


def events_for(api: Any, name: str) -> list[tuple[str, str, str]]:
    found = api.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
    return [(e.type, e.reason, e.message) for e in sorted(found, key=lambda e: e.metadata.resource_version)]


def test_pod_is_scheduled_started_and_reported_ready(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("web"))
    pod = wait_for(lambda: (p := read(node_api, "web")).status.phase == "Running" and p, what="Running")
    assert pod.spec.node_name == "localnode"
    conditions = {c.type: c.status for c in pod.status.conditions}
    assert conditions["Ready"] == "True"
    assert conditions["PodScheduled"] == "True"
    state = pod.status.container_statuses[0]
    assert state.ready is True
    assert state.started is True
    assert state.state.running.started_at is not None
    assert pod.status.pod_ip == "127.0.0.1"
    assert pod.status.start_time is not None
    reasons = [reason for _, reason, _ in events_for(node_api, "web")]
    assert reasons == ["Scheduled", "Pulled", "Created", "Started"]


def test_the_local_node_is_listed(node_api: Any) -> None:
    (node,) = node_api.list_node().items
    assert node.metadata.name == "localnode"
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"


def test_container_that_keeps_exiting_crash_loops_with_growing_back_off(
    node: LocalCluster, node_api: Any
) -> None:
    start = node_api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(node_api.list_namespaced_pod, "default", resource_version=start)
    node_api.create_namespaced_pod("default", python_pod("crashy", "import sys\nprint('dying')\nsys.exit(2)"))
    seen: list[Any] = []

    def crash_looped_three_times() -> bool:
        for event in recorder.take(1):
            statuses = event["object"].status.container_statuses
            if statuses:
                seen.append(statuses[0])
        return bool(seen) and seen[-1].restart_count >= 3 and seen[-1].state.waiting is not None

    wait_for(crash_looped_three_times, timeout=60, what="three restarts")
    recorder.stop()
    counts = [s.restart_count for s in seen]
    assert counts == sorted(counts)
    waiting = [
        s for s in seen if s.state.waiting is not None and s.state.waiting.reason == "CrashLoopBackOff"
    ]
    assert waiting, "CrashLoopBackOff never reported"
    assert all(s.last_state.terminated.exit_code == 2 for s in waiting)
    assert all(s.last_state.terminated.reason == "Error" for s in waiting)
    delays = [float(re.match(r"back-off ([\d.]+)s", s.state.waiting.message).group(1)) for s in waiting]
    assert len(set(delays)) >= 2, f"back-off should grow: {delays}"
    assert delays == sorted(delays), f"back-off should grow: {delays}"
    pod = read(node_api, "crashy")
    assert pod.status.phase == "Running"
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"
    backoffs = [(t, m) for t, r, m in events_for(node_api, "crashy") if r == "BackOff"]
    assert backoffs[0][0] == "Warning"
    assert backoffs[0][1].startswith("Back-off restarting failed container app in pod crashy_default(")
    aggregated = node_api.list_namespaced_event("default", field_selector="reason=BackOff").items
    assert len(aggregated) == 1, "repeated BackOff events are aggregated into one with a count"
    assert aggregated[0].count >= 2


def test_restart_policy_never_leaves_a_failed_pod(node_api: Any) -> None:
    node_api.create_namespaced_pod(
        "default", python_pod("once", "raise SystemExit(3)", restart_policy="Never")
    )
    pod = wait_for(lambda: (p := read(node_api, "once")).status.phase == "Failed" and p, what="Failed")
    state = pod.status.container_statuses[0]
    assert (state.state.terminated.exit_code, state.state.terminated.reason) == (3, "Error")
    assert state.restart_count == 0
    assert state.state.terminated.started_at is not None


def test_on_failure_pod_that_exits_zero_succeeds(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", python_pod("job", "print('done')", restart_policy="OnFailure"))
    pod = wait_for(lambda: (p := read(node_api, "job")).status.phase == "Succeeded" and p, what="Succeeded")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert {c.type: c.reason for c in pod.status.conditions}["Ready"] == "PodCompleted"


def test_unpullable_image_backs_off_without_running(node: LocalCluster, node_api: Any) -> None:
    start = node_api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(node_api.list_namespaced_pod, "default", resource_version=start)
    node_api.create_namespaced_pod("default", sleeping_pod("pull", image="invalid.example/team/app:1.0"))
    reasons: list[str] = []

    def backed_off_twice() -> bool:
        statuses = recorder.take(1)[0]["object"].status.container_statuses or []
        if statuses and statuses[0].state.waiting is not None:
            reasons.append(statuses[0].state.waiting.reason)
        return reasons.count("ImagePullBackOff") >= 2

    wait_for(backed_off_twice, timeout=30, what="two image pull back-offs")
    recorder.stop()
    assert reasons[:2] == ["ContainerCreating", "ErrImagePull"]
    assert "ImagePullBackOff" in reasons[2:]
    assert read(node_api, "pull").status.phase == "Pending"
    messages = [(t, m) for t, r, m in events_for(node_api, "pull") if r == "Failed"]
    assert ("Warning", "Error: ErrImagePull") in messages
    assert ("Warning", "Error: ImagePullBackOff") in messages
    assert any(m.startswith('Failed to pull image "invalid.example/team/app:1.0"') for _, m in messages)
    assert node.container_pids("default", "pull") == {}


def _tree(pid: int) -> list[int]:
    return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False  # gone between the look and the question (seen in CI): that is gone


def _gone(pids: list[int]) -> bool:
    return not any(_alive(pid) for pid in pids)


SPAWNS_A_CHILD = "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\nprint('ready')\ntime.sleep(600)"


def test_deleting_a_pod_stops_its_processes_and_their_children(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod("default", python_pod("parent", SPAWNS_A_CHILD))
    pid = wait_for(lambda: node.container_pids("default", "parent").get("app"), what="the container process")
    pids = wait_for(lambda: tree if len(tree := _tree(pid)) == 2 else None, what="the child process")
    deleted = node_api.delete_namespaced_pod("parent", "default")
    assert deleted.metadata.deletion_timestamp is not None
    wait_for(lambda: not node_api.list_namespaced_pod("default").items, what="the pod to be removed")
    wait_for(lambda: _gone(pids), timeout=15, what="processes to exit")
    assert any(r == "Killing" for _, r, _ in events_for(node_api, "parent"))


def test_graceful_deletion_reports_the_final_state_before_removal(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("bye"))
    wait_for(lambda: read(node_api, "bye").status.phase == "Running", what="Running")
    start = node_api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(node_api.list_namespaced_pod, "default", resource_version=start)
    node_api.delete_namespaced_pod("bye", "default")
    events = []
    while not events or events[-1]["type"] != "DELETED":
        events += recorder.take(1)
    recorder.stop()
    final = events[-1]["object"]
    assert final.metadata.deletion_timestamp is not None
    assert final.status.phase == "Failed"
    assert final.status.container_statuses[0].state.terminated.exit_code == 143


def test_force_delete_kills_processes_at_once(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod(
        "default",
        python_pod(
            "stubborn", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)"
        ),
    )
    pid = wait_for(
        lambda: node.container_pids("default", "stubborn").get("app"), what="the container process"
    )
    node_api.delete_namespaced_pod("stubborn", "default", grace_period_seconds=0)
    wait_for(lambda: _gone([pid]), timeout=15, what="the process to be killed")


def test_shutdown_kills_every_process_the_kubelet_started() -> None:
    with LocalCluster(LocalClusterSettings.for_tests()) as lc:
        api = lc.core_v1()
        api.create_namespaced_pod("default", python_pod("one", SPAWNS_A_CHILD))
        api.create_namespaced_pod("default", sleeping_pod("two"))
        wait_for(lambda: len(lc.kubelet_pids()) == 2, what="both containers")
        pids = wait_for(
            lambda: (
                found if len(found := [p for main in lc.kubelet_pids() for p in _tree(main)]) == 3 else None
            ),
            what="the child process",
        )
    wait_for(lambda: _gone(pids), timeout=15, what="all processes to exit")


def test_environment_comes_from_env_values_field_refs_and_expansion(node_api: Any) -> None:
    manifest = python_pod(
        "envy",
        "import os, sys\nprint(os.environ['GREETING'], os.environ['POD'], os.environ['HOSTNAME'], sys.argv[1:])",
        restart_policy="Never",
        env={"NAME": "world", "GREETING": "hello $(NAME) $$(NAME)"},
    )
    container = manifest["spec"]["containers"][0]
    container["env"].append({"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    container["args"] = ["$(NAME)", "$(UNSET)"]
    node_api.create_namespaced_pod("default", manifest)
    wait_for(lambda: read(node_api, "envy").status.phase == "Succeeded", what="Succeeded")
    assert (
        node_api.read_namespaced_pod_log("envy", "default")
        == "hello world $(NAME) envy envy ['world', '$(UNSET)']\n"
    )


def test_missing_executable_is_a_start_error(node_api: Any) -> None:
    manifest = sleeping_pod("nobin", restart_policy="Never")
    manifest["spec"]["containers"][0]["command"] = ["definitely-not-a-binary-here"]
    node_api.create_namespaced_pod("default", manifest)
    pod = wait_for(lambda: (p := read(node_api, "nobin")).status.phase == "Failed" and p, what="Failed")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (128, "StartError")
    assert "executable file not found" in terminated.message


def test_container_without_a_command_runs_idle(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod(
        "default",
        {"metadata": {"name": "nginx"}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
    )
    wait_for(lambda: read(node_api, "nginx").status.phase == "Running", what="Running")
    assert set(node.container_pids("default", "nginx")) == {"web"}


def test_pods_bound_to_another_node_or_scheduler_are_left_alone(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("remote", node_name="node-elsewhere"))
    custom = sleeping_pod("custom")
    custom["spec"]["schedulerName"] = "my-scheduler"
    node_api.create_namespaced_pod("default", custom)
    node_api.create_namespaced_pod("default", sleeping_pod("local"))
    wait_for(lambda: read(node_api, "local").status.phase == "Running", what="the local pod")
    assert read(node_api, "remote").status.phase == "Pending"
    assert read(node_api, "remote").status.container_statuses is None
    assert read(node_api, "custom").spec.node_name is None
    patched = node_api.patch_namespaced_pod_status("remote", "default", {"status": {"phase": "Running"}})
    assert patched.status.phase == "Running"
    # As on a real server: a pod bound to a node waits for that node's kubelet to finish its
    # deletion (Terminating); no kubelet runs node-elsewhere, so only a forced delete removes it.
    node_api.delete_namespaced_pod("remote", "default")
    assert read(node_api, "remote").metadata.deletion_timestamp is not None
    node_api.delete_namespaced_pod("remote", "default", grace_period_seconds=0)
    assert [p.metadata.name for p in node_api.list_namespaced_pod("default").items] == ["custom", "local"]


def test_a_restarted_node_starts_the_containers_of_its_pods_again() -> None:
    with LocalCluster(LocalClusterSettings.for_tests()) as lc:
        api = lc.core_v1()
        api.create_namespaced_pod("default", sleeping_pod("phoenix"))
        first = wait_for(lambda: lc.container_pids("default", "phoenix").get("app"), what="the first process")
        lc.stop()
        wait_for(lambda: _gone([first]), timeout=15, what="the first process to stop")
        lc.start()
        second = wait_for(
            lambda: lc.container_pids("default", "phoenix").get("app"), what="the second process"
        )
        assert second != first
        wait_for(lambda: read(api, "phoenix").status.phase == "Running", what="Running again")


def test_an_image_change_restarts_the_container_with_the_new_image(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("upgrade"))
    first = wait_for(lambda: node.container_pids("default", "upgrade").get("app"), what="the first container")
    node_api.patch_namespaced_pod(
        "upgrade", "default", {"spec": {"containers": [{"name": "app", "image": "python:3.13"}]}}
    )

    def restarted() -> Any:
        state = status_of(node_api, "upgrade")
        return state if state.restart_count == 1 and state.state.running else None

    state = wait_for(restarted, what="the container restarted with the new image")
    assert state.image == "python:3.13"
    assert state.last_state.terminated is not None
    second = node.container_pids("default", "upgrade").get("app")
    assert second and second != first
    assert _gone([first])
    assert ("Normal", "Killing", "Container app definition changed, will be restarted") in events_for(
        node_api, "upgrade"
    )


def test_the_pods_own_grace_period_is_honoured_when_no_cap_is_set() -> None:
    assert LocalClusterSettings().grace_seconds(45) == 45  # a real kubelet's default: no cap
    with LocalCluster(LocalClusterSettings.for_tests(termination_grace_cap_seconds=None)) as lc:
        api = lc.core_v1()
        pod = python_pod(
            "patient",
            "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready')\ntime.sleep(600)",
        )
        pod["spec"]["terminationGracePeriodSeconds"] = 3
        api.create_namespaced_pod("default", pod)
        pid = wait_for(lambda: lc.container_pids("default", "patient").get("app"), what="the container")
        wait_for(lambda: "ready" in api.read_namespaced_pod_log("patient", "default"), what="SIGTERM ignored")
        began = time.monotonic()
        api.delete_namespaced_pod("patient", "default")
        wait_for(lambda: _gone([pid]), timeout=15, what="the SIGKILL after the grace period")
        waited = time.monotonic() - began
    assert 2.5 <= waited < 8, waited


def test_the_node_lease_and_ready_condition_are_renewed() -> None:
    with LocalCluster(LocalClusterSettings.for_tests(node_heartbeat_seconds=0.2)) as lc:
        coordination = client.CoordinationV1Api(lc.api_client())
        first = wait_for(
            lambda: coordination.read_namespaced_lease("localnode", "kube-node-lease"), what="the node Lease"
        )
        assert first.spec.holder_identity == "localnode"
        assert first.spec.lease_duration_seconds == 40
        later = wait_for(
            lambda: (
                lease
                if (
                    lease := coordination.read_namespaced_lease("localnode", "kube-node-lease")
                ).spec.renew_time
                > first.spec.renew_time
                else None
            ),
            what="a renewed Lease",
        )
        assert later.metadata.resource_version != first.metadata.resource_version
        (node,) = lc.core_v1().list_node().items
        kinds = {c.type: c.status for c in node.status.conditions}
        assert kinds == {
            "MemoryPressure": "False",
            "DiskPressure": "False",
            "PIDPressure": "False",
            "Ready": "True",
        }


def _limited(name: str, code: str, limits: dict[str, str]) -> dict[str, Any]:
    pod = python_pod(name, code, restart_policy="Never")
    pod["spec"]["containers"][0]["resources"] = {"limits": limits}
    return pod


def test_a_memory_limit_is_enforced_by_the_kernel_and_reported_as_oom_killed(node_api: Any) -> None:
    assert Cgroups("localnode").available(), "this machine kind has writable cgroup v1 controllers (as root)"
    hog = "blocks = []\nprint('allocating', flush=True)\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))"
    node_api.create_namespaced_pod("default", _limited("hog", hog, {"memory": "64Mi"}))
    pod = wait_for(lambda: (p := read(node_api, "hog")).status.phase == "Failed" and p, what="the OOM kill")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)


def test_a_container_under_its_memory_limit_is_not_oom_killed(node_api: Any) -> None:
    code = "data = bytearray(8 * 1024 * 1024)\nprint('fits')"
    node_api.create_namespaced_pod("default", _limited("fits", code, {"memory": "256Mi"}))
    pod = wait_for(lambda: (p := read(node_api, "fits")).status.phase == "Succeeded" and p, what="success")
    assert pod.status.container_statuses[0].state.terminated.reason == "Completed"


def test_a_cpu_limit_throttles_the_container(node: LocalCluster, node_api: Any) -> None:
    spin = "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end:\n    pass\nprint('done')"
    node_api.create_namespaced_pod("default", _limited("spin", spin + "\ntime.sleep(60)", {"cpu": "200m"}))
    pid = wait_for(lambda: node.container_pids("default", "spin").get("app"), what="the container")
    wait_for(lambda: "done" in node_api.read_namespaced_pod_log("spin", "default"), what="the spin to end")
    times = psutil.Process(pid).cpu_times()
    assert times.user + times.system < 0.8, times  # 1.5 s of wall time at a fifth of a core
