"""`ps` marks each process's runtime (python, go, jvm, node, native) with its version, read from
the executable and the mapped libraries; the ELF and Go build-info readers stay bounded on
hostile binaries."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host.agent.elf import ElfFile
from host.agent.gobuild import read_build_info
from tests.agent.conftest import TARGETS, Spawner, SpawnTarget, go_tool, go_version, run_agent


def _listed(pid: int) -> dict[str, object]:
    run = run_agent("ps", env={"WFHOST_AGENT_TARGET_PID": str(pid)})
    (proc,) = [p for p in run.result["processes"] if p["pid"] == pid]
    return proc


def test_a_python_process_is_python_with_its_version(spawn_target: SpawnTarget) -> None:
    proc = _listed(spawn_target("named_threads.py").pid)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (proc["runtime"], proc["runtimeVersion"], proc["python"], proc["pythonVersion"]) == (
        "python", version, True, version
    )


def test_a_go_binary_is_go_with_the_version_and_package_of_its_build_info(
    spawn: Spawner, go_pprof_binary: Path
) -> None:
    go = go_tool()
    assert go is not None
    proc = _listed(spawn([str(go_pprof_binary)]).pid)
    assert proc["runtime"] == "go"
    assert proc["runtimeVersion"] == go_version(go)
    assert proc["runtimeDetail"] == "wfhost.test/gopprof"
    assert proc["python"] is False


def test_a_node_process_is_node_with_its_version(spawn: Spawner, node: str) -> None:
    proc = _listed(spawn([node, str(TARGETS / "node_hot.js")]).pid)
    expected = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert (proc["runtime"], proc["runtimeVersion"]) == ("node", expected.removeprefix("v"))


def test_a_jvm_is_jvm_with_the_java_version_of_its_home(spawn: Spawner) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    target = spawn([java, str(TARGETS / "JvmSleeper.java")])
    proc = _listed(target.pid)
    home = Path(os.path.realpath(java)).parent.parent
    release = (home / "release").read_text(encoding="utf-8")
    expected = next(line.split('"')[1] for line in release.splitlines() if line.startswith("JAVA_VERSION="))
    assert (proc["runtime"], proc["runtimeVersion"], proc["runtimeDetail"]) == ("jvm", expected, str(home))


def test_a_shell_and_sleep_are_native(spawn_target: SpawnTarget) -> None:
    parent = spawn_target("spawns_child.py")
    child_pid = int(parent.ready_line.split()[1])
    run = run_agent("ps", env={"WFHOST_AGENT_TARGET_PID": str(parent.pid)})
    proc = next(p for p in run.result["processes"] if p["pid"] == child_pid)
    assert (proc["runtime"], proc["runtimeVersion"], proc["runtimeDetail"]) == ("native", None, None)


# --- hostile binaries ------------------------------------------------------------------------


def _open(path: Path) -> tuple[int, ElfFile | None]:
    fd = os.open(path, os.O_RDONLY)
    return fd, ElfFile.open(fd)


def _elf64(phdrs: list[tuple[int, int, int, int, int, int]], *, shnum: int = 0, shoff: int = 0) -> bytes:
    """An ELF64 little-endian header followed by its program headers (type, flags, offset, vaddr,
    filesz, memsz)."""
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, shoff, 0, 64, 56, len(phdrs), 64, shnum, 0)
    for ptype, flags, offset, vaddr, filesz, memsz in phdrs:
        header += struct.pack("<IIQQQQQQ", ptype, flags, offset, vaddr, vaddr, filesz, memsz, 0x1000)
    return header


def test_pointer_style_build_info_without_sections_is_found_in_the_data_segment(tmp_path: Path) -> None:
    """Go before 1.18 pointed at its version string; stripped binaries have no section headers."""
    base, data_off = 0x600000, 0x1000
    blob = bytearray(0x2000)
    elf = _elf64([(1, 6, data_off, base, 0x1000, 0x1000)])  # PT_LOAD, readable + writable
    blob[: len(elf)] = elf
    header = b"\xff Go buildinf:" + bytes([8, 0])
    header += struct.pack("<QQ", base + 0x100, base + 0x110)  # -> string headers
    blob[data_off + 0x40 : data_off + 0x40 + len(header)] = header  # 16-byte aligned
    version, modinfo = b"go1.16.15", b"0" * 16 + b"path\texample.com/legacy\nmod\texample.com/legacy\tv1.2.3\t\n" + b"1" * 16
    modinfo = modinfo[:-17] + b"\n" + modinfo[-16:]
    blob[data_off + 0x100 : data_off + 0x120] = struct.pack("<QQQQ", base + 0x200, len(version), base + 0x300, len(modinfo))
    blob[data_off + 0x200 : data_off + 0x200 + len(version)] = version
    blob[data_off + 0x300 : data_off + 0x300 + len(modinfo)] = modinfo
    path = tmp_path / "legacy"
    path.write_bytes(bytes(blob))
    fd, parsed = _open(path)
    try:
        assert parsed is not None and parsed.sections == ()
        info = read_build_info(parsed)
    finally:
        os.close(fd)
    assert info is not None
    assert (info.version, info.path, info.main_module, info.main_version) == (
        "go1.16.15", "example.com/legacy", "example.com/legacy", "v1.2.3"
    )


@pytest.mark.parametrize(
    "contents",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x7fELF", id="truncated-header"),
        pytest.param(os.urandom(1 << 16), id="random"),
        pytest.param(b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + b"\xff" * 48, id="all-counts-max"),
    ],
)
def test_garbage_is_not_an_elf_file_or_has_no_build_info(tmp_path: Path, contents: bytes) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(contents)
    fd, parsed = _open(path)
    try:
        assert parsed is None or read_build_info(parsed) is None
    finally:
        os.close(fd)


def test_a_huge_sparse_binary_with_lying_headers_costs_a_few_small_reads(tmp_path: Path) -> None:
    """A 4 GiB file whose headers claim the maximum of everything, with build-info magic strewn
    unaligned and a varint length past the end: parsed in milliseconds, no build info."""
    path = tmp_path / "hostile"
    elf = _elf64([(1, 2, 0x1000, 0x400000, 1 << 31, 1 << 31)], shnum=0xFFFF, shoff=0x100)
    with open(path, "wb") as out:
        out.write(elf)
        out.seek(0x1000)
        out.write((b"x\xff Go buildinf:" * 4096)[: 1 << 16])  # never 16-byte aligned
        out.seek(0x1000 + (1 << 16))
        out.write(b"\xff Go buildinf:\x08\x02" + bytes(16) + b"\xff" * 16)  # aligned, bad varint
        out.truncate(4 << 30)
    began = time.monotonic()
    fd, parsed = _open(path)
    try:
        assert parsed is not None
        assert parsed.sections == ()  # 65535 section headers: over the cap, none read
        assert read_build_info(parsed) is None
    finally:
        os.close(fd)
    assert time.monotonic() - began < 1.0


def test_a_real_go_binary_parses_like_go_version_m(go_pprof_binary: Path) -> None:
    go = go_tool()
    assert go is not None
    fd, parsed = _open(go_pprof_binary)
    try:
        assert parsed is not None
        info = read_build_info(parsed)
    finally:
        os.close(fd)
    assert info is not None
    listed = subprocess.run([go, "version", "-m", str(go_pprof_binary)], capture_output=True, text=True, check=True)
    assert listed.stdout.split()[1] == info.version
    assert f"path\t{info.path}" in listed.stdout
    assert info.settings.get("CGO_ENABLED") == "0"
