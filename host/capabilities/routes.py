"""Build the router with every capability this host can serve (k8s and debug only when configured)."""

from __future__ import annotations

from host.capabilities import findings
from host.capabilities.router import CapabilityRouter


def build_router() -> CapabilityRouter:
    router = CapabilityRouter()
    findings.register(router)
    return router
