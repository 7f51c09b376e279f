"""A small DNS stub resolver that resolves as the pod does: its `resolv.conf`, its search list.

The agent reads the target's `/etc/resolv.conf` through `/proc/PID/root` (the pod's: cluster DNS
server, `<ns>.svc.cluster.local` search domains, `ndots:5`) and asks those servers itself over
UDP (TCP when an answer comes back truncated), from inside the target's network namespace
(`netns.within`). It tries the names glibc would, in glibc's order: a name with at least `ndots`
dots (or ending in a dot) as is first, then with each search domain; otherwise the search
domains first. The target's `/etc/hosts` is looked at first (the pod's own name, hostAliases);
then for each name it asks for A and AAAA records and follows CNAMEs in the answer.

Everything is bounded: at most 3 servers, 6 search domains, one deadline for the whole
resolution, 64 KiB answers, 32 compression jumps per name.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import stat
import struct
import time
from dataclasses import dataclass, field, replace

MAX_SERVERS = 3
MAX_SEARCH = 6
MAX_ANSWER = 64 << 10
DEFAULT_NDOTS = 1

TYPE_A, TYPE_CNAME, TYPE_AAAA = 1, 5, 28
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[tuple[str, int], ...]
    search: tuple[str, ...] = ()
    ndots: int = DEFAULT_NDOTS
    source: str = "/etc/resolv.conf"
    hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # /etc/hosts: name -> addresses


def parse_hosts(text: str) -> dict[str, tuple[str, ...]]:
    """An /etc/hosts file: lower-cased name -> its addresses in file order (at most 10,000 lines)."""
    found: dict[str, list[str]] = {}
    for raw in text.splitlines()[:10_000]:
        words = raw.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(words[0].split("%", 1)[0]))
        except ValueError:
            continue
        for host in words[1:]:
            entry = found.setdefault(host.lower().rstrip("."), [])
            if address not in entry:
                entry.append(address)
    return {name: tuple(addresses) for name, addresses in found.items()}


def parse_resolv_conf(text: str, source: str = "/etc/resolv.conf") -> ResolvConf:
    """The parts of resolv.conf a stub resolver uses (nameserver, search/domain, options ndots)."""
    servers: list[tuple[str, int]] = []
    search: list[str] = []
    ndots = DEFAULT_NDOTS
    for raw in text.splitlines()[:1000]:
        words = raw.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        key, args = words[0], words[1:]
        if key == "nameserver" and args and len(servers) < MAX_SERVERS:
            try:
                servers.append((str(ipaddress.ip_address(args[0].split("%", 1)[0])), 53))
            except ValueError:
                continue
        elif key in ("search", "domain") and args:
            search = [domain.rstrip(".") for domain in args if domain.strip(".")][:MAX_SEARCH]
        elif key == "options":
            for option in args:
                if option.startswith("ndots:") and option[6:].isdigit():
                    ndots = min(int(option[6:]), 15)
    return ResolvConf(nameservers=tuple(servers), search=tuple(search), ndots=ndots, source=source)


def _read_target_file(pid: int, path: str) -> str | None:
    """A small regular file of the target's filesystem, not following a final symlink (through the
    target's root a symlink would resolve in the agent's filesystem); None when unreadable."""
    try:
        fd = os.open(f"/proc/{pid}/root{path}", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.pread(fd, 64 << 10, 0).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_target_resolv_conf(pid: int) -> ResolvConf | None:
    """The target's resolv.conf (with its /etc/hosts), or None when it cannot be read."""
    text = _read_target_file(pid, "/etc/resolv.conf")
    if text is None:
        return None
    conf = parse_resolv_conf(text, source=f"/proc/{pid}/root/etc/resolv.conf (the target's)")
    hosts = _read_target_file(pid, "/etc/hosts")
    return replace(conf, hosts=parse_hosts(hosts)) if hosts is not None else conf


def parse_server(text: str) -> tuple[str, int]:
    """`10.0.0.10`, `10.0.0.10:5353`, `[fd00::a]:53` or `fd00::a` -> (address, port); ValueError if not."""
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return str(ipaddress.ip_address(host)), port


