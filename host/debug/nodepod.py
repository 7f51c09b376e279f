"""`NodePodBackend`: run a debug-agent action from a short-lived pod on the target's node.

For namespaces whose Pod Security level refuses the ephemeral container's SYS_PTRACE: the same
agent image runs in a pod of wfhost's own namespace (`debug.nodePod.namespace`, which the
operator labels `pod-security.kubernetes.io/enforce=privileged` or exempts), pinned to the
target's node with `nodeName`, with `hostPID` so it sees the node's processes, no service account
token, no service links, and only the capabilities the action needs: SYS_PTRACE (py-spy, gdb,
/proc/PID/root, /proc/PID/ns/net), and for the actions that talk to the target over its loopback
(`network`, `goprofile`, `nodeprofile`) SYS_ADMIN as well, for `setns(2)` into the pod's network
namespace, which the node pod is not in. The agent is told the target's pod UID and container ID
and acts on that container's processes only (`host.agent.containers`); pids in its answers are
the node's. `debugger` is refused: its port checks assume the agent shares the pod's network
namespace, which only the ephemeral container does.

One pod per action: created, awaited, exec'd into (`wfhost-agent ACTION ... --pod-uid U
--container-id ID`), and deleted in a `finally` that runs also on error and cancellation. An
`activeDeadlineSeconds` ends it anyway should the host die first, and the first action of a
backend deletes leftovers older than any action can run (found by label).
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from host.config import DebugConfig
from host.debug.agentcall import call_agent, read_pod, target_container, wait_running
from host.errors import DebugError, Forbidden, KubeError, NotFound
from host.kube.client import KubeClient

log = structlog.get_logger(__name__)

COMPONENT = "debug-node-pod"
SELECTOR = f"app.kubernetes.io/managed-by=wfhost,app.kubernetes.io/component={COMPONENT}"
TARGET_UID_LABEL = "wfhost.io/debug-target-uid"
AGENT = "agent"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# Actions that enter the target's network namespace (setns needs CAP_SYS_ADMIN).
NETWORK_ACTIONS = frozenset({"network", "goprofile", "nodeprofile"})
# Actions that must share the pod's network namespace for their whole run.
EPHEMERAL_ONLY = frozenset({"debugger"})


def own_namespace(config: DebugConfig) -> str:
    """Where node pods go: `debug.nodePod.namespace`, else the namespace the host runs in."""
    if config.node_pod.namespace:
        return config.node_pod.namespace
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DebugError("debug.nodePod.namespace is not set and the host does not run in a pod "
                         f"({SERVICE_ACCOUNT_NAMESPACE} unreadable: {exc})", code="config") from exc


def capabilities_for(action: str) -> list[str]:
    """The Linux capabilities one agent action needs from the node's PID namespace."""
    return ["SYS_PTRACE", "SYS_ADMIN"] if action in NETWORK_ACTIONS else ["SYS_PTRACE"]


def _age_seconds(pod: dict[str, Any]) -> float:
    stamp = str(pod.get("metadata", {}).get("creationTimestamp") or "")
    try:
        created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - created).total_seconds()


