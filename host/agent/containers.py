"""A container's processes as seen from the node's PID namespace, found by pod UID and container ID.

The node pod's agent runs with `hostPID` and sees every process of the node, so it has to be told
which container it may act on. Every kubelet puts a container's processes in a cgroup whose path
names both the pod's UID and the container's ID, in either driver and either cgroup version:

    cgroupfs  /kubepods/burstable/pod6f7d...-9e1c/3f2a...c0de
    systemd   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f7d..._9e1c.slice/
              cri-containerd-3f2a...c0de.scope

`members` reads `/proc/*/cgroup` and keeps the processes one of whose paths has a `pod<uid>`
component (dashes or underscores) and a component carrying the container ID; `main_pid` is the
member whose parent is not one (the container's PID 1 as the node sees it). The ID is the status's
`containerID` with or without its `runtime://` prefix. Nothing here attaches to anything.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import psutil

from host.agent.errors import BadArgument

_UID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ID = re.compile(r"^[0-9a-f]{12,64}$")
PROC = Path("/proc")


def container_hex(container_id: str) -> str:
    """`containerd://3f2a...` → `3f2a...`; BadArgument unless what is left is 12-64 hex digits."""
    value = container_id.split("://", 1)[-1].strip()
    if not _ID.fullmatch(value):
        raise BadArgument(
            f"--container-id must be a container ID (runtime://HEX or HEX, 12-64 hex digits), not {container_id!r}",
            details={"containerId": container_id},
        )
    return value


def pod_uid(uid: str) -> str:
    if not _UID.fullmatch(uid):
        raise BadArgument(f"--pod-uid must be a pod's metadata.uid, not {uid!r}", details={"podUid": uid})
    return uid.lower()


def names_container(cgroup_text: str, uid: str, hex_id: str) -> bool:
    """Whether one `/proc/PID/cgroup` file puts the process in that pod's container."""
    pod_forms = (f"pod{uid}", f"pod{uid.replace('-', '_')}")
    for line in cgroup_text.splitlines():
        path = line.split(":", 2)[-1]
        parts = path.split("/")
        if any(form in part for part in parts for form in pod_forms) and any(hex_id in part for part in parts):
            return True
    return False


def members(uid: str, hex_id: str, *, proc: Path = PROC) -> set[int]:
    """Pids of the container's live processes (an empty set when none is visible)."""
    found: set[int] = set()
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            text = (proc / entry.name / "cgroup").read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # it ended while we looked, or it is not ours to read
        if names_container(text, uid, hex_id):
            found.add(int(entry.name))
    return found


def main_pid(pids: set[int]) -> int | None:
    """The member whose parent is outside the set (the earliest started if several are), or None."""
    roots: list[tuple[float, int]] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.ppid() not in pids:
                roots.append((proc.create_time(), pid))
        except psutil.Error:
            continue
    return min(roots)[1] if roots else None
