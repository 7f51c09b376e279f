"""A bounded ELF reader: sections, loadable segments and reads by virtual address.

The agent reads executables that belong to the target, so it treats them as hostile: every count,
size and offset in the headers is checked against the file and against small caps before anything
is read, each read is one `pread` of at most `MAX_READ` bytes, and a malformed file is `None`
(`ElfFile.open` never raises for bad contents). What it costs is therefore bounded by the caps,
not by the file: a few `pread` calls of at most a few hundred KiB each.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass

MAX_READ = 1 << 20
MAX_SECTIONS = 4096
MAX_SEGMENTS = 512
MAX_NAMES = 1 << 20

_MAGIC = b"\x7fELF"
PT_LOAD = 1
PF_X, PF_W = 1, 2


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    type: int


@dataclass(frozen=True)
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class ElfFile:
    """One opened ELF file (the caller owns and closes `fd`)."""

    fd: int
    size: int
    is64: bool
    little: bool
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]

    @property
    def endian(self) -> str:
        return "<" if self.little else ">"

    @classmethod
    def open(cls, fd: int) -> ElfFile | None:
        """Parse the headers of the file open as `fd`; None when it is not a sane ELF file."""
        try:
            info = os.fstat(fd)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size
        head = _pread(fd, 64, 0)
        if len(head) < 52 or head[:4] != _MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
            return None
        is64, little = head[4] == 2, head[5] == 1
        e = "<" if little else ">"
        try:
            if is64:
                phoff, shoff = struct.unpack_from(e + "QQ", head, 32)
                phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", head, 54)
            else:
                phoff, shoff = struct.unpack_from(e + "II", head, 28)
                phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", head, 42)
        except struct.error:
            return None
        segments = _segments(fd, size, e, is64, phoff, phentsize, phnum)
        sections = _sections(fd, size, e, is64, shoff, shentsize, shnum, shstrndx)
        return cls(fd=fd, size=size, is64=is64, little=little, sections=sections, segments=segments)

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def read(self, offset: int, size: int) -> bytes:
        """Up to `size` (capped at MAX_READ) bytes at a file offset; fewer at the end of the file."""
        if offset < 0 or offset >= self.size or size <= 0:
            return b""
        return _pread(self.fd, min(size, MAX_READ, self.size - offset), offset)

    def read_vaddr(self, addr: int, size: int) -> bytes:
        """Bytes at a virtual address of a loadable segment (the file-backed part only)."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= addr < seg.vaddr + seg.filesz:
                available = seg.vaddr + seg.filesz - addr
                return self.read(seg.offset + addr - seg.vaddr, min(size, available))
        return b""

    def first_data_segment(self) -> Segment | None:
        """The first writable, non-executable loadable segment (where Go keeps its build info)."""
        return next(
            (s for s in self.segments if s.type == PT_LOAD and s.flags & (PF_X | PF_W) == PF_W), None
        )


def _pread(fd: int, size: int, offset: int) -> bytes:
    try:
        return os.pread(fd, size, offset)
    except OSError:
        return b""


def _segments(fd: int, size: int, e: str, is64: bool, off: int, entsize: int, num: int) -> tuple[Segment, ...]:
    want = 56 if is64 else 32
    if num == 0 or num > MAX_SEGMENTS or entsize < want or off <= 0 or off + entsize * num > size:
        return ()
    raw = _pread(fd, entsize * num, off)
    segments: list[Segment] = []
    for i in range(len(raw) // entsize):
        base = i * entsize
        if is64:
            ptype, flags, offset, vaddr, _paddr, filesz, memsz = struct.unpack_from(e + "IIQQQQQ", raw, base)
        else:
            ptype, offset, vaddr, _paddr, filesz, memsz, flags = struct.unpack_from(e + "IIIIIII", raw, base)
        if offset + filesz <= size:
            segments.append(Segment(ptype, flags, offset, vaddr, filesz, memsz))
    return tuple(segments)


def _sections(
    fd: int, size: int, e: str, is64: bool, off: int, entsize: int, num: int, strndx: int
) -> tuple[Section, ...]:
    want = 64 if is64 else 40
    if num == 0 or num > MAX_SECTIONS or entsize < want or off <= 0 or off + entsize * num > size:
        return ()
    raw = _pread(fd, entsize * num, off)
    if len(raw) < entsize * num:
        return ()
    fmt = e + ("IIQQQQ" if is64 else "IIIIII")
    headers = [struct.unpack_from(fmt, raw, i * entsize) for i in range(num)]
    names = b""
    if 0 < strndx < num:
        _n, _t, _f, _a, str_off, str_size = headers[strndx]
        if str_size <= MAX_NAMES and str_off + str_size <= size:
            names = _pread(fd, str_size, str_off)
    sections: list[Section] = []
    for name_off, stype, _flags, addr, offset, ssize in headers:
        end = names.find(b"\0", name_off) if name_off < len(names) else -1
        name = names[name_off:end].decode("ascii", "replace") if end >= 0 else ""
        sections.append(Section(name=name, addr=addr, offset=offset, size=ssize, type=stype))
    return tuple(sections)