class NodePodBackend:
    def __init__(self, kube: KubeClient, config: DebugConfig) -> None:
        self.kube = kube
        self.config = config
        self.pods_created = 0
        self._collected = False

    async def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        return await read_pod(self.kube, namespace, name)

    def _deadline(self, timeout: float) -> int:
        return int(self.config.container_start_timeout_seconds + timeout + 60)

    def spec(self, pod: dict[str, Any], target: str, action: str, *, timeout: float) -> dict[str, Any]:
        """The node pod for one action against container `target` of `pod`."""
        meta = pod["metadata"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"wfhost-debug-{str(meta['name'])[:30].rstrip('-.')}-{secrets.token_hex(3)}",
                "labels": {
                    "app.kubernetes.io/managed-by": "wfhost",
                    "app.kubernetes.io/component": COMPONENT,
                    TARGET_UID_LABEL: str(meta["uid"]),
                },
                "annotations": {
                    "wfhost.io/debug-target": f"{meta['namespace']}/{meta['name']}",
                    "wfhost.io/debug-container": target,
                    "wfhost.io/debug-action": action,
                },
            },
            "spec": {
                "nodeName": pod["spec"]["nodeName"],
                "hostPID": True,
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "terminationGracePeriodSeconds": 0,
                "activeDeadlineSeconds": self._deadline(timeout),
                "tolerations": [{"operator": "Exists"}],  # wherever the target runs
                "containers": [{
                    "name": AGENT,
                    "image": self.config.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["wfhost-agent", "wait"],
                    "securityContext": {
                        "capabilities": {"add": capabilities_for(action), "drop": ["ALL"]},
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                    },
                }],
            },
        }

    async def collect_leftovers(self, namespace: str) -> int:
        """Delete node pods older than any action may run (a host that died mid-action left them)."""
        oldest = self._deadline(self.config.action_timeout_seconds)
        removed = 0
        for pod in await self.kube.list_pods(namespace, label_selector=SELECTOR):
            phase = pod.get("status", {}).get("phase")
            if phase in ("Succeeded", "Failed") or _age_seconds(pod) > oldest:
                await self._delete(namespace, str(pod["metadata"]["name"]))
                removed += 1
        if removed:
            log.info("debug.node_pods_collected", namespace=namespace, removed=removed)
        return removed

    async def _delete(self, namespace: str, name: str) -> None:
        try:
            await self.kube.delete_pod(namespace, name, grace_period_seconds=0)
        except NotFound:
            return
        except KubeError as exc:
            log.warning("debug.node_pod_not_deleted", pod=f"{namespace}/{name}", error=str(exc))

    async def _create(self, namespace: str, body: dict[str, Any]) -> str:
        name = str(body["metadata"]["name"])
        try:
            await self.kube.create_pod(namespace, body)
        except Forbidden as exc:
            raise DebugError(
                f"the cluster refused the debug node pod in {namespace}: {exc}. The host needs 'create' on pods "
                f"there, and the namespace must allow hostPID and SYS_PTRACE: label it "
                f"'pod-security.kubernetes.io/enforce=privileged' or exempt it", code="node_pod_forbidden") from exc
        except KubeError as exc:
            raise DebugError(f"cannot create the debug node pod in {namespace}: {exc}", code="kube_error") from exc
        self.pods_created += 1
        log.info("debug.node_pod_created", pod=f"{namespace}/{name}", node=body["spec"]["nodeName"],
                 capabilities=body["spec"]["containers"][0]["securityContext"]["capabilities"]["add"])
        return name

    async def _wait_running(self, namespace: str, name: str) -> None:
        async def state() -> dict[str, Any]:
            pod = await self._pod(namespace, name)
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            found = dict(statuses[0].get("state") or {})
            if "terminated" not in found and pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                found["terminated"] = {"reason": pod.get("status", {}).get("reason") or pod["status"]["phase"]}
            return found

        await wait_running(state, what=f"the debug node pod {namespace}/{name}", image=self.config.image,
                           timeout=self.config.container_start_timeout_seconds)

    async def run(self, namespace: str, name: str, container: str | None, args: list[str],
                  *, timeout: float | None = None) -> dict[str, Any]:
        """Run `wfhost-agent ARGS...` from a node pod against the container; return its `result`."""
        if args[0] in EPHEMERAL_ONLY:
            raise DebugError(f"{args[0]} cannot run from a node pod: it listens and checks its port in the pod's "
                             "network namespace, which only the ephemeral container shares", code="unsupported_mechanism")
        home = own_namespace(self.config)
        if not self._collected:
            self._collected = True
            await self.collect_leftovers(home)
        pod = await self._pod(namespace, name)
        target = target_container(pod, container)
        status: dict[str, Any] = next((s for s in pod.get("status", {}).get("containerStatuses") or [] if s.get("name") == target), {})
        container_id = status.get("containerID")
        if "running" not in (status.get("state") or {}) or not container_id:
            raise DebugError(f"container {target} of pod {namespace}/{name} is not running", code="not_running")
        if not pod.get("spec", {}).get("nodeName"):
            raise DebugError(f"pod {namespace}/{name} is not on a node yet", code="not_running")
        limit = timeout or self.config.action_timeout_seconds
        body = self.spec(pod, target, args[0], timeout=limit)
        agent = await self._create(home, body)
        try:
            await self._wait_running(home, agent)
            result = await call_agent(
                self.kube, namespace=home, pod=agent, container=AGENT,
                args=[*args, "--pod-uid", str(pod["metadata"]["uid"]), "--container-id", str(container_id)],
                timeout=limit, target=f"{namespace}/{name}", check_target=lambda: self._pod(namespace, name),
            )
        finally:
            # Shielded: a cancelled action still removes its pod.
            await asyncio.shield(self._delete(home, agent))
            log.info("debug.node_pod_deleted", pod=f"{home}/{agent}")
        return {**result, "mechanism": {"name": "nodePod", "pod": f"{home}/{agent}", "node": body["spec"]["nodeName"]}}
