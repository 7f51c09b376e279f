"""Helpers shared by the kube and sources tests: a local cluster, clients, pod factories, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from host.kube.client import KubeClient
from host.localcluster import LocalCluster, LocalClusterSettings


def local_cluster(*, kubelet: bool = False, **settings: object) -> LocalCluster:
    return LocalCluster(LocalClusterSettings.for_tests(**settings), kubelet=kubelet)


def pod_manifest(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    command: list[str] | None = None,
    image: str = "registry.local/app:1",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": image}
    if command is not None:
        container["command"] = command
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 0},
    }


def ensure_namespace(api: Any, name: str) -> None:
    api.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def eventually(check: Callable[[], bool], *, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `check` until it holds; fail after a generous timeout (the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """A fresh local cluster (no kubelet unless a test asks)."""
    with local_cluster() as lc:
        yield lc


@pytest.fixture
async def kube(cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    """A `KubeClient` for `cluster`."""
    client = KubeClient.from_config(cluster.kubeconfig_path)
    yield client
    client.close()
