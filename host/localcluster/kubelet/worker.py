"""One pod on the local node: pull, start, watch, restart and stop its containers, and report status.

Each container (and each ephemeral container added later) gets a task that pulls its image
(unpullable images loop through ErrImagePull / ImagePullBackOff), starts the process, waits for
it, and applies the restart policy with the kubelet's back-off (CrashLoopBackOff between
restarts, `lastState.terminated` and `restartCount` kept). Every state change is written to the
pod's status at once, and Events are recorded as a kubelet would.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from host.localcluster import objects
from host.localcluster.kubelet import status as pod_status
from host.localcluster.kubelet.cgroups import Cgroup, Cgroups, Limits
from host.localcluster.kubelet.container import (
    EPHEMERAL,
    REGULAR,
    Backoff,
    Container,
    Running,
    Terminated,
    Waiting,
)
from host.localcluster.kubelet.env import (
    ContainerConfigError,
    command_line,
    container_environment,
    working_dir,
)
from host.localcluster.kubelet.events import NORMAL, WARNING, EventRecorder
from host.localcluster.kubelet.node_api import NodeApi
from host.localcluster.kubelet.process import ContainerProcess, ContainerStartError
from host.localcluster.settings import LocalClusterSettings
from host.localcluster.store import Stored

log = structlog.get_logger(__name__)

TARGET_PID_VARIABLE = "WFHOST_AGENT_TARGET_PID"
# The file holding the target container's current main pid, rewritten at every (re)start: a
# restarted target stays in reach of an ephemeral container, as a shared pid namespace keeps it.
TARGET_PID_FILE_VARIABLE = "WFHOST_AGENT_TARGET_PID_FILE"
_PID_FILE = "main.pid"


@dataclass(frozen=True)
class NodeContext:
    """What every pod worker shares with the kubelet."""

    api: NodeApi
    recorder: EventRecorder
    settings: LocalClusterSettings
    log_root: Path
    unpullable: Callable[[str], str | None]  # image -> why it cannot be pulled, or None
    cgroups: Cgroups | None = None  # None: resource limits are not enforced on this machine


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 60:
        return f"{whole // 60}m{whole % 60}s"
    if seconds == whole:
        return f"{whole}s"
    return f"{seconds:.3g}s"


class PodWorker:
    def __init__(self, node: NodeContext, pod: Stored) -> None:
        self._node = node
        meta = pod.obj["metadata"]
        self.namespace = str(meta["namespace"])
        self.name = str(meta["name"])
        self.uid = pod.uid
        self.key = (self.namespace, self.name)
        self.pod: dict[str, Any] = pod.obj
        self.start_time = objects.now()
        self.directory = node.log_root / f"{self.namespace}_{self.name}_{self.uid}"
        self.containers: dict[str, Container] = {}
        self.ephemeral: dict[str, Container] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._restarts: set[asyncio.Task[int]] = set()
        self._cleanups: set[asyncio.Task[None]] = set()
        self.terminating = False
        self.final = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for spec in self.pod.get("spec", {}).get("containers") or []:
            self.containers[spec["name"]] = self._container(spec, REGULAR)
        self.publish()
        for container in self.containers.values():
            self._launch(container)

    def sync(self, pod: Stored) -> None:
        """A newer version of the pod: restart containers whose image changed, start added ephemeral ones."""
        self.pod = pod.obj
        if self.terminating:
            return
        for spec in pod.obj.get("spec", {}).get("containers") or []:
            container = self.containers.get(str(spec.get("name")))
            if container is not None and spec.get("image") != container.image:
                self._replace(container, spec)
        added = False
        for spec in pod.obj.get("spec", {}).get("ephemeralContainers") or []:
            if spec.get("name") not in self.ephemeral:
                container = self._container(spec, EPHEMERAL)
                self.ephemeral[container.name] = container
                self._launch(container)
                added = True
        if added:
            self.publish()

    def _replace(self, container: Container, spec: dict[str, Any]) -> None:
        """The container's image changed: stop it and start it again with the new spec, as a real
        kubelet does whatever the restart policy ("Container X definition changed")."""
        container.spec = spec
        self.event(
            container, NORMAL, "Killing", f"Container {container.name} definition changed, will be restarted"
        )
        task = self._tasks.get(container.name)
        if container.process is not None:
            grace = self._node.settings.grace_seconds(
                float(self.pod.get("spec", {}).get("terminationGracePeriodSeconds") or 30)
            )
            container.spec_changed = True
            stop = asyncio.create_task(container.process.stop(grace))
            self._restarts.add(stop)
            stop.add_done_callback(self._restarts.discard)
        elif task is not None and task.done():
            # It had exited for good (restartPolicy Never, or OnFailure after success): run it again.
            if isinstance(container.state, Terminated):
                container.last_terminated = container.state
                container.restart_count += 1
            self._launch(container)
        elif task is not None:
            # Waiting (back-off, image pull, config error): start over at once with the new spec.
            task.cancel()
            self._launch(container)

    async def terminate(self, grace: float, *, final: bool = True) -> None:
        """Stop every container: SIGTERM, up to `grace` seconds, SIGKILL; then report them terminated.

        `final` (a deletion) moves the pod to a terminal phase; a node shutdown does not.
        """
        self.terminating = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        stops = []
        for container in self.all_containers():
            if container.process is not None:
                self.event(container, NORMAL, "Killing", f"Stopping container {container.name}")
                stops.append(self._stop(container, grace))
        await asyncio.gather(*stops)
        for container in self.all_containers():
            for instance in container.logs:
                instance.close()
        self.final = final
        self.publish()

    def kill(self) -> None:
        """SIGKILL every container process now (the pod is gone)."""
        self.terminating = True
        for task in self._tasks.values():
            task.cancel()
        for container in self.all_containers():
            if container.process is not None:
                container.process.kill()

    async def _stop(self, container: Container, grace: float) -> None:
        process = container.process
        if process is None:
            return
        code = await process.stop(grace)
        container.process = None
        started = container.state.started_at if isinstance(container.state, Running) else None
        container.state = Terminated(
            code,
            "Completed" if code == 0 else "Error",
            finished_at=objects.now(),
            started_at=started,
            container_id=container.container_id,
        )
        if container.logs:
            container.logs[-1].close()

    # -- helpers ---------------------------------------------------------------------------

    def all_containers(self) -> list[Container]:
        return [*self.containers.values(), *self.ephemeral.values()]

    def find(self, name: str) -> Container | None:
        return self.containers.get(name) or self.ephemeral.get(name)

    def _container(self, spec: dict[str, Any], kind: str) -> Container:
        return Container(
            name=str(spec["name"]), spec=spec, kind=kind, log_dir=self.directory / str(spec["name"])
        )

    def _launch(self, container: Container) -> None:
        task = asyncio.create_task(
            self._run(container), name=f"container {self.namespace}/{self.name}/{container.name}"
        )
        task.add_done_callback(self._report_crash)
        self._tasks[container.name] = task

    def _report_crash(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "kubelet.container_task_failed",
                pod=f"{self.namespace}/{self.name}",
                exc_info=task.exception(),
            )

    def publish(self) -> None:
        containers = list(self.containers.values())
        ephemeral = list(self.ephemeral.values())
        stamp = objects.now()
        updated = self._node.api.write_pod_status(
            self.key,
            self.uid,
            lambda pod: pod_status.apply(
                pod,
                containers=containers,
                ephemeral=ephemeral,
                start_time=self.start_time,
                now=stamp,
                final=self.final,
            ),
        )
        if updated is not None:
            self.pod = updated.obj

    def event(self, container: Container | None, type_: str, reason: str, message: str) -> None:
        field_path = None
        if container is not None:
            section = "ephemeralContainers" if container.kind == EPHEMERAL else "containers"
            field_path = f"spec.{section}{{{container.name}}}"
        self._node.recorder.record(self.pod, type_, reason, message, field_path=field_path)

    # -- one container ---------------------------------------------------------------------

    async def _run(self, container: Container) -> None:
        await self._pull(container)
        settings = self._node.settings
        policy = (
            "Never"
            if container.kind == EPHEMERAL
            else str(self.pod.get("spec", {}).get("restartPolicy", "Always"))
        )
        backoff = Backoff(settings.crashloop_backoff_base_seconds, settings.crashloop_backoff_cap_seconds)
        while True:
            began = time.monotonic()
            terminated = await self._run_once(container)
            container.state = terminated
            self.publish()
            if container.spec_changed:
                container.spec_changed = False
                container.last_terminated = terminated
                container.restart_count += 1
                await self._pull(container)
                continue
            if policy == "Never" or (policy == "OnFailure" and terminated.exit_code == 0):
                return
            container.last_terminated = terminated
            delay = backoff.next(time.monotonic() - began)
            if delay > 0:
                who = f"{self.name}_{self.namespace}({self.uid})"
                container.state = Waiting(
                    "CrashLoopBackOff",
                    f"back-off {_duration(delay)} restarting failed container={container.name} pod={who}",
                )
                self.event(
                    container,
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {container.name} in pod {who}",
                )
                self.publish()
                await asyncio.sleep(delay)
            container.restart_count += 1

    async def _pull(self, container: Container) -> None:
        image = container.image
        settings = self._node.settings
        attempt = 0
        while (why := self._node.unpullable(image)) is not None:
            self.event(container, NORMAL, "Pulling", f'Pulling image "{image}"')
            message = f'Failed to pull image "{image}": {why}'
            self.event(container, WARNING, "Failed", message)
            self.event(container, WARNING, "Failed", "Error: ErrImagePull")
            container.state = Waiting("ErrImagePull", message)
            self.publish()
            delay = min(
                settings.image_pull_backoff_base_seconds * 2**attempt, settings.image_pull_backoff_cap_seconds
            )
            attempt += 1
            container.state = Waiting(
                "ImagePullBackOff", f'Back-off pulling image "{image}": ErrImagePull: {why}'
            )
            self.event(container, NORMAL, "BackOff", f'Back-off pulling image "{image}"')
            self.event(container, WARNING, "Failed", "Error: ImagePullBackOff")
            self.publish()
            await asyncio.sleep(delay)
        if container.spec.get("imagePullPolicy") == "Always":
            self.event(container, NORMAL, "Pulling", f'Pulling image "{image}"')
            self.event(
                container,
                NORMAL,
                "Pulled",
                f'Successfully pulled image "{image}" in 0s (0s including waiting). Image size: 0 bytes.',
            )
        container.pulled()

    def _extra_env(self, container: Container) -> dict[str, str]:
        if container.kind != EPHEMERAL:
            if self.pod.get("spec", {}).get("hostPID"):
                return {}  # the node's PID namespace: the agent sees every process, as on a node
            # Its own PID namespace, as far as the debug agent is concerned: its process and descendants.
            return {TARGET_PID_FILE_VARIABLE: str(self.directory / container.name / _PID_FILE)}
        target = self.containers.get(str(container.spec.get("targetContainerName") or ""))
        if target is not None and target.process is not None:
            return {
                TARGET_PID_VARIABLE: str(target.process.pid),
                TARGET_PID_FILE_VARIABLE: str(self.directory / target.name / _PID_FILE),
            }
        return {}

    def _record_pid(self, container: Container, pid: int) -> None:
        path = self.directory / container.name / _PID_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(str(pid))
        partial.replace(path)

    def _limit(self, container: Container, argv: list[str], env: dict[str, str]) -> Cgroup | None:
        """The groups for this container instance: kernel-enforced limits when it has them, and the
        identity group naming its pod UID and container ID, where the machine lets us."""
        cgroups = self._node.cgroups
        limits = Limits.of(container.spec)
        identity = cgroups is not None and cgroups.identity_available()
        if cgroups is None or not (limits.any or identity):
            return None
        if shutil.which(argv[0], path=env.get("PATH")) is None:
            return None  # let the start fail as it would without limits (StartError, not sh's 127)
        name = (container.container_id or "").removeprefix("local://")
        try:
            return cgroups.create(name, limits, pod_uid=self.uid if identity else None)
        except OSError as exc:
            log.warning("kubelet.cgroup_refused", container=container.name, error=str(exc))
            return None

    def _remove_when_stopped(self, process: ContainerProcess, group: Cgroup) -> None:
        """Remove the container's groups once whoever stops its process (terminate, kill) has."""

        async def remove() -> None:
            await process.wait()
            group.remove()

        task = asyncio.create_task(remove(), name=f"cgroup removal {self.namespace}/{self.name}")
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _run_once(self, container: Container) -> Terminated:
        settings = self._node.settings
        while True:
            try:
                env = container_environment(self.pod, container.spec, settings, self._extra_env(container))
                argv = command_line(container.spec, env)
                break
            except ContainerConfigError as exc:
                container.state = Waiting("CreateContainerConfigError", str(exc))
                self.event(container, WARNING, "Failed", f"Error: {exc}")
                self.publish()
                await asyncio.sleep(max(settings.image_pull_backoff_base_seconds, 0.1))
        if container.spec.get("imagePullPolicy") != "Always" or container.restart_count:
            self.event(
                container, NORMAL, "Pulled", f'Container image "{container.image}" already present on machine'
            )
        scratch = self.directory / container.name / "cwd"
        scratch.mkdir(parents=True, exist_ok=True)
        cwd = working_dir(container.spec, str(scratch))
        sink = container.new_log()
        container.container_id = f"local://{objects.random_hex(64)}"
        group = self._limit(container, argv, env)
        if group is not None:
            argv = group.wrap(argv)
        started_at = objects.now()
        try:
            process = await ContainerProcess.start(argv, env=env, cwd=cwd, sink=sink)
        except ContainerStartError as exc:
            if group is not None:
                group.remove()
            sink.close()
            message = f"failed to create containerd task: failed to start container process: {exc}: unknown"
            self.event(container, WARNING, "Failed", f"Error: {message}")
            return Terminated(
                128,
                "StartError",
                finished_at=objects.now(),
                message=message,
                container_id=container.container_id,
            )
        container.process = process
        if container.kind == REGULAR:
            self._record_pid(container, process.pid)
        container.env = env
        container.cwd = cwd
        container.started = True
        self.event(container, NORMAL, "Created", f"Created container: {container.name}")
        self.event(container, NORMAL, "Started", f"Started container {container.name}")
        container.state = Running(started_at)
        self.publish()
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            if group is not None:
                self._remove_when_stopped(process, group)  # the pod is being stopped or killed
            raise
        container.process = None
        sink.close()
        reason = "Completed" if code == 0 else "Error"
        if group is not None:
            if group.oom_kills():
                reason = "OOMKilled"  # the kernel's OOM killer ended a process of this container
            group.remove()
        return Terminated(
            code,
            reason,
            finished_at=objects.now(),
            started_at=started_at,
            container_id=container.container_id,
        )
