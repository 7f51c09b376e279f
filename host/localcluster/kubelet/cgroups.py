"""Container resource limits enforced by the kernel: one cgroup v1 memory and cpu group per container.

Where the machine lets us (cgroup v1 mounted at /sys/fs/cgroup with writable `memory` and
`cpu` controllers, as for root here), each container instance that declares
`resources.limits.memory` or `.cpu` runs in its own group below the host process's own group:
`memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`, so swap is no way out) from the
memory limit, a CFS quota from the cpu limit. The container's command is started through
`/bin/sh`, which moves itself into the group before `exec`, so the limit holds from the first
instruction and for every child. When the kernel's OOM killer ends a process in the group,
`memory.oom_control` counts it and the kubelet reports `OOMKilled`.

Every container instance also gets an identity group in the `pids` controller (no limit written)
named as a real kubelet's cgroupfs driver names it, `.../kubepods/pod<pod UID>/<container ID>`,
so a process's `/proc/PID/cgroup` says which pod and container it belongs to: the node pod's
debug agent (`host.agent.containers`) finds its target that way, as it does on a real node.

Elsewhere (cgroup v2 only, not root, a read-only mount) `Cgroups.available()` is False and
limits are not enforced; the kubelet logs that once.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from decimal import ROUND_CEILING
from pathlib import Path
from typing import Any

import structlog

from host.localcluster.quantity import InvalidQuantity, parse_quantity

log = structlog.get_logger(__name__)

ROOT = Path("/sys/fs/cgroup")
_CFS_PERIOD_US = 100_000
_MIN_MEMORY_BYTES = 4 * 1024 * 1024  # below this even `sh` cannot start; a real runtime refuses too


def _own_path(controller: str) -> str:
    """This process's group in a v1 hierarchy (`/` when it is at the root)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                return path
    except OSError:
        pass
    return "/"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a container's spec asks the kernel to enforce."""

    memory_bytes: int | None
    cpu_quota_us: int | None

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Limits:
        limits = (spec.get("resources") or {}).get("limits") or {}
        memory = cpu = None
        try:
            if "memory" in limits:
                memory = max(int(parse_quantity(limits["memory"])), _MIN_MEMORY_BYTES)
            if "cpu" in limits:
                cores = parse_quantity(limits["cpu"])
                cpu = max(int((cores * _CFS_PERIOD_US).to_integral_value(ROUND_CEILING)), 1000)
        except InvalidQuantity:
            return cls(None, None)
        return cls(memory, cpu)

    @property
    def any(self) -> bool:
        return self.memory_bytes is not None or self.cpu_quota_us is not None


class Cgroup:
    """One container instance's groups; `wrap(argv)` starts a command inside them."""

    def __init__(self, directories: list[Path], memory: Path | None, pod: Path | None = None) -> None:
        self._directories = directories
        self._memory = memory
        self._pod = pod  # the identity group's pod level, removed once its last container is gone

    def wrap(self, argv: list[str]) -> list[str]:
        joins = "; ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self._directories)
        return ["/bin/sh", "-c", f'{joins} || exit 125; exec "$@"', "sh", *argv]

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended in this group."""
        if self._memory is None:
            return 0
        try:
            for line in (self._memory / "memory.oom_control").read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            return 0
        return 0

    def remove(self) -> None:
        """Remove the groups (they are empty once the container's processes are gone)."""
        for directory in self._directories:
            try:
                directory.rmdir()
            except OSError as exc:
                log.debug("cgroup.remove_failed", path=str(directory), error=str(exc))
        if self._pod is not None:
            try:
                self._pod.rmdir()
            except OSError:
                pass  # another container of the pod still runs in it


class Cgroups:
    """The node's groups: `/sys/fs/cgroup/{memory,cpu}/<host's own group>/wfhost-<node>/`."""

    def __init__(self, node_name: str, root: Path = ROOT) -> None:
        self._base = {
            controller: root / controller / _own_path(controller).lstrip("/") / f"wfhost-{node_name}"
            for controller in ("memory", "cpu", "pids")
        }
        self._root = root

    def available(self) -> bool:
        memory = self._root / "memory"
        cpu = self._root / "cpu"
        return (
            (memory / "memory.limit_in_bytes").exists()
            and (cpu / "cpu.cfs_quota_us").exists()
            and os.access(self._base["memory"].parent, os.W_OK)
            and os.access(self._base["cpu"].parent, os.W_OK)
        )

    def identity_available(self) -> bool:
        """Whether containers can be named by pod UID and container ID in a `pids` group."""
        return (self._root / "pids" / "cgroup.procs").exists() and os.access(self._base["pids"].parent, os.W_OK)

    def create(self, name: str, limits: Limits, *, pod_uid: str | None = None) -> Cgroup:
        """Groups for one container instance `name`, with `limits` written, and with `pod_uid` its
        identity group `kubepods/pod<pod_uid>/<name>`; OSError when refused."""
        directories: list[Path] = []
        pod_dir: Path | None = None
        if pod_uid is not None:
            pod_dir = self._base["pids"] / "kubepods" / f"pod{pod_uid}"
            identity = pod_dir / name
            identity.mkdir(parents=True, exist_ok=True)
            directories.append(identity)
        memory_dir: Path | None = None
        if limits.memory_bytes is not None:
            memory_dir = self._base["memory"] / name
            memory_dir.mkdir(parents=True, exist_ok=True)
            (memory_dir / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            swap = memory_dir / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limits.memory_bytes))
            directories.append(memory_dir)
        if limits.cpu_quota_us is not None:
            cpu_dir = self._base["cpu"] / name
            cpu_dir.mkdir(parents=True, exist_ok=True)
            (cpu_dir / "cpu.cfs_period_us").write_text(str(_CFS_PERIOD_US))
            (cpu_dir / "cpu.cfs_quota_us").write_text(str(limits.cpu_quota_us))
            directories.append(cpu_dir)
        return Cgroup(directories, memory_dir, pod_dir)
