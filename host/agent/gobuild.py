"""The build information the Go linker writes into every binary, read as `go version -m` does.

Go 1.13+ puts a 32-byte header in the `.go.buildinfo` section (or, when section headers are
stripped, near the start of the first writable data segment), 16-byte aligned, starting with
`\\xff Go buildinf:`. Byte 14 is the pointer size, byte 15 flags: bit 1 (Go 1.18+) means the
version string and the module info follow the header inline, each prefixed by its length as a
uvarint; without it, two pointers at offsets 16 and 16 + ptrSize point to Go string headers
(pointer, length) for `runtime.buildVersion` and `runtime.modinfo`. The module info is framed by
16 bytes on each side and holds `path`, `mod`, `dep` and `build` lines, tab-separated.

Every read is bounded (64 KiB searched, strings capped), so a hostile binary costs at most a few
small reads; anything that does not parse is "no build info".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from host.agent.elf import ElfFile

MAGIC = b"\xff Go buildinf:"
SEARCH_BYTES = 64 << 10
ALIGN = 16
MAX_VERSION = 256
MAX_MODINFO = 256 << 10
_FLAG_BIG_ENDIAN, _FLAG_INLINE = 0x1, 0x2
GO_SECTIONS = (".go.buildinfo", ".gopclntab", ".note.go.buildid", ".gosymtab")


@dataclass(frozen=True)
class GoBuildInfo:
    version: str
    path: str | None = None
    main_module: str | None = None
    main_version: str | None = None
    settings: dict[str, str] = field(default_factory=dict)


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    raise ValueError("bad uvarint")


def _inline_string(data: bytes, pos: int, limit: int) -> tuple[bytes, int]:
    length, pos = _uvarint(data, pos)
    if length > limit or pos + length > len(data):
        raise ValueError("string out of bounds")
    return data[pos : pos + length], pos + length


def _pointer_string(elf: ElfFile, header: bytes, at: int, ptr_size: int, big: bool, limit: int) -> bytes:
    e = ">" if big else "<"
    code = "Q" if ptr_size == 8 else "I"
    (address,) = struct.unpack_from(e + code, header, at)
    string_header = elf.read_vaddr(address, 2 * ptr_size)
    if len(string_header) < 2 * ptr_size:
        return b""
    data_ptr, length = struct.unpack_from(e + code * 2, string_header, 0)
    if length > limit:
        return b""
    return elf.read_vaddr(data_ptr, length)


def _find_header(elf: ElfFile) -> bytes | None:
    section = elf.section(".go.buildinfo")
    if section is not None and section.type != 8:  # SHT_NOBITS has nothing in the file
        data = elf.read(section.offset, min(section.size, SEARCH_BYTES))
    else:
        segment = elf.first_data_segment()
        if segment is None:
            return None
        data = elf.read(segment.offset, min(segment.filesz, SEARCH_BYTES))
    pos = 0
    while True:
        found = data.find(MAGIC, pos)
        if found < 0 or found + 32 > len(data):
            return None
        if found % ALIGN == 0:
            return data[found:]
        pos = found + 1


def _modinfo(raw: bytes) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    if len(raw) >= 33 and raw[-17:-16] == b"\n":
        raw = raw[16:-16]
    path = module = version = None
    settings: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if parts[0] == "path" and len(parts) >= 2:
            path = parts[1]
        elif parts[0] == "mod" and len(parts) >= 2:
            module = parts[1]
            version = parts[2] if len(parts) >= 3 and parts[2] else None
        elif parts[0] == "build" and len(parts) >= 2 and "=" in parts[1] and len(settings) < 64:
            key, _, value = parts[1].partition("=")
            settings[key] = value[:200]
    return path, module, version, settings


def read_build_info(elf: ElfFile) -> GoBuildInfo | None:
    """The Go version and main module of the binary, or None when it carries no build info."""
    header = _find_header(elf)
    if header is None:
        return None
    ptr_size, flags = header[14], header[15]
    try:
        if flags & _FLAG_INLINE:
            version, pos = _inline_string(header, 32, MAX_VERSION)
            modinfo, _ = _inline_string(header, pos, MAX_MODINFO)
        elif ptr_size in (4, 8):
            big = bool(flags & _FLAG_BIG_ENDIAN)
            version = _pointer_string(elf, header, 16, ptr_size, big, MAX_VERSION)
            modinfo = _pointer_string(elf, header, 16 + ptr_size, ptr_size, big, MAX_MODINFO)
        else:
            return None
    except (ValueError, struct.error):
        return None
    text = version.decode("utf-8", "replace")
    if not text.startswith("go"):
        return None
    path, module, module_version, settings = _modinfo(modinfo)
    return GoBuildInfo(
        version=text, path=path, main_module=module, main_version=module_version, settings=settings
    )


def looks_like_go(elf: ElfFile) -> bool:
    """Whether the binary has any of the sections only the Go linker writes."""
    return any(section.name in GO_SECTIONS for section in elf.sections)
