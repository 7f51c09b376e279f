"""Fixtures of the debug-backend tests: each runs on both control planes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from host.kube.client import KubeClient
from host.localcluster import LocalCluster
from tests.clusters import CONTROL_PLANES, open_cluster


@pytest.fixture(params=CONTROL_PLANES)
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[LocalCluster]:
    """The builtin stand-in, or the session's real control plane (real ephemeral-container validation)."""
    with open_cluster(request.param, request) as lc:
        yield lc


@pytest.fixture
async def kube(cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_config(cluster.kubeconfig_path)
    yield client
    client.close()
