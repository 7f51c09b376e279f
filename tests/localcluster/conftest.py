"""Fixtures: a local cluster per test (API server only, or with the kubelet) and clients bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from host.localcluster import LocalCluster, LocalClusterSettings


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """An API server without a kubelet: pods stay unscheduled and statuses are whatever tests write."""
    with LocalCluster(LocalClusterSettings.for_tests(), kubelet=False) as lc:
        yield lc


@pytest.fixture
def node() -> Iterator[LocalCluster]:
    """An API server with the kubelet: pods run as local processes."""
    with LocalCluster(LocalClusterSettings.for_tests(), kubelet=True) as lc:
        yield lc


@pytest.fixture
def api(cluster: LocalCluster) -> Any:
    return cluster.core_v1()


@pytest.fixture
def node_api(node: LocalCluster) -> Any:
    return node.core_v1()
