"""Reading a workflow directory an attacker controls: race-free, within caps, and never a crash or a hang.

Each test reproduces an attack on the host's own file code (the Deno permission layer is not
involved): a file swapped for a symlink, a FIFO or a device while it is read, a sparse file of
64 GB, names past the file-system's limit, a flood of files, and edits that pile up snapshots.
"""

from __future__ import annotations

import asyncio
import os
import resource
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from host.capabilities.router import CapabilityRouter
from host.config import HostConfig
from host.errors import WorkflowRefused
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.sandbox.snapshot import ScanCaps, scan_directory
from host.workflows.registry import Registry, WorkflowDir
from tests.conftest import make_config, simple_workflow

pytestmark = pytest.mark.timeout(180)

SECRET = "SECRET-7f3a-outside-the-workflow-directory"
CAPS = ScanCaps()

# Swaps `target` between a regular file and `kind` (a symlink to the secret, a FIFO, a device)
# as fast as it can, `count` times, always by an atomic rename, then leaves the regular file.
SWAPPER = textwrap.dedent("""
    import os, sys
    target, kind, secret, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    d = os.path.dirname(target)
    plain, other = os.path.join(d, ".plain"), os.path.join(d, ".other")
    for i in range(count):
        with open(plain, "w") as f:
            f.write("export const x = 1;\\n")
        os.replace(plain, target)
        if kind == "symlink":
            os.symlink(secret, other)
        elif kind == "fifo":
            os.mkfifo(other)
        else:
            os.mknod(other, 0o644 | 0o020000, os.makedev(1, 5))  # /dev/zero's numbers
        os.replace(other, target)
    with open(plain, "w") as f:
        f.write("export const x = 1;\\n")
    os.replace(plain, target)
""")


def _workflow_dir(tmp_path: Path) -> tuple[Path, Path]:
    d = tmp_path / "wfs"
    d.mkdir(parents=True)
    (d / "main.ts").write_text('import { x } from "./_helper.ts";\nexport default x;\n')
    (d / "_helper.ts").write_text("export const x = 1;\n")
    secret = tmp_path / "outside" / "secret.ts"
    secret.parent.mkdir(parents=True)
    secret.write_text(f'export const x = "{SECRET}";\n')
    return d, secret


def _race(d: Path, secret: Path, kind: str, *, swaps: int = 1000) -> tuple[int, list[str], list[str]]:
    """Scan `d` over and over while another process swaps its helper; return (scans, leaks, refusals)."""
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(d / "_helper.ts"), kind, str(secret), str(swaps)])
    scans, leaks, refusals = 0, [], []
    done = threading.Event()

    def scan_until_done() -> None:
        nonlocal scans
        while swapper.poll() is None:
            scans += 1
            try:
                scan = scan_directory(d, caps=CAPS)
            except WorkflowRefused as exc:
                refusals.append(exc.reason)
                continue
            leaks.extend(rel for rel, data in scan.files.items() if SECRET.encode() in data)
        done.set()

    scanner = threading.Thread(target=scan_until_done, daemon=True)
    scanner.start()
    finished = done.wait(120)
    swapper.wait(60)
    if not finished:  # unblock a scan stuck on the FIFO so the test can end
        for _ in range(3):
            fd = os.open(d / "_helper.ts", os.O_WRONLY | os.O_NONBLOCK) if stat.S_ISFIFO(
                os.lstat(d / "_helper.ts").st_mode) else None
            if fd is not None:
                os.close(fd)
    assert finished, f"a scan hung on a {kind} swapped in while it was read"
    return scans, leaks, refusals


