"""`network`: the network as the pod sees it: its sockets, DNS answers, TCP connects and HTTP GETs.

Everything runs from inside the target's network namespace (`netns.within`; in a pod the agent
is there already) and resolves names with the target's own `/etc/resolv.conf` and `/etc/hosts`
(`dns.py`: its cluster DNS server, search list and `ndots`), or with `--nameserver` servers:

- **sockets**: listening and established TCP sockets of the namespace (`/proc/PID/net/tcp{,6}`),
  each with the process holding it when the agent can see it, other states counted;
- **`--resolve NAME`**: A/AAAA answers, the name that answered after the search list, the rcode
  of every name tried (a failure is `nxdomain`, `no_records`, `servfail`, `refused`, `timeout`);
- **`--connect HOST:PORT`**: a TCP connect with DNS and connect times (`refused`, `timeout`...);
- **`--http URL`**: a GET with DNS, connect, TLS, first-byte and total times, the status, a few
  headers and the TLS version and certificate (verified unless `--insecure`).

Each check has its own `--timeout`; checks run up to `PARALLEL` at a time, so the action takes
about the slowest check, not their sum. Nothing here touches the target process.
"""

from __future__ import annotations

import collections
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from host.agent import dns, netns, webclient
from host.agent.errors import BadArgument
from host.agent.models import (
    ConnectCheck,
    DnsCheck,
    HttpCheck,
    NetworkResult,
    PhaseTimings,
    SocketEntry,
    TlsSummary,
)
from host.agent.procs import Target, scoped_pids

MAX_CHECKS = 20
MAX_TIMEOUT_SECONDS = 60.0
MAX_ESTABLISHED = 200
MAX_OWNER_PROCESSES = 2000
PARALLEL = 8
MAX_BODY = 1 << 20
PREVIEW_CHARS = 200
KEPT_HEADERS = ("content-type", "content-length", "server", "location")


