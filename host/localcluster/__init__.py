"""A local Kubernetes API server with a fake kubelet, for tests, the demo, and workflow authors.

It speaks the real REST and watch protocol (pods, pods/status, pods/log, pods/exec,
pods/ephemeralcontainers, namespaces, nodes, core/v1 events, coordination.k8s.io/v1 leases), so
the official `kubernetes` client and kubectl-style tools work against it unmodified through an
ordinary kubeconfig. Its kubelet runs every container's command as a local process.

Usage::

    from host.localcluster import LocalCluster, LocalClusterSettings

    with LocalCluster(LocalClusterSettings.for_tests()) as lc:   # background thread, free port
        api = lc.core_v1()                                     # kubernetes.client.CoreV1Api
        api.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "app", "image": "python:3.11", "command": ["python", "-c", "print('hi')"]}]}})
        lc.kubeconfig_path                                     # for KUBECONFIG / --kubeconfig
        lc.drop_watches(); lc.compact(); lc.send_bookmarks(); lc.throttle_next(3, retry_after=1)
        lc.set_history_window(100); lc.set_ephemeral_containers_allowed(False)
        lc.open_watches(); lc.resource_version(); lc.container_pids("default", "p")
        lc.stop(); lc.start()                                  # an API server restart: same port and objects

    async with LocalCluster() as lc:                           # same, from async code
        ...

Leaving the `with` block (or `close()`) stops the server, kills every process its kubelet
started, closes the clients it handed out and removes the kubeconfig. `LocalClusterSettings`
holds the knobs; `LocalClusterSettings.for_tests()` makes the kubelet's back-offs sub-second.
`host.localcluster.testing` has polling and pod-manifest helpers and a threaded watch recorder.

Inside an event loop you already run, use `ClusterServer` (`await server.start()`,
`await server.stop()`, `server.url`). `wfhost localcluster --port P --kubeconfig-out PATH` runs
one standalone. What is and is not supported: docs/localcluster.md.
"""

from __future__ import annotations

from host.localcluster.harness import LocalCluster
from host.localcluster.server import ClusterServer
from host.localcluster.settings import LocalClusterSettings

__all__ = ["ClusterServer", "LocalCluster", "LocalClusterSettings"]
