"""Build the router with every capability this host can serve (k8s and debug only when configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.capabilities import findings
from host.capabilities.router import CapabilityRouter

if TYPE_CHECKING:
    from host.debug.mechanism import ActionRunner
    from host.kube.client import KubeClient


def build_router(
    *, kube: KubeClient | None = None, debug: ActionRunner | None = None, dedupe_seconds: float = 900.0
) -> CapabilityRouter:
    router = CapabilityRouter()
    findings.register(router, dedupe_seconds=dedupe_seconds)
    if kube is not None:
        from host.capabilities import k8s_read

        k8s_read.register(router, kube)
    if debug is not None:
        from host.capabilities import debug_actions

        debug_actions.register(router, debug)
    return router
