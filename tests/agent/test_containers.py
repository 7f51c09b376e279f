"""The node pod's scope: a container's processes found by pod UID and container ID in their cgroups.

The cgroup lines are the ones real kubelets write (cgroupfs and systemd drivers, cgroup v1 and
v2, containerd, CRI-O, Docker); the end-to-end cases put real processes in a real `pids` group
named as a kubelet names it and run the real agent command against them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.agent.containers import container_hex, main_pid, members, names_container, pod_uid
from host.agent.errors import BadArgument

UID = "6f7d2b1c-9e1c-4a5b-8c3d-2e1f0a9b8c7d"
CID = "3f2a9c0de1b2a3f4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
OTHER = "aa" * 32

REAL_LINES = {
    "cgroupfs v1 (containerd)": f"12:pids:/kubepods/burstable/pod{UID}/{CID}\n11:memory:/kubepods/burstable/pod{UID}/{CID}\n",
    "systemd v2 (containerd)": "0::/kubepods.slice/kubepods-burstable.slice/"
    f"kubepods-burstable-pod{UID.replace('-', '_')}.slice/cri-containerd-{CID}.scope\n",
    "systemd v2 (CRI-O)": f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID.replace('-', '_')}.slice/crio-{CID}.scope\n",
    "systemd v1 (Docker)": f"4:pids:/kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice/docker-{CID}.scope\n",
}


@pytest.mark.parametrize("text", REAL_LINES.values(), ids=REAL_LINES.keys())
def test_every_kubelet_layout_names_the_container(text: str) -> None:
    assert names_container(text, UID, CID)
    assert not names_container(text, UID, OTHER)  # another container of the same pod
    assert not names_container(text, str(uuid.uuid4()), CID)  # the ID alone is not enough


def test_the_ids_and_the_pod_must_be_on_the_same_line() -> None:
    mixed = f"12:pids:/kubepods/pod{UID}/{OTHER}\n11:memory:/elsewhere/{CID}\n"
    assert not names_container(mixed, UID, CID)


def test_container_ids_and_pod_uids_are_checked_before_use() -> None:
    assert container_hex(f"containerd://{CID}") == CID
    assert container_hex(CID) == CID
    for bad in ("containerd://", "docker://not-hex", f"{CID}/../x", "abc"):
        with pytest.raises(BadArgument):
            container_hex(bad)
    assert pod_uid(UID.upper()) == UID
    with pytest.raises(BadArgument):
        pod_uid("../../etc")


@pytest.fixture
def kubelet_group() -> Iterator[tuple[str, str, Path]]:
    """A real `pids` cgroup named as a kubelet names a container's: kubepods/pod<uid>/<id>."""
    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex * 2
    pod = Path("/sys/fs/cgroup/pids") / "wfhost-agent-test" / "kubepods" / f"pod{uid}"
    group = pod / cid
    group.mkdir(parents=True)
    try:
        yield uid, cid, group
    finally:
        for path in (group, pod):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _start_in(group: Path, code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["/bin/sh", "-c", f'echo $$ > {group / "cgroup.procs"} && exec "$@"', "sh", sys.executable, "-c", code]
    )


def _agent(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "host.agent", *args], capture_output=True, text=True, timeout=60)
    reply: dict[str, object] = json.loads(out.stdout)
    return reply


def test_the_agent_acts_on_the_containers_processes_only(kubelet_group: tuple[str, str, Path]) -> None:
    uid, cid, group = kubelet_group
    main = _start_in(group, "import subprocess, sys, time\n"
                            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                            "while True: sum(range(10000))")
    try:
        deadline = time.monotonic() + 20
        while len(members(uid, cid)) < 2:
            assert time.monotonic() < deadline, "the container's two processes did not appear"
            time.sleep(0.05)
        found = members(uid, cid)
        assert main.pid in found and os.getpid() not in found
        assert main_pid(found) == main.pid
        listing = _agent("ps", "--pod-uid", uid, "--container-id", f"containerd://{cid}")
        assert listing["ok"], listing
        result = listing["result"]
        assert isinstance(result, dict)
        assert {p["pid"] for p in result["processes"]} == found
        assert result["scopePid"] is None  # no stand-in namespace: the container is the scope
        inside = _agent("stacktrace", "--pid", str(main.pid), "--pod-uid", uid, "--container-id", cid)
        assert inside["ok"], inside
        outside = _agent("stacktrace", "--pid", str(os.getpid()), "--pod-uid", uid, "--container-id", cid)
        assert not outside["ok"] and outside["error"]["code"] == "out_of_scope", outside  # type: ignore[index]
    finally:
        main.kill()
        main.wait()
        for pid in members(uid, cid):
            os.kill(pid, 9)


def test_no_visible_process_is_a_clear_error_not_an_empty_scope() -> None:
    reply = _agent("ps", "--pod-uid", str(uuid.uuid4()), "--container-id", OTHER)
    assert not reply["ok"]
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == "no_such_process"
    assert "hostPID" in error["message"]
    lonely = _agent("ps", "--pod-uid", UID)
    assert not lonely["ok"] and lonely["error"]["code"] == "bad_argument"  # type: ignore[index]
