"""A switchable chaos proxy between a client (the host) and an API server, for fault-injection tests.

`ChaosProxy` listens on plain HTTP on 127.0.0.1 and forwards each request to the upstream API
server (the stand-in over HTTP, or the real kube-apiserver over HTTPS with the client certificate
it is given, so the client needs no credentials of its own). It speaks just enough HTTP/1.1 to
decide per request: one request per client connection (the upstream is asked to close after its
answer, which the client then sees too), the answer relayed byte for byte, so a watch stream
streams through. Faults, each switchable while it runs, from any thread:

- `cut_connections()` aborts every open connection at once (a watch stream drops mid-body, a
  list breaks mid-answer); `cut_every` does it periodically (None: never);
- `fail_next(count, status, retry_after)` answers the next `count` requests itself with that
  status and a `Status` body (500 InternalError, 429 TooManyRequests or 503 with `Retry-After`);
- `delay` holds every request that long before forwarding it (a slow API server).

`stats` counts what it did, for the test's assertions and the docs' numbers. The proxy runs on
its own event loop in a daemon thread (`start()`, `stop()`, or `with ChaosProxy(...) as proxy`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import structlog

from host.localcluster.loopthread import LoopThread

log = structlog.get_logger(__name__)

MAX_HEAD_BYTES = 64 * 1024
RELAY_CHUNK = 64 * 1024
_START_TIMEOUT_SECONDS = 10.0
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
_STATUS_REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
# Hop-by-hop or rewritten by the proxy: not forwarded as the client sent them.
_DROPPED_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "host"})


@dataclass
class ChaosStats:
    """What the proxy did so far."""

    requests: int = 0
    forwarded: int = 0
    injected: dict[int, int] = field(default_factory=dict)
    cuts: int = 0
    connections_cut: int = 0
    upstream_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "forwarded": self.forwarded,
            "injected": {str(code): n for code, n in sorted(self.injected.items())},
            "cuts": self.cuts,
            "connections_cut": self.connections_cut,
            "upstream_failures": self.upstream_failures,
        }


@dataclass
class _Failures:
    remaining: int = 0
    status: int = 500
    retry_after: int | None = None


class ChaosProxy:
    """Plain HTTP on `url`, forwarded to `upstream`, with the faults switched on at the moment."""

    def __init__(
        self,
        upstream: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        drop_authorization: bool = False,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise ValueError(f"not an http(s) URL: {upstream!r}")
        self.upstream = upstream
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl_context if parts.scheme == "https" else None
        if parts.scheme == "https" and self._ssl is None:
            self._ssl = ssl.create_default_context()
        self._drop_authorization = drop_authorization
        self.cut_every: float | None = None
        self.delay: float = 0.0
        self.stats = ChaosStats()
        self.url = ""
        self._failures = _Failures()
        self._lock = threading.Lock()
        self._open: set[asyncio.Transport] = set()
        self._runner = LoopThread("chaos-proxy")
        self._server: asyncio.Server | None = None
        self._cutter: asyncio.Task[None] | None = None

    # -- switches (any thread) -----------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, retry_after: int | None = None) -> None:
        """Answer the next `count` requests with `status` (and `Retry-After: retry_after`)."""
        with self._lock:
            self._failures = _Failures(remaining=count, status=status, retry_after=retry_after)

    @property
    def pending_failures(self) -> int:
        """How many of the requested failures are still to be answered."""
        with self._lock:
            return self._failures.remaining

    def cut_connections(self) -> int:
        """Abort every open connection now (both sides); returns how many were open."""
        if not self._runner.running:
            return 0
        return self._runner.call(self._cut(), timeout=_START_TIMEOUT_SECONDS)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ChaosProxy:
        if self._runner.running:
            return self
        self._runner.start()
        self._runner.call(self._start(), timeout=_START_TIMEOUT_SECONDS)
        log.info("chaos.started", url=self.url, upstream=self.upstream)
        return self

    def stop(self) -> None:
        if not self._runner.running:
            return
        try:
            self._runner.call(self._stop(), timeout=_START_TIMEOUT_SECONDS)
        finally:
            self._runner.stop(timeout=_START_TIMEOUT_SECONDS)
        log.info("chaos.stopped", url=self.url, **self.stats.as_dict())

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._cutter = asyncio.create_task(self._cut_periodically(), name="chaos-cutter")

    async def _stop(self) -> None:
        if self._cutter is not None:
            self._cutter.cancel()
            await asyncio.gather(self._cutter, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        await self._cut(count=False)
        if self._server is not None:
            await self._server.wait_closed()
        # Every connection is aborted: its handler ends on its own (end of stream); cancel stragglers.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_START_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _cut(self, *, count: bool = True) -> int:
        transports = list(self._open)
        for transport in transports:
            transport.abort()
        self._open.clear()
        if count:
            self.stats.cuts += 1
            self.stats.connections_cut += len(transports)
        return len(transports)

    async def _cut_periodically(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            every = self.cut_every
            if every is None:
                last = time.monotonic()
                continue
            if time.monotonic() - last >= every:
                last = time.monotonic()
                cut = await self._cut()
                log.debug("chaos.cut", connections=cut)

    # -- one client connection ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = writer.transport
        assert isinstance(transport, asyncio.Transport)
        self._open.add(transport)
        try:
            await self._one_request(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away, or we cut it: nothing left to answer
        finally:
            self._open.discard(transport)
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(line.split(":", 1)) for line in header_lines if ":" in line]
        length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        self.stats.requests += 1
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        injected = self._take_failure()
        if injected is not None:
            await self._answer(writer, injected)
            return
        await self._forward(request_line, headers, body, writer)

    def _take_failure(self) -> _Failures | None:
        with self._lock:
            if self._failures.remaining <= 0:
                return None
            self._failures.remaining -= 1
            return _Failures(
                remaining=1, status=self._failures.status, retry_after=self._failures.retry_after
            )

    async def _answer(self, writer: asyncio.StreamWriter, failure: _Failures) -> None:
        code = failure.status
        self.stats.injected[code] = self.stats.injected.get(code, 0) + 1
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"injected by the chaos proxy: {code}",
            "reason": _STATUS_REASONS.get(code, "InternalError"),
            "code": code,
        }
        extra = ""
        if failure.retry_after is not None:
            status["details"] = {"retryAfterSeconds": failure.retry_after}
            extra = f"Retry-After: {failure.retry_after}\r\n"
        body = json.dumps(status).encode()
        writer.write(
            (
                f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
            ).encode()
            + body
        )
        await writer.drain()

    async def _forward(
        self, request_line: str, headers: list[tuple[str, ...]], body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, server_hostname=self._host if self._ssl else None
            )
        except OSError as exc:
            # The API server is down (a restart): the client sees its connection refused-like drop.
            self.stats.upstream_failures += 1
            log.debug("chaos.upstream_unreachable", error=str(exc))
            return
        up_transport = up_writer.transport
        assert isinstance(up_transport, asyncio.Transport)
        self._open.add(up_transport)
        try:
            kept = [
                f"{name}:{value}"
                for name, value in headers
                if name.strip().lower() not in _DROPPED_HEADERS
                and not (self._drop_authorization and name.strip().lower() == "authorization")
            ]
            head = "\r\n".join([request_line, f"Host: {self._host}:{self._port}", *kept, "Connection: close"])
            up_writer.write(head.encode("latin-1") + b"\r\n\r\n" + body)
            await up_writer.drain()
            self.stats.forwarded += 1
            while chunk := await up_reader.read(RELAY_CHUNK):
                writer.write(chunk)
                await writer.drain()
        finally:
            self._open.discard(up_transport)
            up_transport.abort()


def client_certificate_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS to a real API server: trust its CA, present a client certificate (e.g. the admin's)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.load_cert_chain(cert_file, key_file)
    return context


__all__ = ["ChaosProxy", "ChaosStats", "client_certificate_context"]
