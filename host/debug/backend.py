"""`DebugBackend`: run a debug-agent action against a container of a live pod, from an ephemeral
container in it (`debug.mechanism: ephemeralContainer`, and `auto` first; `mechanism.py` chooses).

Ephemeral containers can never be removed from a pod, so the backend adds at most one per target
container and reuses it: a long-lived `wfhost-agent wait` reached through `pods/exec`. Only when
that container has ended (it cannot be restarted) may another be added, and never more than
`debug.maxEphemeralContainersPerPod` in one pod. The container gets exactly one added Linux
capability, SYS_PTRACE, which py-spy, gdb (memray, debugpy) need to attach to the target.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from host.config import DebugConfig
from host.debug.agentcall import call_agent, read_pod, target_container, wait_running
from host.debug.podsecurity import refusal_message, rejection
from host.errors import DebugError, Forbidden, KubeError, NotFound
from host.kube.client import KubeClient

log = structlog.get_logger(__name__)

PREFIX = "wfhost-debug"
MANAGED_BY = "wfhost"


def _ours(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in pod.get("spec", {}).get("ephemeralContainers") or [] if str(c.get("name", "")).startswith(PREFIX)]


def _status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for st in pod.get("status", {}).get("ephemeralContainerStatuses") or []:
        if st.get("name") == name:
            return dict(st)
    return {}


class DebugBackend:
    def __init__(self, kube: KubeClient, config: DebugConfig) -> None:
        self.kube = kube
        self.config = config
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.containers_added = 0

    async def close(self) -> None:
        self._locks.clear()

    # -- the debug container ----------------------------------------------------------------
    async def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        return await read_pod(self.kube, namespace, name)

    async def ensure_container(self, namespace: str, name: str, container: str | None) -> tuple[str, str]:
        """The running debug container for this target container: (target container, debug container)."""
        pod = await self._pod(namespace, name)
        target = target_container(pod, container)
        key = (namespace, name, target)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            pod = await self._pod(namespace, name)
            mine = [c for c in _ours(pod) if c.get("targetContainerName") == target]
            for c in reversed(mine):
                state = _status(pod, str(c["name"])).get("state") or {}
                if "terminated" not in state:
                    debug_name = str(c["name"])
                    break
            else:
                debug_name = await self._add(pod, namespace, name, target)
            await self._wait_running(namespace, name, debug_name)
            return target, debug_name

    async def _add(self, pod: dict[str, Any], namespace: str, name: str, target: str) -> str:
        existing = _ours(pod)
        if len(existing) >= self.config.max_ephemeral_containers_per_pod:
            raise DebugError(
                f"pod {namespace}/{name} already has {len(existing)} wfhost debug containers, the limit set by "
                "debug.maxEphemeralContainersPerPod; ephemeral containers cannot be removed, so recreate the pod "
                "or raise the limit", code="limit_reached")
        index = len([c for c in existing if c.get("targetContainerName") == target])
        debug_name = f"{PREFIX}-{target}"[:60] + (f"-{index}" if index else "")
        spec = {
            "name": debug_name,
            "image": self.config.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["wfhost-agent", "wait"],
            "targetContainerName": target,
            "stdin": False,
            "tty": False,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "securityContext": {
                "capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]},
                "allowPrivilegeEscalation": False,
                "privileged": False,
            },
        }
        current = list(pod.get("spec", {}).get("ephemeralContainers") or [])
        try:
            await self.kube.patch_pod_ephemeral_containers(namespace, name, [*current, spec])
        except Forbidden as exc:
            refused = rejection(exc)
            if refused is not None:
                raise DebugError(refusal_message(namespace, name, refused.message), code="pod_security",
                                 details={"level": refused.level, "version": refused.version}) from exc
            raise DebugError(f"the cluster forbids adding ephemeral containers to {namespace}/{name} (RBAC: the "
                             f"host needs 'patch' on pods/ephemeralcontainers there): {exc}",
                             code="ephemeral_forbidden") from exc
        except NotFound as exc:
            raise DebugError(f"pod {namespace}/{name} is gone", code="pod_gone") from exc
        except KubeError as exc:
            if exc.status == 422:
                raise DebugError(f"the cluster refused the debug container for {namespace}/{name}: {exc}",
                                 code="ephemeral_forbidden") from exc
            raise DebugError(f"cannot add a debug container to {namespace}/{name}: {exc}", code="kube_error") from exc
        self.containers_added += 1
        log.info("debug.container_added", pod=f"{namespace}/{name}", target=target, container=debug_name,
                 image=self.config.image)
        return debug_name

    async def _wait_running(self, namespace: str, name: str, debug_name: str) -> None:
        async def state() -> dict[str, Any]:
            return dict(_status(await self._pod(namespace, name), debug_name).get("state") or {})

        await wait_running(state, what=f"the debug container {debug_name}", image=self.config.image,
                           timeout=self.config.container_start_timeout_seconds)

    # -- actions ----------------------------------------------------------------------------
    async def run(self, namespace: str, name: str, container: str | None, args: list[str],
                  *, timeout: float | None = None) -> dict[str, Any]:
        """Run `wfhost-agent ARGS...` in the debug container; return its `result` or raise DebugError."""
        _, debug_name = await self.ensure_container(namespace, name, container)
        return await call_agent(
            self.kube, namespace=namespace, pod=name, container=debug_name, args=args,
            timeout=timeout or self.config.action_timeout_seconds, target=f"{namespace}/{name}",
            check_target=lambda: self._pod(namespace, name),
        )