def parse_hostport(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); BadArgument when it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadArgument(f"--connect wants HOST:PORT (port 1-65535), not {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def validate(names: list[str], connects: list[str], urls: list[str], timeout: float, servers: list[str]) -> None:
    for flag, values in (("--resolve", names), ("--connect", connects), ("--http", urls)):
        if len(values) > MAX_CHECKS:
            raise BadArgument(f"at most {MAX_CHECKS} {flag} checks, not {len(values)}")
        for value in values:
            if not value or len(value) > 2048:
                raise BadArgument(f"{flag} values must be 1 to 2048 characters")
    for connect in connects:
        parse_hostport(connect)
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise BadArgument(f"--http wants an http:// or https:// URL, not {url!r}")
    if not 0.1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise BadArgument(f"--timeout must be 0.1 to {MAX_TIMEOUT_SECONDS:g} seconds, not {timeout:g}")
    for server in servers[: dns.MAX_SERVERS + 1]:
        try:
            dns.parse_server(server)
        except ValueError as exc:
            raise BadArgument(f"--nameserver wants an IP address with an optional port, not {server!r}") from exc
    if len(servers) > dns.MAX_SERVERS:
        raise BadArgument(f"at most {dns.MAX_SERVERS} --nameserver servers")


def _timings(t: webclient.Timings) -> PhaseTimings:
    ms = t.ms()
    return PhaseTimings(
        dns_ms=ms["dnsMs"], connect_ms=ms["connectMs"], tls_ms=ms["tlsMs"],
        first_byte_ms=ms["firstByteMs"], total_ms=ms["totalMs"],
    )


def _resolver(conf: dns.ResolvConf) -> webclient.Resolve:
    def resolve(name: str, timeout: float) -> list[str]:
        found = dns.resolve(name, conf, timeout=timeout)
        if not found.addresses:
            raise webclient.Failure("dns", "dns", found.error or f"cannot resolve {name}")
        return found.addresses

    return resolve


def _dns_check(name: str, conf: dns.ResolvConf, timeout: float) -> DnsCheck:
    found = dns.resolve(name, conf, timeout=timeout)
    return DnsCheck(
        name=name,
        outcome=found.outcome,
        addresses=found.addresses,
        canonical_name=found.canonical_name,
        answered_name=found.answered_name,
        server=found.server,
        tried=[f"{fq}: {rcode}" for fq, rcode in found.tried],
        error=found.error,
        ms=round(found.seconds * 1000, 2),
    )


def _connect_check(spec: str, resolve: webclient.Resolve, timeout: float) -> ConnectCheck:
    host, port = parse_hostport(spec)
    try:
        address, timings = webclient.tcp_check(host, port, timeout=timeout, resolve=resolve)
    except webclient.Failure as exc:
        outcome = exc.kind if exc.kind in ("refused", "timeout", "reset", "unreachable", "dns") else "error"
        return ConnectCheck(
            target=spec, ok=False, outcome=outcome, address=None,
            error=exc.message, timings=_timings(exc.timings),
        )
    return ConnectCheck(target=spec, ok=True, outcome="connected", address=address, error=None, timings=_timings(timings))


def _preview(body: bytes, content_type: str) -> str | None:
    if not body or (not any(kind in content_type for kind in ("text", "json", "xml", "html")) and content_type):
        return None
    return body[: PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS]


def _http_check(url: str, resolve: webclient.Resolve, timeout: float, verify: bool) -> HttpCheck:
    try:
        answer = webclient.get(url, timeout=timeout, max_body=MAX_BODY, resolve=resolve, verify=verify)
    except webclient.Failure as exc:
        known = ("refused", "timeout", "reset", "unreachable", "dns", "tls", "tls_verify", "protocol")
        return HttpCheck(
            url=url, ok=False, outcome=exc.kind if exc.kind in known else "error",
            phase=exc.phase, status=None, reason=None, address=None, headers={}, body_bytes=None,
            body_preview=None, tls=None, error=exc.message, timings=_timings(exc.timings),
        )
    tls = answer.tls
    return HttpCheck(
        url=url, ok=True, outcome="answered", phase=None, status=answer.status, reason=answer.reason,
        address=f"{answer.address}:{answer.port}",
        headers={k: answer.headers[k] for k in KEPT_HEADERS if k in answer.headers},
        body_bytes=len(answer.body),
        body_preview=_preview(answer.body, answer.headers.get("content-type", "")),
        tls=None if tls is None else TlsSummary(
            version=tls.version, cipher=tls.cipher, verified=tls.verified, subject=tls.subject,
            issuer=tls.issuer, not_after=tls.not_after,
        ),
        error=None, timings=_timings(answer.timings),
    )


def _sockets(pid: int) -> tuple[list[SocketEntry], list[SocketEntry], int, dict[str, int]]:
    sockets = netns.tcp_sockets(pid)
    namespace = netns.netns_id(pid)
    allowed = scoped_pids()
    candidates = sorted(allowed) if allowed is not None else psutil.pids()
    same = [p for p in candidates[:MAX_OWNER_PROCESSES] if p != os.getpid() and netns.netns_id(p) == namespace]
    owners = netns.owners(same)

    def entry(sock: netns.TcpSocket, remote: bool) -> SocketEntry:
        owner = owners.get(sock.inode)
        return SocketEntry(
            family=sock.family,
            local_address=sock.local_address, local_port=sock.local_port,
            remote_address=sock.remote_address if remote else None,
            remote_port=sock.remote_port if remote else None,
            state=sock.state, pid=owner.pid if owner else None, process=owner.name if owner else None,
            send_queue=sock.send_queue, receive_queue=sock.receive_queue,
        )

    listening = [entry(s, False) for s in sorted(sockets, key=lambda s: s.local_port) if s.state == "LISTEN"]
    established_all = [s for s in sockets if s.state == "ESTABLISHED"]
    established = [entry(s, True) for s in established_all[:MAX_ESTABLISHED]]
    others = collections.Counter(s.state for s in sockets if s.state not in ("LISTEN", "ESTABLISHED"))
    return listening, established, len(established_all), dict(others.most_common())


def run(
    target: Target | None,
    *,
    names: list[str],
    connects: list[str],
    urls: list[str],
    timeout: float,
    nameservers: list[str],
    insecure: bool,
    sockets: bool,
) -> NetworkResult:
    """The checks, from the namespace of `target` (None: the agent's own, which in a pod is the pod's)."""
    validate(names, connects, urls, timeout, nameservers)
    pid = target.pid if target is not None else os.getpid()
    began = time.monotonic()
    conf = dns.read_target_resolv_conf(pid)
    source = conf.source if conf is not None else None
    if conf is None:
        conf = dns.ResolvConf(nameservers=(), source="no readable /etc/resolv.conf")
    if nameservers:
        conf = dns.ResolvConf(
            nameservers=tuple(dns.parse_server(s) for s in nameservers), search=conf.search, ndots=conf.ndots,
            source="--nameserver", hosts=conf.hosts,
        )
        source = "--nameserver (search list and ndots from " + (source or "defaults") + ")"

    def checks() -> tuple[Any, ...]:
        listening, established, total, others = _sockets(pid) if sockets else ([], [], 0, {})
        resolve = _resolver(conf)
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="check") as pool:
            dns_jobs = [pool.submit(_dns_check, name, conf, timeout) for name in names]
            connect_jobs = [pool.submit(_connect_check, spec, resolve, timeout) for spec in connects]
            http_jobs = [pool.submit(_http_check, url, resolve, timeout, not insecure) for url in urls]
            return (
                listening, established, total, others,
                [j.result() for j in dns_jobs], [j.result() for j in connect_jobs], [j.result() for j in http_jobs],
            )

    listening, established, total, others, dns_checks, connect_checks, http_checks = netns.within(pid, checks)
    return NetworkResult(
        pid=target.pid if target is not None else None,
        netns_shared=netns.shares_netns(pid),
        resolv_conf=source,
        nameservers=[f"{h}:{p}" if p != 53 else h for h, p in conf.nameservers],
        search=list(conf.search),
        ndots=conf.ndots,
        listening=listening,
        established=established,
        established_total=total,
        other_sockets=others,
        dns=dns_checks,
        connects=connect_checks,
        http=http_checks,
        seconds=round(time.monotonic() - began, 3),
    )