def candidates(name: str, conf: ResolvConf) -> list[str]:
    """The fully qualified names to try, in order (glibc's rules)."""
    if name.endswith("."):
        return [name.rstrip(".")]
    searched = [f"{name}.{domain}" for domain in conf.search]
    if name.count(".") >= conf.ndots:
        return [name, *searched]
    return [*searched, name]


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not raw or len(raw) > 63:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(name: str, qtype: int, query_id: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # recursion desired
    return header + _encode_name(name) + struct.pack(">HH", qtype, 1)


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    labels: list[str] = []
    end: int | None = None
    for _ in range(32):
        if pos >= len(data):
            raise ValueError("name past the end")
        length = data[pos]
        if length == 0:
            return ".".join(labels), end if end is not None else pos + 1
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise ValueError("bad pointer")
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        labels.append(data[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    raise ValueError("too many compression jumps")


@dataclass
class Answer:
    rcode: str
    truncated: bool
    addresses: list[str] = field(default_factory=list)
    cnames: list[str] = field(default_factory=list)


def parse_answer(data: bytes, query_id: int) -> Answer:
    """Addresses (A, AAAA) and CNAME targets of a response; ValueError when it is not one for us."""
    if len(data) < 12:
        raise ValueError("short answer")
    rid, flags, qdcount, ancount, _ns, _ar = struct.unpack_from(">HHHHHH", data, 0)
    if rid != query_id or not flags & 0x8000:
        raise ValueError("not the answer to our query")
    answer = Answer(rcode=RCODES.get(flags & 0xF, str(flags & 0xF)), truncated=bool(flags & 0x0200))
    pos = 12
    for _ in range(min(qdcount, 4)):
        _, pos = _read_name(data, pos)
        pos += 4
    for _ in range(min(ancount, 256)):
        _, pos = _read_name(data, pos)
        if pos + 10 > len(data):
            raise ValueError("record past the end")
        rtype, _cls, _ttl, length = struct.unpack_from(">HHIH", data, pos)
        pos += 10
        rdata = data[pos : pos + length]
        if rtype == TYPE_A and length == 4:
            answer.addresses.append(str(ipaddress.IPv4Address(rdata)))
        elif rtype == TYPE_AAAA and length == 16:
            answer.addresses.append(str(ipaddress.IPv6Address(rdata)))
        elif rtype == TYPE_CNAME:
            answer.cnames.append(_read_name(data, pos)[0])
        pos += length
    return answer


class DnsTimeout(Exception):
    """No server answered before the deadline."""


def _ask_udp(server: tuple[str, int], query: bytes, deadline: float) -> bytes:
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(server)
        sock.send(query)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DnsTimeout
            sock.settimeout(remaining)
            try:
                data = sock.recv(MAX_ANSWER)
            except TimeoutError as exc:
                raise DnsTimeout from exc
            if data[:2] == query[:2]:
                return data


def _ask_tcp(server: tuple[str, int], query: bytes, deadline: float) -> bytes:
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            sock.connect(server)
            sock.sendall(struct.pack(">H", len(query)) + query)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack_from(">H", data)[0]:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(MAX_ANSWER)
                if not chunk:
                    raise ValueError("connection closed mid-answer")
                data += chunk
                if len(data) > MAX_ANSWER + 2:
                    raise ValueError("answer too long")
        except TimeoutError as exc:
            raise DnsTimeout from exc
    return data[2:]


def ask(server: tuple[str, int], name: str, qtype: int, deadline: float) -> Answer:
    """One question to one server: over UDP, again over TCP when the answer was truncated."""
    query_id = secrets.randbelow(1 << 16)
    query = build_query(name, qtype, query_id)
    answer = parse_answer(_ask_udp(server, query, deadline), query_id)
    if answer.truncated:
        answer = parse_answer(_ask_tcp(server, query, deadline), query_id)
    return answer


@dataclass
class Resolution:
    """What resolving one name gave: the addresses, or why not, and every name tried."""

    name: str
    addresses: list[str]
    canonical_name: str | None
    answered_name: str | None
    server: str | None
    outcome: str  # resolved | nxdomain | no_records | servfail | refused | timeout | error
    error: str | None
    tried: list[tuple[str, str]]  # (fully qualified name, rcode or "timeout")
    seconds: float


def resolve(name: str, conf: ResolvConf, *, timeout: float) -> Resolution:
    """Resolve `name` with `conf` before `timeout` seconds run out (see the module docstring)."""
    began = time.monotonic()
    deadline = began + timeout
    tried: list[tuple[str, str]] = []

    def done(
        outcome: str,
        error: str | None,
        *,
        addresses: list[str] | None = None,
        canonical: str | None = None,
        answered: str | None = None,
        server: str | None = None,
    ) -> Resolution:
        return Resolution(
            name=name, addresses=addresses or [], canonical_name=canonical, answered_name=answered,
            server=server, outcome=outcome, error=error, tried=tried,
            seconds=round(time.monotonic() - began, 4),
        )

    try:
        names = candidates(name, conf)
        for fq in names:
            _encode_name(fq)
    except (ValueError, UnicodeError) as exc:
        try:
            return done("resolved", None, addresses=[str(ipaddress.ip_address(name))], answered=name)
        except ValueError:
            return done("error", f"{name!r} is not a valid DNS name: {exc}")
    try:
        return done("resolved", None, addresses=[str(ipaddress.ip_address(name))], answered=name)
    except ValueError:
        pass  # a name, not an address
    for fq in names:
        if (listed := conf.hosts.get(fq.lower())) is not None:
            tried.append((fq, "hosts"))
            return done("resolved", None, addresses=list(listed), answered=fq, server="/etc/hosts")
    if not conf.nameservers:
        return done("error", f"no nameserver in {conf.source}")
    server_failures: list[str] = []
    saw_no_records = False
    for fq in names:
        for index, server in enumerate(conf.nameservers):
            label = f"{server[0]}:{server[1]}" if server[1] != 53 else server[0]
            try:
                # One server's share of the time left, so a dead first server leaves time for the others.
                share = (deadline - time.monotonic()) / (len(conf.nameservers) - index)
                first = ask(server, fq, TYPE_A, time.monotonic() + share)
                if first.rcode == "NOERROR":
                    second = ask(server, fq, TYPE_AAAA, time.monotonic() + share / 2)
                else:
                    second = Answer(rcode=first.rcode, truncated=False)
            except DnsTimeout:
                tried.append((fq, "timeout"))
                server_failures.append(f"{label} did not answer in time")
                if time.monotonic() >= deadline:
                    return done("timeout", f"no answer for {name} within {timeout:g} s ({'; '.join(server_failures)})")
                continue
            except (OSError, ValueError) as exc:
                tried.append((fq, "error"))
                server_failures.append(f"{label}: {exc}")
                continue
            tried.append((fq, first.rcode))
            if first.rcode in ("SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"):
                server_failures.append(f"{label} answered {first.rcode}")
                continue  # the next server may know
            addresses = list(dict.fromkeys(first.addresses + second.addresses))
            if addresses:
                cnames = first.cnames or second.cnames
                return done(
                    "resolved", None, addresses=addresses, canonical=cnames[-1] if cnames else None,
                    answered=fq, server=label,
                )
            if first.rcode == "NOERROR":
                saw_no_records = True
            break  # NXDOMAIN or no records: this name is settled, try the next one
    if saw_no_records:
        return done("no_records", f"{name} exists but has no A or AAAA record (tried {', '.join(n for n, _ in tried)})")
    if tried and all(rcode == "NXDOMAIN" for _, rcode in tried):
        return done("nxdomain", f"{name} does not exist (NXDOMAIN for {', '.join(n for n, _ in tried)})")
    if server_failures and not any(rcode == "NXDOMAIN" for _, rcode in tried):
        kind = "timeout" if all("in time" in f for f in server_failures) else (
            "servfail" if any("SERVFAIL" in f for f in server_failures) else
            "refused" if any("REFUSED" in f for f in server_failures) else "error")
        return done(kind, f"cannot resolve {name}: {'; '.join(dict.fromkeys(server_failures))}")
    return done("nxdomain", f"{name} does not exist (NXDOMAIN for {', '.join(n for n, rc in tried if rc == 'NXDOMAIN')})")
