"""`network`: sockets, DNS, TCP connects and HTTP GETs from the target's network namespace, with
the target's resolv.conf: a refused port, a name that does not resolve and a slow endpoint are
each reported for what they are (local targets only)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.agent import dns
from tests.agent.conftest import TARGETS, Spawner, run_agent

SERVER = [sys.executable, str(TARGETS / "net_server.py")]

# The fake cluster DNS: name -> (CNAME target or None, addresses); anything else NXDOMAIN.
RECORDS: dict[str, tuple[str | None, list[str]]] = {
    "api.shop.svc.cluster.local": (None, ["10.96.0.7"]),
    "www.example.test": ("api.shop.svc.cluster.local", ["10.96.0.7"]),
    "127.0.0.1.nip.test": (None, ["127.0.0.1"]),
    "txt-only.test": (None, []),
}
SILENT = {"black-hole.test"}  # never answered: a DNS timeout


def _answer(query: bytes) -> bytes | None:
    query_id, _flags, _qd = struct.unpack_from(">HHH", query, 0)
    labels, pos = [], 12
    while query[pos]:
        labels.append(query[pos + 1 : pos + 1 + query[pos]].decode())
        pos += 1 + query[pos]
    qtype = struct.unpack_from(">H", query, pos + 1)[0]
    question = query[12 : pos + 5]
    name = ".".join(labels).lower()
    if name in SILENT:
        return None
    if name not in RECORDS:
        return struct.pack(">HHHHHH", query_id, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
    cname, addresses = RECORDS[name]
    records = b""
    count = 0
    if cname is not None:
        target = b"".join(bytes([len(p)]) + p.encode() for p in cname.split(".")) + b"\0"
        records += b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 30, len(target)) + target
        count += 1
    if qtype == 1:
        for address in addresses:
            records += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(address)
            count += 1
    return struct.pack(">HHHHHH", query_id, 0x8180, 1, count, 0, 0) + question + records


@pytest.fixture
def fake_dns() -> Iterator[str]:
    """A UDP DNS server on 127.0.0.1 answering RECORDS; yields its IP:PORT."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = _answer(query)
            if reply is not None:
                sock.sendto(reply, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(5)
    sock.close()


def _root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (unshare, bind mounts, setns)")


def test_a_refused_port_a_dns_failure_and_a_slow_endpoint_are_each_reported(
    spawn: Spawner, fake_dns: str, free_port: int
) -> None:
    target = spawn(SERVER)
    port = int(target.ready_line.split()[1])
    base = f"http://127.0.0.1:{port}"

    run = run_agent(
        "network", "--pid", str(target.pid), "--nameserver", fake_dns, "--timeout", "1",
        "--resolve", "nothing.invalid", "--resolve", "black-hole.test",
        "--connect", f"127.0.0.1:{free_port}", "--connect", f"127.0.0.1.nip.test:{port}",
        "--http", f"{base}/", "--http", f"{base}/slow?seconds=0.6", "--http", f"{base}/slow?seconds=3",
        "--http", f"http://nothing.invalid:{port}/",
    )

    result = run.result
    nxdomain, silent = result["dns"]
    assert (nxdomain["outcome"], nxdomain["addresses"]) == ("nxdomain", [])
    assert "nothing.invalid does not exist (NXDOMAIN" in nxdomain["error"]
    assert silent["outcome"] == "timeout" and "within 1 s" in silent["error"]
    refused, reached = result["connects"]
    assert (refused["ok"], refused["outcome"]) == (False, "refused")
    assert f"connect to 127.0.0.1:{free_port}: Connection refused" == refused["error"]
    assert (reached["ok"], reached["outcome"], reached["address"]) == (True, "connected", "127.0.0.1")
    assert reached["timings"]["dnsMs"] is not None and reached["timings"]["connectMs"] is not None
    fast, slowish, too_slow, unresolvable = result["http"]
    assert (fast["status"], fast["outcome"], fast["bodyPreview"]) == (200, "answered", "hello from the network target\n")
    assert fast["timings"]["firstByteMs"] < 500
    assert (slowish["status"], slowish["outcome"]) == (200, "answered")
    assert slowish["timings"]["firstByteMs"] >= 550 and slowish["timings"]["totalMs"] >= 550
    assert (too_slow["ok"], too_slow["outcome"], too_slow["phase"]) == (False, "timeout", "firstByte")
    assert 900 <= too_slow["timings"]["totalMs"] < 2000
    assert (unresolvable["outcome"], unresolvable["phase"]) == ("dns", "dns")
    # the checks ran side by side: about the slowest one, not their sum
    assert result["seconds"] < 2.5


def test_the_sockets_of_the_namespace_name_their_process(spawn: Spawner) -> None:
    target = spawn(SERVER)
    port, client_port = map(int, target.ready_line.split()[1:3])

    result = run_agent("network", "--pid", str(target.pid)).result

    (listener,) = [s for s in result["listening"] if s["localPort"] == port]
    assert (listener["pid"], listener["process"], listener["localAddress"]) == (target.pid, "python", "127.0.0.1")
    held = [s for s in result["established"] if s["localPort"] == client_port]
    assert held and (held[0]["remotePort"], held[0]["pid"]) == (port, target.pid)
    assert result["establishedTotal"] >= 2  # both ends of the held connection
    assert result["dns"] == [] and result["connects"] == [] and result["http"] == []


def test_names_resolve_with_the_targets_own_search_list_and_ndots(
    spawn: Spawner, fake_dns: str, tmp_path: Path
) -> None:
    """A pod's resolv.conf (cluster search domains, ndots:5), mounted over /etc/resolv.conf in the
    target's own mount namespace: the agent reads it through /proc/PID/root."""
    _root()
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
        encoding="utf-8",
    )
    mounted = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind {conf} /etc/resolv.conf && exec "$0" "$@"']
    target = spawn(SERVER, prefix=mounted)

    run = run_agent(
        "network", "--pid", str(target.pid), "--nameserver", fake_dns, "--no-sockets",
        "--resolve", "api", "--resolve", "www.example.test", "--resolve", "nothing.invalid", "--resolve", "txt-only.test",
    )

    result = run.result
    assert result["search"] == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert result["ndots"] == 5 and result["nameservers"] == [fake_dns]
    api, www, missing, empty = result["dns"]
    assert (api["outcome"], api["addresses"], api["answeredName"]) == (
        "resolved", ["10.96.0.7"], "api.shop.svc.cluster.local"
    )
    assert api["tried"] == ["api.shop.svc.cluster.local: NOERROR"]
    assert (www["canonicalName"], www["addresses"]) == ("api.shop.svc.cluster.local", ["10.96.0.7"])
    assert www["tried"][-1] == "www.example.test: NOERROR" and len(www["tried"]) == 4  # 2 dots < ndots 5
    assert missing["outcome"] == "nxdomain"
    assert missing["tried"] == [
        "nothing.invalid.shop.svc.cluster.local: NXDOMAIN", "nothing.invalid.svc.cluster.local: NXDOMAIN",
        "nothing.invalid.cluster.local: NXDOMAIN", "nothing.invalid: NXDOMAIN",
    ]
    assert empty["outcome"] == "no_records"


def test_the_checks_run_inside_the_targets_network_namespace(spawn: Spawner) -> None:
    _root()
    isolated = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    target = spawn(SERVER, prefix=isolated)
    port = int(target.ready_line.split()[1])

    result = run_agent("network", "--pid", str(target.pid), "--http", f"http://127.0.0.1:{port}/").result

    assert result["netnsShared"] is False
    assert [s["localPort"] for s in result["listening"]] == [port]  # nothing of the host's namespace
    assert result["http"][0]["status"] == 200


def test_bad_arguments_are_refused() -> None:
    for args in (["--connect", "nohost"], ["--http", "ftp://x/"], ["--timeout", "0"], ["--nameserver", "dns.example"]):
        assert run_agent("network", *args).error["code"] == "bad_argument", args
    too_many = [arg for i in range(dns.MAX_SERVERS + 1) for arg in ("--nameserver", f"10.0.0.{i + 1}")]
    assert run_agent("network", *too_many).error["code"] == "bad_argument"
