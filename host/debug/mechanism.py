"""`Debugger`: run a debug action by the mechanism `debug.mechanism` names.

- `ephemeralContainer` (the default): an ephemeral container in the target pod (`backend.py`).
  Where Pod Security refuses it, the error (`pod_security`) names the rejection and what an
  operator can do.
- `nodePod`: always a short-lived pod on the target's node (`nodepod.py`).
- `auto`: the ephemeral container, and the node pod only when Pod Security rejected it (no other
  error falls back). The result then carries `mechanism.note`, which the debug capability hands
  to the invocation so its findings say how the agent reached the pod. A namespace whose Pod
  Security refused the container is remembered for `REFUSAL_MEMORY_SECONDS`: its next actions go
  to the node pod at once instead of paying a refused patch each (a relabelled namespace is
  tried again after that).
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from host.config import DebugConfig
from host.debug.backend import DebugBackend
from host.debug.nodepod import NodePodBackend, own_namespace
from host.errors import DebugError
from host.expiring import ExpiringCache
from host.kube.client import KubeClient

log = structlog.get_logger(__name__)

REFUSAL_MEMORY_SECONDS = 300.0


class ActionRunner(Protocol):
    """What the debug capability calls: one agent action against a container of a pod."""

    async def run(self, namespace: str, name: str, container: str | None, args: list[str],
                  *, timeout: float | None = None) -> dict[str, Any]: ...


def fallback_note(namespace: str, level: str, node_namespace: str, node: str) -> str:
    return (f"Pod Security ({level}) in namespace {namespace} rejected the debug container; the agent ran "
            f"from a node pod in namespace {node_namespace} on node {node} instead.")


class Debugger:
    def __init__(self, kube: KubeClient, config: DebugConfig) -> None:
        self.config = config
        self.mechanism = config.mechanism
        self.ephemeral = DebugBackend(kube, config)
        self.node_pods = NodePodBackend(kube, config)
        self.fallbacks = 0  # actions `auto` ran from a node pod
        self.ephemeral_refusals = 0  # times Pod Security refused the ephemeral container
        # namespace -> the Pod Security level that refused the container there lately
        self._refused: ExpiringCache[str, str] = ExpiringCache(seconds=REFUSAL_MEMORY_SECONDS, entries=10_000)

    async def close(self) -> None:
        await self.ephemeral.close()

    async def run(self, namespace: str, name: str, container: str | None, args: list[str],
                  *, timeout: float | None = None) -> dict[str, Any]:
        """The action's result; with `auto` after a Pod Security rejection, `mechanism.note` says so."""
        if self.mechanism == "nodePod":
            return await self.node_pods.run(namespace, name, container, args, timeout=timeout)
        level = self._refused.get(namespace) if self.mechanism == "auto" else None
        if level is None:
            try:
                return await self.ephemeral.run(namespace, name, container, args, timeout=timeout)
            except DebugError as exc:
                if self.mechanism != "auto" or exc.code != "pod_security":
                    raise
                level = str(exc.details.get("level") or "?")
                self.ephemeral_refusals += 1
                self._refused.put(namespace, level)
        log.info("debug.fell_back_to_node_pod", pod=f"{namespace}/{name}", level=level, action=args[0])
        self.fallbacks += 1
        result = await self.node_pods.run(namespace, name, container, args, timeout=timeout)
        node = str(result["mechanism"]["node"])
        note = fallback_note(namespace, level, own_namespace(self.config), node)
        return {**result, "mechanism": {**result["mechanism"], "fellBackFrom": "ephemeralContainer", "note": note}}
