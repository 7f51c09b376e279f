"""Fixtures: a fresh local cluster and a `KubeClient` for it (shared with tests/kube and tests/sources)."""

from __future__ import annotations

from tests.kube.support import cluster, kube

__all__ = ["cluster", "kube"]
