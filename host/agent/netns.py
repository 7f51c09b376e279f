"""The target's network namespace: its TCP sockets (from `/proc/PID/net/tcp{,6}`), which process
owns each, and running socket code from inside that namespace.

In a pod the ephemeral container shares the pod's network namespace, so the agent's sockets are
already the pod's: `within` just calls the function. When the target's namespace differs from the
agent's (a target started under `unshare --net` locally, or an agent outside the pod), `within`
runs the function on a fresh thread that first joins the target's namespace with `setns(2)`
(network namespaces are per thread; the agent's other threads stay where they are). That needs
CAP_SYS_ADMIN; without it the answer is `unreachable`, never a check run from the wrong place.

Reads are bounded: at most `MAX_SOCKET_LINES` lines per table and `MAX_FDS` descriptors per
process are looked at.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from host.agent.errors import ProcessExited, Unreachable

T = TypeVar("T")

MAX_SOCKET_LINES = 100_000
MAX_FDS = 65_536
CLONE_NEWNET = 0x40000000

TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
}


@dataclass(frozen=True)
class TcpSocket:
    family: str  # "ipv4" | "ipv6"
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: str
    inode: int
    uid: int
    send_queue: int
    receive_queue: int


@dataclass(frozen=True)
class Owner:
    pid: int
    fd: int
    name: str


def _ipv4(hex_addr: str) -> str:
    return str(ipaddress.IPv4Address(int(hex_addr, 16).to_bytes(4, "little")))


def _ipv6(hex_addr: str) -> str:
    raw = b"".join(int(hex_addr[i : i + 8], 16).to_bytes(4, "little") for i in range(0, 32, 8))
    address = ipaddress.IPv6Address(raw)
    return str(address.ipv4_mapped) if address.ipv4_mapped is not None else str(address)


def parse_table(text: str, family: str) -> list[TcpSocket]:
    """The rows of a `/proc/net/tcp` (ipv4) or `tcp6` (ipv6) table; bad rows are skipped."""
    decode = _ipv4 if family == "ipv4" else _ipv6
    sockets: list[TcpSocket] = []
    for line in text.splitlines()[1 : MAX_SOCKET_LINES + 1]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            local, remote = fields[1].split(":"), fields[2].split(":")
            tx, rx = fields[4].split(":")
            sockets.append(
                TcpSocket(
                    family=family,
                    local_address=decode(local[0]),
                    local_port=int(local[1], 16),
                    remote_address=decode(remote[0]),
                    remote_port=int(remote[1], 16),
                    state=TCP_STATES.get(int(fields[3], 16), fields[3]),
                    inode=int(fields[9]),
                    uid=int(fields[7]),
                    send_queue=int(tx, 16),
                    receive_queue=int(rx, 16),
                )
            )
        except (ValueError, IndexError):
            continue
    return sockets


def tcp_sockets(pid: int) -> list[TcpSocket]:
    """Every TCP socket of the network namespace `pid` lives in (IPv4 and IPv6)."""
    found: list[TcpSocket] = []
    for name, family in (("tcp", "ipv4"), ("tcp6", "ipv6")):
        try:
            with open(f"/proc/{pid}/net/{name}", encoding="ascii", errors="replace") as table:
                found += parse_table(table.read(64 << 20), family)
        except FileNotFoundError as exc:
            if not os.path.exists(f"/proc/{pid}"):
                raise ProcessExited(f"process {pid} exited", details={"pid": pid}) from exc
            continue  # no IPv6 in this namespace
    return found


def socket_inodes(pid: int) -> dict[int, int] | None:
    """Socket inode -> fd for the process's open sockets; None when its fds cannot be read."""
    inodes: dict[int, int] = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for name in fds[:MAX_FDS]:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if link.startswith("socket:[") and link.endswith("]"):
            inodes[int(link[8:-1])] = int(name)
    return inodes


def owners(pids: Iterable[int]) -> dict[int, Owner]:
    """Socket inode -> the process (and fd) holding it, over `pids`."""
    found: dict[int, Owner] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as comm:
                name = comm.read(64).strip()
        except OSError:
            continue
        for inode, fd in (socket_inodes(pid) or {}).items():
            found.setdefault(inode, Owner(pid=pid, fd=fd, name=name))
    return found


def netns_id(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def shares_netns(pid: int) -> bool:
    """Whether the agent's sockets are already in the target's network namespace."""
    mine, theirs = netns_id("self"), netns_id(pid)
    return mine is not None and mine == theirs


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def within(pid: int, work: Callable[[], T]) -> T:
    """Run `work` with sockets in the network namespace of `pid` (see the module's docstring)."""
    if shares_netns(pid):
        return work()
    try:
        ns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except FileNotFoundError as exc:
        raise ProcessExited(f"process {pid} exited", details={"pid": pid}) from exc
    except PermissionError as exc:
        raise Unreachable(
            f"the network namespace of process {pid} is not the agent's and cannot be opened "
            "(the agent needs SYS_PTRACE, and SYS_ADMIN to join it)",
            details={"pid": pid},
        ) from exc
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            _setns(ns_fd)
        except OSError as exc:
            failure.append(
                Unreachable(
                    f"cannot join the network namespace of process {pid}: {exc.strerror} "
                    "(joining another namespace needs CAP_SYS_ADMIN; in a pod the agent shares it already)",
                    details={"pid": pid},
                )
            )
            return
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    try:
        thread = threading.Thread(target=run, name=f"netns-{pid}", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(ns_fd)
    if failure:
        raise failure[0]
    return outcome[0]


def connect_addresses(bound: str) -> list[str]:
    """Where to connect to reach a socket listening on `bound`: loopback for the wildcards (an
    IPv6 wildcard usually takes IPv4 too, so 127.0.0.1 first, then ::1)."""
    if bound in ("0.0.0.0", ""):
        return ["127.0.0.1"]
    if bound == "::":
        return ["127.0.0.1", "::1"] if socket.has_ipv6 else ["127.0.0.1"]
    return [bound]


def listening(pid: int) -> list[TcpSocket]:
    """The TCP sockets the process itself listens on (every listener of its namespace when its
    descriptors cannot be read), by port, without duplicates of one port on IPv4 and IPv6."""
    listeners = [s for s in tcp_sockets(pid) if s.state == "LISTEN"]
    own = socket_inodes(pid)
    if own is not None:
        listeners = [s for s in listeners if s.inode in own]
    seen: set[tuple[str, int]] = set()
    unique: list[TcpSocket] = []
    for sock in sorted(listeners, key=lambda s: (s.local_port, s.family)):
        key = (sock.local_address, sock.local_port)
        if key not in seen:
            seen.add(key)
            unique.append(sock)
    return unique
