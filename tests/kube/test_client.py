"""`KubeClient` against the local cluster over HTTP: raw dicts out, errors translated into host.errors."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import AsyncIterator

import kubernetes.client
import pytest

from host.errors import Conflict, Forbidden, KubeError, NotFound, Throttled
from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from tests.kube.support import eventually, local_cluster, pod_manifest

LEASE = {
    "apiVersion": "coordination.k8s.io/v1",
    "kind": "Lease",
    "metadata": {"name": "test-lease"},
    "spec": {"holderIdentity": "a", "leaseDurationSeconds": 10},
}


async def test_get_pod_returns_the_raw_camel_case_object(cluster: LocalCluster, kube: KubeClient) -> None:
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("web-1", labels={"app": "web"}))

    pod = await kube.get_pod("default", "web-1")

    assert isinstance(pod, dict)
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert pod["spec"]["terminationGracePeriodSeconds"] == 0
    assert pod["metadata"]["resourceVersion"].isdigit()


async def test_list_pods_applies_label_selector_across_namespaces(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    api = cluster.core_v1()
    api.create_namespace({"metadata": {"name": "shop"}})
    api.create_namespaced_pod("default", pod_manifest("a", labels={"tier": "front"}))
    api.create_namespaced_pod("shop", pod_manifest("b", labels={"tier": "front"}))
    api.create_namespaced_pod("shop", pod_manifest("c", labels={"tier": "back"}))

    front = await kube.list_pods(None, label_selector="tier=front")
    in_shop = await kube.list_pods("shop")

    assert sorted(p["metadata"]["name"] for p in front) == ["a", "b"]
    assert sorted(p["metadata"]["name"] for p in in_shop) == ["b", "c"]


async def test_missing_pod_raises_not_found_with_the_servers_message(kube: KubeClient) -> None:
    with pytest.raises(NotFound) as caught:
        await kube.get_pod("default", "nope")

    assert caught.value.status == 404
    assert "nope" in str(caught.value)
    assert "get pod default/nope" in str(caught.value)


async def test_creating_a_lease_twice_raises_conflict(kube: KubeClient) -> None:
    await kube.create_lease("default", LEASE)

    with pytest.raises(Conflict) as caught:
        await kube.create_lease("default", LEASE)

    assert caught.value.status == 409


async def test_replacing_a_lease_with_a_stale_resource_version_raises_conflict(kube: KubeClient) -> None:
    created = await kube.create_lease("default", LEASE)
    stale = {**created, "spec": {**created["spec"], "holderIdentity": "b"}}
    updated = await kube.replace_lease("default", "test-lease", stale)
    assert updated["spec"]["holderIdentity"] == "b"

    with pytest.raises(Conflict):
        await kube.replace_lease("default", "test-lease", {**stale, "spec": {"holderIdentity": "c"}})

    assert (await kube.get_lease("default", "test-lease"))["spec"]["holderIdentity"] == "b"


async def test_throttled_request_raises_throttled_with_retry_after(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    cluster.throttle_next(1, retry_after=7)

    with pytest.raises(Throttled) as caught:
        await kube.list_pods(None)

    assert caught.value.status == 429
    assert caught.value.retry_after == 7
    assert await kube.list_pods(None) == []  # only the next request was throttled


async def test_refused_ephemeral_containers_raise_forbidden(cluster: LocalCluster, kube: KubeClient) -> None:
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("web-1"))
    cluster.set_ephemeral_containers_allowed(False)

    with pytest.raises(Forbidden) as caught:
        await kube.patch_pod_ephemeral_containers("default", "web-1", [{"name": "dbg", "image": "debug:1"}])

    assert caught.value.status == 403


async def test_patch_ephemeral_containers_adds_to_the_pod_spec(
    cluster: LocalCluster, kube: KubeClient
) -> None:
    cluster.core_v1().create_namespaced_pod("default", pod_manifest("web-1"))

    patched = await kube.patch_pod_ephemeral_containers(
        "default", "web-1", [{"name": "dbg", "image": "debug:1", "targetContainerName": "app"}]
    )

    assert [c["name"] for c in patched["spec"]["ephemeralContainers"]] == ["dbg"]


async def test_list_events_filters_with_field_selector(cluster: LocalCluster, kube: KubeClient) -> None:
    api = cluster.core_v1()
    for name, kind in (("e1", "Warning"), ("e2", "Normal")):
        api.create_namespaced_event(
            "default",
            {
                "metadata": {"name": name},
                "type": kind,
                "reason": "Test",
                "message": name,
                "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
            },
        )

    warnings = await kube.list_events("default", field_selector="type=Warning")

    assert [e["metadata"]["name"] for e in warnings] == ["e1"]


async def test_unreachable_server_raises_kube_error_without_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = kubernetes.client.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.retries = 0
    client = KubeClient(kubernetes.client.ApiClient(configuration))
    try:
        with pytest.raises(KubeError) as caught:
            await client.get_pod("default", "x")
    finally:
        client.close()

    assert caught.value.status is None
    assert caught.value.reason == "ConnectionError"


# -- with a kubelet: logs and exec run real processes -----------------------------------------


@pytest.fixture
async def running(tmp_path: object) -> AsyncIterator[tuple[LocalCluster, KubeClient]]:
    with local_cluster(kubelet=True) as lc:
        client = KubeClient.from_config(lc.kubeconfig_path)
        api = lc.core_v1()
        script = "import sys, time\nprint('line one'); print('line two', flush=True)\ntime.sleep(120)"
        api.create_namespaced_pod("default", pod_manifest("app-1", command=[sys.executable, "-c", script]))

        def is_running() -> bool:
            statuses = api.read_namespaced_pod("app-1", "default").status.container_statuses or []
            return bool(statuses) and statuses[0].state.running is not None

        await eventually(is_running, what="the container to run")
        try:
            yield lc, client
        finally:
            client.close()


async def test_pod_logs_return_the_container_output(running: tuple[LocalCluster, KubeClient]) -> None:
    _, kube = running
    await eventually(lambda: True)

    deadline = time.monotonic() + 20
    text = ""
    while "line two" not in text and time.monotonic() < deadline:
        text = await kube.pod_logs("default", "app-1", container="app")
    last = await kube.pod_logs("default", "app-1", tail_lines=1)

    assert text.splitlines()[:2] == ["line one", "line two"]
    assert last.strip() == "line two"


async def test_exec_returns_stdout_stderr_and_exit_code(running: tuple[LocalCluster, KubeClient]) -> None:
    _, kube = running

    result = await kube.exec(
        "default", "app-1", "app", ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30
    )

    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.exit_code == 3


async def test_exec_gives_up_at_its_timeout(running: tuple[LocalCluster, KubeClient]) -> None:
    _, kube = running
    started = time.monotonic()

    with pytest.raises(KubeError) as caught:
        await kube.exec("default", "app-1", "app", ["sleep", "30"], timeout=0.5)

    assert caught.value.reason == "ExecTimeout"
    assert time.monotonic() - started < 10
