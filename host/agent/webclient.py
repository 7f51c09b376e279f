"""TCP connects and HTTP(S) GETs with a deadline and per-phase timings, on plain sockets.

One request per connection (`Connection: close`), HTTP/1.1, identity encoding, chunked bodies
decoded. Each call has one deadline for all its phases; every phase's duration is recorded
(`dns`, `connect`, `tls`, `firstByte` = request written to first response byte, `total`), and a
failure says in which phase it happened and what kind it was (`refused`, `timeout`, `reset`,
`unreachable`, `tls`, `tls_verify`, `dns`, `protocol`). Response heads are capped at 64 KiB and
bodies at the caller's `max_body`, so a hostile endpoint costs bounded memory.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 64 << 10
USER_AGENT = "wfhost-agent"

# name -> addresses, raising Failure(phase="dns") when it cannot.
Resolve = Callable[[str, float], list[str]]


@dataclass
class Timings:
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    first_byte: float | None = None
    total: float | None = None

    def ms(self) -> dict[str, float | None]:
        return {
            key: None if value is None else round(value * 1000, 2)
            for key, value in (
                ("dnsMs", self.dns), ("connectMs", self.connect), ("tlsMs", self.tls),
                ("firstByteMs", self.first_byte), ("totalMs", self.total),
            )
        }


@dataclass
class TlsInfo:
    version: str | None
    cipher: str | None
    verified: bool
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None


class Failure(Exception):
    """A check that did not get its answer: `kind` of failure, `phase` it happened in."""

    def __init__(self, kind: str, phase: str, message: str, timings: Timings | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.phase = phase
        self.message = message
        self.timings = timings or Timings()


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    truncated: bool
    address: str
    port: int
    timings: Timings
    tls: TlsInfo | None = None
    notes: list[str] = field(default_factory=list)


def _kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_verify"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return "unreachable"
    return "error"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def connect(
    host: str, port: int, *, deadline: float, resolve: Resolve | None, timings: Timings
) -> tuple[socket.socket, str]:
    """A connected TCP socket to the first address of `host` that accepts, and that address."""
    began = time.monotonic()
    if is_address(host):
        addresses = [host]
    elif resolve is None:
        raise Failure("dns", "dns", f"no resolver for {host}", timings)
    else:
        addresses = resolve(host, max(0.001, deadline - time.monotonic()))
        timings.dns = time.monotonic() - began
    started = time.monotonic()
    last: BaseException | None = None
    for address in addresses[:4]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect((address, port))
        except (OSError, TimeoutError) as exc:
            sock.close()
            last = exc
            if isinstance(exc, TimeoutError):
                break
            continue
        timings.connect = time.monotonic() - started
        return sock, address
    timings.connect = time.monotonic() - started
    timings.total = time.monotonic() - began
    assert last is not None
    target = f"{addresses[0]}:{port}" if len(addresses) == 1 else f"{host}:{port} ({', '.join(addresses[:4])})"
    raise Failure(_kind(last), "connect", f"connect to {target}: {_describe(last)}", timings) from last


def tcp_check(host: str, port: int, *, timeout: float, resolve: Resolve | None) -> tuple[str, Timings]:
    """Connect and close; the address connected to and the timings. Raises Failure."""
    began = time.monotonic()
    timings = Timings()
    sock, address = connect(host, port, deadline=began + timeout, resolve=resolve, timings=timings)
    sock.close()
    timings.total = time.monotonic() - began
    return address, timings


def _decode_chunked(body: bytes, limit: int) -> tuple[bytes, bool]:
    out = bytearray()
    pos = 0
    while pos < len(body):
        end = body.find(b"\r\n", pos)
        if end < 0:
            return bytes(out), True
        try:
            size = int(body[pos:end].split(b";", 1)[0].strip() or b"0", 16)
        except ValueError as exc:
            raise Failure("protocol", "body", "bad chunk size in a chunked body") from exc
        if size == 0:
            return bytes(out), False
        start = end + 2
        out += body[start : start + size]
        if len(out) >= limit:
            return bytes(out[:limit]), True
        pos = start + size + 2
    return bytes(out), True


def _tls_info(sock: ssl.SSLSocket, verified: bool) -> TlsInfo:
    cipher = sock.cipher()
    info = TlsInfo(version=sock.version(), cipher=cipher[0] if cipher else None, verified=verified)
    cert = sock.getpeercert() if verified else None
    if cert:
        def name(key: str) -> str | None:
            flat: list[str] = []
            for rdn in cert.get(key) or ():
                for pair in rdn if isinstance(rdn, tuple) else ():
                    if isinstance(pair, tuple) and len(pair) == 2:
                        flat.append(f"{pair[0]}={pair[1]}")
            return ", ".join(flat) or None

        info.subject, info.issuer = name("subject"), name("issuer")
        not_after = cert.get("notAfter")
        info.not_after = str(not_after) if not_after else None
    return info


def get(
    url: str,
    *,
    timeout: float,
    max_body: int,
    resolve: Resolve | None = None,
    verify: bool = True,
    headers: dict[str, str] | None = None,
) -> Response:
    """GET `url`; the response with its timings, or Failure (kind, phase, timings so far)."""
    began = time.monotonic()
    deadline = began + timeout
    timings = Timings()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failure("error", "request", f"not an http(s) URL: {url}", timings)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Failure("error", "request", f"bad port in {url}", timings) from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock, address = connect(host, port, deadline=deadline, resolve=resolve, timings=timings)
    tls: TlsInfo | None = None
    phase = "tls"
    try:
        if parts.scheme == "https":
            started = time.monotonic()
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock.settimeout(_remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=host)
            timings.tls = time.monotonic() - started
            tls = _tls_info(sock, verify)
        phase = "request"
        host_header = f"[{host}]" if ":" in host else host
        if parts.port:
            host_header += f":{parts.port}"
        lines = [f"GET {path} HTTP/1.1", f"Host: {host_header}", f"User-Agent: {USER_AGENT}",
                 "Accept: */*", "Accept-Encoding: identity", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.settimeout(_remaining(deadline))
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        sent = time.monotonic()
        phase = "firstByte"
        sock.settimeout(_remaining(deadline))
        data = sock.recv(65536)
        timings.first_byte = time.monotonic() - sent
        if not data:
            raise Failure("reset", phase, "the server closed the connection without answering", timings)
        phase = "body"
        buffer = bytearray(data)
        limit = MAX_HEAD + max_body + 4096
        truncated = False
        while not _complete(buffer):
            if len(buffer) >= limit:
                truncated = True
                break
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(min(1 << 20, limit - len(buffer)))
            if not chunk:
                break
            buffer += chunk
        timings.total = time.monotonic() - began
    except Failure:
        raise
    except (OSError, TimeoutError, ValueError) as exc:
        timings.total = time.monotonic() - began
        raise Failure(_kind(exc), phase, f"{phase}: {_describe(exc)}", timings) from exc
    finally:
        sock.close()
    return _parse(bytes(buffer), max_body, truncated, address, port, timings, tls)


def _complete(buffer: bytearray) -> bool:
    """Whether the whole answer is in: its Content-Length reached, or a chunked body's last chunk."""
    head_end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
    if head_end < 0:
        return False
    head = bytes(buffer[:head_end])
    declared = _content_length(head)
    if declared is not None:
        return len(buffer) >= head_end + 4 + declared
    if b"chunked" in head.lower():
        return buffer.endswith(b"\r\n0\r\n\r\n") or bytes(buffer[head_end + 4 :]).startswith(b"0\r\n\r\n")
    return False


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _parse(
    raw: bytes, max_body: int, truncated: bool, address: str, port: int, timings: Timings, tls: TlsInfo | None
) -> Response:
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0 or head_end > MAX_HEAD:
        raise Failure("protocol", "body", "the answer is not HTTP (no end of headers in 64 KiB)", timings)
    head = raw[:head_end].decode("latin-1").split("\r\n")
    status_line = head[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
        raise Failure("protocol", "body", f"not an HTTP status line: {head[0][:100]!r}", timings)
    headers: dict[str, str] = {}
    for line in head[1:200]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()[:1000]
    body = raw[head_end + 4 :]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, cut = _decode_chunked(body, max_body)
        truncated = truncated or cut
    if len(body) > max_body:
        body, truncated = body[:max_body], True
    return Response(
        status=int(status_line[1]), reason=status_line[2] if len(status_line) > 2 else "",
        headers=headers, body=body, truncated=truncated, address=address, port=port, timings=timings, tls=tls,
    )
