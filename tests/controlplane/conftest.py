"""One real control plane (etcd, kube-apiserver, controller-manager, scheduler) per test session.

These tests never skip: when Go is missing or the control plane does not come up, they fail
with the reason, in CI as anywhere (the README's test command runs them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from host.localcluster.controlplane.cluster import KubernetesControlPlane


@pytest.fixture
def api_client(control_plane: KubernetesControlPlane) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(control_plane.kubeconfig_path))
    try:
        yield api
    finally:
        api.close()
