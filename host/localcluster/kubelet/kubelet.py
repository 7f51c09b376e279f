"""The node agent: a kubelet that runs the pods bound to its node as local processes.

It talks to its control plane only through a `NodeApi`: the builtin stand-in's registry
(`local_api`) or any API server over HTTPS (`remote_api`). It registers its Node, renews the
node Lease in `kube-node-lease` and the Ready condition every `node_heartbeat_seconds`, and
follows pod changes. Where no scheduler runs (the stand-in), an unbound pod whose schedulerName
is `default-scheduler` is bound to this node (PodScheduled, a `Scheduled` Event); a pod bound
to this node gets a `PodWorker`. Pods bound to another node, or using another scheduler, are left alone, so a
test can drive their status by hand. Deleting a pod gracefully (the API server sets
deletionTimestamp) makes the kubelet stop the containers and then remove the pod; a pod removed
outright has its processes killed at once. Shutdown stops every process it started.
"""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from host.localcluster import objects, status
from host.localcluster.kubelet.cgroups import Cgroups
from host.localcluster.kubelet.container import Running
from host.localcluster.kubelet.events import NORMAL, WARNING, EventRecorder
from host.localcluster.kubelet.logs import ContainerLog
from host.localcluster.kubelet.node_api import NodeApi
from host.localcluster.kubelet.status import NODE_IP, TERMINAL
from host.localcluster.kubelet.worker import NodeContext, PodWorker
from host.localcluster.settings import LocalClusterSettings
from host.localcluster.store import Key, Stored

log = structlog.get_logger(__name__)

_SHUTDOWN_GRACE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ExecTarget:
    """Where `pods/exec` runs a command: the container's environment and working directory."""

    env: dict[str, str]
    cwd: str


def unpullable_reason(image: str, registries: list[str]) -> str | None:
    """Why `image` cannot be pulled, or None: its registry host is listed or under `.invalid`."""
    first, _, rest = image.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        return None
    host = first.split(":", 1)[0]
    if host in registries or host.endswith(".invalid"):
        reference = image.split("@")[0]
        return (
            f'failed to resolve reference "{reference}": failed to do request: '
            f'Head "https://{first}/v2/{rest.split(":")[0].split("@")[0]}/manifests/latest": '
            f"dial tcp: lookup {host}: no such host"
        )
    return None


def _cgroups(settings: LocalClusterSettings) -> Cgroups | None:
    if not settings.enforce_resource_limits:
        return None
    cgroups = Cgroups(settings.node_name)
    if not cgroups.available():
        log.info("kubelet.limits_not_enforced", reason="no writable cgroup v1 memory and cpu controllers")
        return None
    return cgroups


