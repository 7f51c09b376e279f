"""Our process kubelet as the real control plane's node: what kubectl and the Python client see.

The pods below are scheduled by the real kube-scheduler, owned by the real controllers, and run
by our kubelet through the API (`HttpNodeApi`); logs and exec come back through kube-apiserver
and the Go `kubelet-server` front, so kubectl's SPDY-translated exec and the client's WebSocket
exec are both exercised.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from host.kube.podexec import run_exec
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.localcluster.testing import wait_for
from tests.controlplane.support import kubectl


@pytest.fixture
def ns(api_client: client.ApiClient) -> Iterator[str]:
    name = f"n-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": name}})
    yield name
    client.CoreV1Api(api_client).delete_namespace(name)


def python_pod(name: str, code: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "app", "image": "python:3.12", "command": ["python", "-u", "-c", code]}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container], **spec},
    }


SLEEPS = "import time\nprint('up', flush=True)\ntime.sleep(3600)"


def test_kubectl_apply_runs_a_pod_on_our_node_with_logs_and_exec(
    control_plane: KubernetesControlPlane, ns: str
) -> None:
    kubectl(control_plane, "-n", ns, "apply", "-f", "-", stdin=json.dumps(python_pod("web", SLEEPS)))
    kubectl(control_plane, "-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    words = kubectl(control_plane, "-n", ns, "get", "pods").split()
    assert words[:9] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "web", "1/1", "Running", "0"]
    assert (
        kubectl(control_plane, "-n", ns, "get", "pod", "web", "-o", "jsonpath={.spec.nodeName}")
        == "localnode"
    )
    assert kubectl(control_plane, "-n", ns, "logs", "web").strip() == "up"
    # kubectl 1.32 asks for WebSocket v5; kube-apiserver turns it into SPDY toward the kubelet.
    out = kubectl(
        control_plane,
        "-n",
        ns,
        "exec",
        "web",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
        check=False,
    )
    assert "out" in out and "err" in out and "command terminated with exit code 3" in out
    assert (
        kubectl(control_plane, "-n", ns, "exec", "-i", "web", "--", "cat", stdin="piped\n").strip() == "piped"
    )


def test_the_python_clients_exec_and_logs_go_through_the_api_server(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient, ns: str
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, python_pod("py", SLEEPS))

    def logged() -> bool:
        try:
            return bool(core.read_namespaced_pod_log("py", ns) == "up\n")
        except ApiException as exc:
            if (exc.status == 400 and "waiting to start" in str(exc.body or "")) or exc.status == 404:
                return False  # not started yet, as a real kubelet answers (or not yet seen by our node)
            raise

    wait_for(logged, what="the pod's log")
    # The host's own exec path: the official client's WebSocket through kube-apiserver.
    result = run_exec(
        api_client.configuration,
        namespace=ns,
        name="py",
        container="app",
        command=["python", "-c", "import os, sys; print(os.environ['HOSTNAME']); sys.exit(4)"],
        timeout=30,
        stop=threading.Event(),
    )
    assert (result.stdout, result.exit_code) == (b"py\n", 4)
    with pytest.raises(client.ApiException) as refused:
        core.read_namespaced_pod_log("py", ns, container="nope")
    assert refused.value.status == 400
    assert "container nope is not valid for pod py" in refused.value.body


def test_a_failing_job_fails_with_the_real_job_controllers_backoff_limit(
    api_client: client.ApiClient, ns: str
) -> None:
    batch = client.BatchV1Api(api_client)
    template = python_pod("x", "import sys; print('bad input'); sys.exit(1)", restartPolicy="Never")
    batch.create_namespaced_job(
        ns,
        {
            "metadata": {"name": "migrate"},
            "spec": {"backoffLimit": 0, "template": {"spec": template["spec"]}},
        },
    )

    def failed() -> Any:
        job = batch.read_namespaced_job("migrate", ns)
        return next(
            (c for c in job.status.conditions or [] if c.type == "Failed" and c.status == "True"), None
        )

    condition = wait_for(failed, timeout=90, what="the Job to fail")
    assert condition.reason == "BackoffLimitExceeded"
    assert condition.message == "Job has reached the specified backoff limit"
    (pod,) = client.CoreV1Api(api_client).list_namespaced_pod(ns, label_selector="job-name=migrate").items
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 1


def test_a_memory_limit_is_a_real_kernel_oom_kill(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))"
    pod = python_pod(
        "hog", hog, restartPolicy="Never", container={"resources": {"limits": {"memory": "64Mi"}}}
    )
    core.create_namespaced_pod(ns, pod)
    read = lambda: core.read_namespaced_pod("hog", ns)  # noqa: E731
    found = wait_for(lambda: (p := read()).status.phase == "Failed" and p, timeout=60, what="the OOM kill")
    terminated = found.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)


def test_a_crash_loop_backs_off_and_keeps_its_previous_log(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient, ns: str
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(
        ns, python_pod("crash", "import sys, time\nprint('run', time.time())\nsys.exit(2)")
    )

    def looping() -> Any:
        statuses = core.read_namespaced_pod("crash", ns).status.container_statuses or []
        return statuses and statuses[0].restart_count >= 2 and statuses[0]

    state = wait_for(looping, timeout=60, what="restarts")
    assert state.last_state.terminated.exit_code == 2
    previous = kubectl(control_plane, "-n", ns, "logs", "crash", "--previous")
    assert previous.startswith("run ")
    reasons = [e.reason for e in core.list_namespaced_event(ns).items]
    assert "BackOff" in reasons and "Scheduled" in reasons


def test_an_image_change_restarts_the_container(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient, ns: str
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, python_pod("app", SLEEPS))
    wait_for(lambda: core.read_namespaced_pod_log("app", ns) == "up\n", what="the first container")
    kubectl(control_plane, "-n", ns, "set", "image", "pod/app", "app=python:3.13")

    def restarted() -> Any:
        (state,) = core.read_namespaced_pod("app", ns).status.container_statuses
        return state.restart_count == 1 and state.state.running and state.image == "python:3.13" and state

    wait_for(restarted, timeout=60, what="the restart with the new image")


def test_deleting_a_pod_stops_its_process_within_the_grace_period(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient, ns: str
) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, python_pod("bye", SLEEPS))
    pid = wait_for(lambda: control_plane.container_pids(ns, "bye").get("app"), what="the container process")
    began = time.monotonic()
    kubectl(control_plane, "-n", ns, "delete", "pod", "bye", "--wait=true", "--timeout=60s")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - began < 20


def test_the_node_lease_is_renewed_and_the_node_is_ready(
    control_plane: KubernetesControlPlane, api_client: client.ApiClient
) -> None:
    coordination = client.CoordinationV1Api(api_client)
    first = coordination.read_namespaced_lease("localnode", "kube-node-lease")
    assert first.spec.holder_identity == "localnode"
    wait_for(
        lambda: (
            coordination.read_namespaced_lease("localnode", "kube-node-lease").spec.renew_time
            > first.spec.renew_time
        ),
        timeout=30,
        what="a renewed Lease",
    )
    node = client.CoreV1Api(api_client).read_node("localnode")
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "True" and ready.reason == "KubeletReady"
    assert not node.spec.taints  # the node lifecycle controller sees it healthy
