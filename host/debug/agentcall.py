"""What both mechanisms share: which container of the pod is the target, the wait for the agent's
container to run, and one `wfhost-agent` run through `pods/exec` whose single JSON reply becomes
the action's result or a `DebugError`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from host.errors import DebugError, Forbidden, KubeError, NotFound
from host.kube.client import KubeClient

log = structlog.get_logger(__name__)


async def read_pod(kube: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    """The pod as the API server has it now; `pod_gone` when it is not there, `kube_error` else."""
    try:
        return await kube.get_pod(namespace, name)
    except NotFound as exc:
        raise DebugError(f"pod {namespace}/{name} is gone", code="pod_gone") from exc
    except KubeError as exc:
        raise DebugError(f"cannot read pod {namespace}/{name}: {exc}", code="kube_error") from exc


PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName"})


async def wait_running(
    read_state: Callable[[], Awaitable[dict[str, Any]]], *, what: str, image: str, timeout: float
) -> None:
    """Poll `read_state` (the agent container's `state`, from the pod's status) until it runs.

    Raises `image_pull` when the image cannot be pulled, `debug_container_exited` when the
    container ended first, `timeout` past `timeout` seconds; `what` names the container."""
    deadline = time.monotonic() + timeout
    while True:
        state = await read_state()
        if "running" in state:
            return
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason")
        if reason in PULL_FAILURES:
            raise DebugError(f"cannot pull the debug image {image}: {reason}: {waiting.get('message', '')}".strip(),
                             code="image_pull", details={"reason": reason})
        if "terminated" in state:
            term = state["terminated"] or {}
            raise DebugError(f"{what} ended before the action ({term.get('reason')}, code {term.get('exitCode')})",
                             code="debug_container_exited")
        if time.monotonic() > deadline:
            raise DebugError(f"{what} did not start within {timeout:g}s", code="timeout")
        await asyncio.sleep(0.2)


def target_container(pod: dict[str, Any], container: str | None) -> str:
    """The named container of the pod, or its first; `bad_target` when it has no such container."""
    names = [c.get("name") for c in pod.get("spec", {}).get("containers") or []]
    if container is None:
        if not names:
            raise DebugError("the pod has no containers", code="bad_target")
        return str(names[0])
    if container not in names:
        raise DebugError(f"the pod has no container {container!r} (it has {', '.join(map(str, names))})",
                         code="bad_target")
    return container


async def call_agent(
    kube: KubeClient, *, namespace: str, pod: str, container: str, args: list[str], timeout: float,
    target: str, check_target: Callable[[], Awaitable[object]],
) -> dict[str, Any]:
    """Run `wfhost-agent ARGS...` in `namespace/pod` container `container`; return its `result`.

    `target` names the pod debugged, for messages; `check_target` raises `pod_gone` when the
    debugged pod is why the exec or the reply failed."""
    began = time.monotonic()
    try:
        res = await kube.exec(namespace, pod, container, ["wfhost-agent", *args], timeout=timeout)
    except KubeError as exc:
        await check_target()
        if exc.reason == "ExecTimeout":
            raise DebugError(f"{args[0]} did not finish within {timeout:g}s", code="timeout") from exc
        if isinstance(exc, Forbidden):
            raise DebugError(f"the cluster refuses the debug agent's exec in {namespace}/{pod} (RBAC: the "
                             f"host needs 'get' and 'create' on pods/exec there): {exc}", code="exec_forbidden") from exc
        raise DebugError(f"cannot run the debug agent in {namespace}/{pod}: {exc}", code="kube_error") from exc
    try:
        reply = json.loads(res.stdout)
    except ValueError as exc:
        await check_target()
        tail = res.stderr.decode(errors="replace").strip()[-800:]
        raise DebugError(f"the debug agent gave no JSON answer (exit {res.exit_code}): {tail or 'no output'}",
                         code="agent_failed") from exc
    log.info("debug.action_done", pod=target, agent=f"{namespace}/{pod}/{container}", action=args[0],
             ok=reply.get("ok"), seconds=round(time.monotonic() - began, 3))
    if not reply.get("ok"):
        err = reply.get("error") or {}
        raise DebugError(str(err.get("message") or "the debug agent failed"), code=str(err.get("code") or "agent_failed"),
                         details=err.get("details") or {})
    result = reply.get("result")
    if not isinstance(result, dict):
        raise DebugError("the debug agent answered without a result", code="agent_failed")
    return result