def test_a_racing_symlink_swap_never_leaks_an_outside_file_across_1000_swaps(tmp_path: Path) -> None:
    d, secret = _workflow_dir(tmp_path)
    scans, leaks, refusals = _race(d, secret, "symlink")
    assert scans > 10
    assert leaks == []
    assert not [r for r in refusals if SECRET in r]
    final = scan_directory(d, caps=CAPS)
    assert sorted(final.files) == ["_helper.ts", "main.ts"]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_swapped_in_is_skipped_without_a_hang(tmp_path: Path, kind: str) -> None:
    d, secret = _workflow_dir(tmp_path)
    scans, leaks, _ = _race(d, secret, kind)
    assert scans > 10
    assert leaks == []
    if kind == "fifo":
        os.mkfifo(d / "_pipe.ts")
    else:
        os.mknod(d / "_zero.ts", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    scan = scan_directory(d, caps=CAPS)
    assert scan.skipped == {"_pipe.ts" if kind == "fifo" else "_zero.ts": "not a regular file"}


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_sparse_64_gb_file_is_refused_from_its_size_without_reading_it(tmp_path: Path) -> None:
    d, _ = _workflow_dir(tmp_path)
    with (d / "_big.ts").open("wb") as f:
        f.truncate(64 << 30)
    before = _max_rss_mb()
    with pytest.raises(WorkflowRefused) as info:
        scan_directory(d, caps=CAPS)
    assert "_big.ts is larger than 1048576 bytes" in info.value.reason
    assert _max_rss_mb() - before < 32


def test_a_file_that_grows_past_its_size_is_read_only_to_the_cap(tmp_path: Path) -> None:
    d, _ = _workflow_dir(tmp_path)
    caps = ScanCaps(max_file_bytes=4096, max_total_bytes=8192)
    # /proc files report size 0 and yield more: the read itself must stop at the cap plus one byte.
    os.symlink("/proc/self/environ", d / "_env.ts")
    scan = scan_directory(d, caps=caps)
    assert "_env.ts" not in scan.files  # outside: not even opened
    (d / "_grow.ts").write_bytes(b"x" * 5000)
    with pytest.raises(WorkflowRefused, match="larger than 4096 bytes"):
        scan_directory(d, caps=caps)


def test_many_files_and_long_names_are_refused_by_their_caps_while_listing(tmp_path: Path) -> None:
    d, _ = _workflow_dir(tmp_path)
    for i in range(CAPS.max_entries):
        (d / f"_{i}.ts").write_text("")
    with pytest.raises(WorkflowRefused, match="more than 500 files and folders"):
        scan_directory(d, caps=CAPS)
    e, _ = _workflow_dir(tmp_path / "other")
    (e / ("_" + "n" * 40 + ".ts")).write_text("")
    with pytest.raises(WorkflowRefused, match="a name longer than 32 characters"):
        scan_directory(e, caps=ScanCaps(max_name_length=32))


def test_a_refusal_never_quotes_file_content(tmp_path: Path) -> None:
    d, _ = _workflow_dir(tmp_path)
    (d / "_big.ts").write_text(SECRET * 40_000)
    with pytest.raises(WorkflowRefused) as info:
        scan_directory(d, caps=CAPS)
    assert SECRET not in str(info.value)


# -- the registry and the state directory ------------------------------------------------------


@pytest.fixture
async def registry_for(env: SandboxEnv, router: CapabilityRouter, config: HostConfig) -> Any:
    made: list[Registry] = []

    async def make(directory: Path, *, with_env: SandboxEnv | None = None, watch: bool = False) -> Registry:
        reg = Registry(env=with_env or env, router=router, config=config, dirs=[WorkflowDir(directory, "custom")])
        await reg.start(watch=watch)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        await reg.stop()


async def test_a_sparse_file_beside_a_workflow_refuses_the_directory_and_the_registry_starts(
    registry_for: Callable[..., Any], tmp_path: Path
) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "wf.ts").write_text(textwrap.dedent(simple_workflow("wf")))
    with (d / "_big.ts").open("wb") as f:
        f.truncate(64 << 30)
    before = _max_rss_mb()
    reg = await registry_for(d)
    status = reg.status_of(d / "wf.ts")
    assert status is not None and status.state == "error"
    assert "larger than" in (status.error or "")
    assert _max_rss_mb() - before < 32


async def test_a_workflow_file_with_a_253_character_name_loads(
    registry_for: Callable[..., Any], env: SandboxEnv, tmp_path: Path
) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    path = d / ("w" * 250 + ".ts")  # the longest ConfigMap key
    path.write_text(textwrap.dedent(simple_workflow("long-name")))
    reg = await registry_for(d)
    status = reg.status_of(path)
    assert status is not None and status.state == "loaded", status.error if status else None
    wf = reg.get("long-name")
    assert wf is not None
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "ok", result.error
    made = [*env.state_dir.glob("*/*"), *env.state_dir.glob("entries/*/*")]  # the names the host builds
    assert made
    for p in made:
        assert len(p.name) <= 100, p.name


def _snapshots(env: SandboxEnv) -> list[str]:
    return sorted(p.name for p in (env.state_dir / "snapshots").iterdir() if not p.name.startswith("."))


async def test_workflow_files_share_snapshots_and_old_versions_are_removed(
    registry_for: Callable[..., Any], env: SandboxEnv, tmp_path: Path
) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    for name in ("one", "two", "three"):
        (d / f"{name}.ts").write_text(textwrap.dedent(simple_workflow(name)))
    reg = await registry_for(d)
    assert len(reg.workflows()) == 3
    first = _snapshots(env)
    assert len(first) == 1
    for edit in range(4):
        (d / "one.ts").write_text(textwrap.dedent(simple_workflow("one", f"await ctx.report({{ title: 'v{edit}' }});")))
        await reg.rescan(reg.dirs[0])
        for name in ("one", "two", "three"):
            wf = reg.get(name)
            assert wf is not None
            result = await invoke(wf, Event(kind="manual"))
            assert result.outcome == "ok", result.error
        await asyncio.gather(*reg._retiring, return_exceptions=True)
        # The unchanged workflows keep running from the first snapshot; the edited one runs from
        # the latest; every version in between is gone.
        assert len(_snapshots(env)) == 2 and first[0] in _snapshots(env), _snapshots(env)
    emitted = [p for p in (env.state_dir / "deno").glob("*/gen/file/**/snapshots/*") if p.is_dir()]
    assert len(emitted) <= 3, emitted  # one version's emits per workflow file, not one per edit
    await reg.stop()
    assert _snapshots(env) == []


def test_a_snapshot_in_use_by_another_process_is_not_removed(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    one, two = SandboxEnv.from_config(config), SandboxEnv.from_config(config)
    d, _ = _workflow_dir(tmp_path)
    scan = scan_directory(d, caps=CAPS)
    a = one.snapshots.take(d / "main.ts", scan)
    b = two.snapshots.take(d / "main.ts", scan)
    assert a.root == b.root
    one.snapshots.release(a)  # the other "process" (its own flock) still runs from it
    assert (b.root / "main.ts").is_file()
    two.snapshots.release(b)
    assert not b.root.exists()
