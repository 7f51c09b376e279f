"""Fixtures: a fresh local cluster (no kubelet unless a test asks) and a `KubeClient` for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from tests.kube.support import local_cluster


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with local_cluster() as lc:
        yield lc


@pytest.fixture
async def kube(cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_config(cluster.kubeconfig_path)
    yield client
    client.close()