class Kubelet:
    def __init__(
        self, api: NodeApi, settings: LocalClusterSettings, log_root: Path, *, port: int = 0
    ) -> None:
        """`port` is where the kubelet's HTTPS API is served (the Node's daemon endpoint), 0 for none."""
        self._api = api
        self._settings = settings
        self._port = port
        self.node_name = settings.node_name
        self._recorder = EventRecorder(api, node_name=settings.node_name)
        self._context = NodeContext(
            api=api,
            recorder=self._recorder,
            settings=settings,
            log_root=log_root,
            unpullable=lambda image: unpullable_reason(image, settings.unpullable_registries),
            cgroups=_cgroups(settings),
        )
        self.workers: dict[Key, PodWorker] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self.running = False

    @property
    def limits_enforced(self) -> bool:
        """Whether container memory and cpu limits are enforced by the kernel on this machine."""
        return self._context.cgroups is not None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._api.register_node(self._node_object())
        self.running = True
        await self._api.start(self._reconcile)
        self._beat()
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name=f"node {self.node_name} heartbeat")
        for key in self._api.pod_keys():
            self._reconcile(key)

    async def stop(self) -> None:
        """Stop every container of every pod; no process started by the kubelet survives this."""
        self.running = False
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        grace = self._settings.grace_seconds(_SHUTDOWN_GRACE_SECONDS)
        workers = list(self.workers.values())
        self.workers.clear()
        if workers:
            await asyncio.gather(*(worker.terminate(grace, final=False) for worker in workers))
        background = list(self._background)
        if background:
            await asyncio.wait(background, timeout=grace + 5)
        for task in background:
            task.cancel()
        await self._api.stop()

    # -- the node --------------------------------------------------------------------------

    def _ready_conditions(self, stamp: str) -> list[dict[str, Any]]:
        def condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
            return {
                "type": kind,
                "status": "True" if ok else "False",
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
            }

        return [
            condition(
                "MemoryPressure",
                False,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition("DiskPressure", False, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition(
                "PIDPressure", False, "KubeletHasSufficientPID", "kubelet has sufficient PID available"
            ),
            condition("Ready", True, "KubeletReady", "kubelet is posting ready status"),
        ]

    def _node_object(self) -> dict[str, Any]:
        stamp = objects.now()
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
            "spec": {},
            "status": {
                "conditions": self._ready_conditions(stamp),
                "addresses": [
                    {"type": "InternalIP", "address": NODE_IP},
                    {"type": "Hostname", "address": self.node_name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self._port}},
                "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                "nodeInfo": {
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kernelVersion": platform.release(),
                    "osImage": "wfhost local cluster",
                    "containerRuntimeVersion": "local://0.1",
                    "kubeletVersion": "v1.37.0-localcluster",
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }

    def _beat(self) -> None:
        stamp = objects.now()
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.node_name, "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": self.node_name,
                "leaseDurationSeconds": 40,
                "renewTime": objects.now_micro(),
            },
        }
        self._api.heartbeat(self.node_name, lease, self._ready_conditions(stamp))

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.node_heartbeat_seconds)
            self._beat()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("kubelet.task_failed", exc_info=task.exception())

    # -- reacting to pods ------------------------------------------------------------------

    def _reconcile(self, key: Key) -> None:
        if not self.running:
            return
        stored = self._api.pod(key)
        worker = self.workers.get(key)
        if worker is not None and (stored is None or stored.uid != worker.uid):
            del self.workers[key]
            worker.kill()
            self._spawn(worker.terminate(0))
            worker = None
        if stored is None:
            return
        pod = stored.obj
        spec = pod.get("spec", {})
        meta = pod.get("metadata", {})
        node = spec.get("nodeName")
        if not node:
            if (
                self._api.schedules
                and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
                and not meta.get("deletionTimestamp")
            ):
                self._bind(key, stored)
            return
        if node != self.node_name:
            return
        if worker is None:
            if meta.get("deletionTimestamp"):
                self._api.finish_pod_deletion(key, stored.uid)
                return
            if pod.get("status", {}).get("phase") in TERMINAL:
                return
            worker = PodWorker(self._context, stored)
            self.workers[key] = worker
            worker.start()
            return
        worker.sync(stored)
        if meta.get("deletionTimestamp") and not worker.terminating:
            grace = self._settings.grace_seconds(float(meta.get("deletionGracePeriodSeconds") or 0))
            self._spawn(self._terminate_and_delete(worker, grace))

    async def _terminate_and_delete(self, worker: PodWorker, grace: float) -> None:
        await worker.terminate(grace)
        self._api.finish_pod_deletion(worker.key, worker.uid)

    def _bind(self, key: Key, stored: Stored) -> None:
        answer = self._api.bind_pod(key, stored, self.node_name)
        if answer is None:
            return
        if answer.obj.get("spec", {}).get("nodeName"):
            type_, reason = NORMAL, "Scheduled"
            message = f"Successfully assigned {key[0]}/{key[1]} to {self.node_name}"
        else:
            scheduled = [c for c in answer.obj["status"]["conditions"] if c.get("type") == "PodScheduled"]
            type_, reason, message = WARNING, "FailedScheduling", str(scheduled[0].get("message"))
        self._recorder.record(answer.obj, type_, reason, message, component="default-scheduler")

    # -- serving logs and exec -------------------------------------------------------------

    def _worker_for(self, pod: Stored) -> PodWorker:
        meta = pod.obj["metadata"]
        worker = self.workers.get((meta["namespace"], meta["name"]))
        if worker is None or worker.uid != pod.uid:
            node = pod.obj.get("spec", {}).get("nodeName")
            if not node:
                raise status.bad_request(f"pod {meta['name']} does not have a host assigned")
            raise status.bad_request(
                f'pod {meta["name"]} is not running on the local node "{self.node_name}" (bound to "{node}")'
            )
        return worker

    def _pick(self, pod: Stored, worker: PodWorker, container: str | None) -> str:
        name = str(pod.obj["metadata"]["name"])
        if container:
            if worker.find(container) is None:
                raise status.bad_request(f"container {container} is not valid for pod {name}")
            return container
        if len(worker.containers) == 1:
            return next(iter(worker.containers))
        choices = " ".join(worker.containers)
        message = f"a container name must be specified for pod {name}, choose one of: [{choices}]"
        if worker.ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(worker.ephemeral)}]"
        raise status.bad_request(message)

    def container_log(self, pod: Stored, container: str | None, *, previous: bool) -> ContainerLog:
        worker = self._worker_for(pod)
        name = self._pick(pod, worker, container)
        record = worker.find(name)
        assert record is not None
        pod_name = pod.obj["metadata"]["name"]
        if previous:
            if len(record.logs) < 2:
                raise status.bad_request(
                    f'previous terminated container "{name}" in pod "{pod_name}" not found'
                )
            return record.logs[-2]
        if not record.logs:
            reason = getattr(record.state, "reason", "ContainerCreating")
            raise status.bad_request(f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}')
        return record.logs[-1]

    def exec_target(self, pod: Stored, container: str | None) -> ExecTarget:
        worker = self._worker_for(pod)
        name = self._pick(pod, worker, container)
        record = worker.find(name)
        if (
            record is None
            or not isinstance(record.state, Running)
            or record.env is None
            or record.cwd is None
        ):
            raise status.bad_request(f'unable to upgrade connection: container not found ("{name}")')
        return ExecTarget(env=dict(record.env), cwd=record.cwd)

    def container_pids(self, namespace: str, name: str) -> dict[str, int]:
        """Main process id of each running container of a pod (tests use it to check for leftovers)."""
        worker = self.workers.get((namespace, name))
        if worker is None:
            return {}
        return {c.name: c.process.pid for c in worker.all_containers() if c.process is not None}

    def all_pids(self) -> list[int]:
        return [
            c.process.pid
            for worker in self.workers.values()
            for c in worker.all_containers()
            if c.process is not None
        ]
