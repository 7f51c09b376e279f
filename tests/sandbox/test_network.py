"""Hostile workflows that try to reach the network: HTTP, sockets, WebSocket, DNS, listening.

Deno runs the child with `--deny-net`; a real server listens on localhost during each case and
must see no connection at all, so "denied" means nothing left the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.sandbox.conftest import Arena, probe, probe_body

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


class Listener:
    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    spy = Listener()
    server = await asyncio.start_server(spy._accept, "127.0.0.1", 0)
    spy.port = server.sockets[0].getsockname()[1]
    async with server:
        yield spy


ATTEMPTS = {
    "fetch": ('return (await fetch(ctx.params.arg.replace("X", "http"))).status;', "Requires net access"),
    "WebSocket": ('return await new Promise((res, rej) => { const w = new WebSocket(ctx.params.arg.replace("X", "ws"));'
                  ' w.onopen = () => res("open"); w.onerror = () => rej(new Error("no socket")); });', "Requires net access"),
    "EventSource": ('return await new Promise((res, rej) => { const e = new EventSource(ctx.params.arg.replace("X", "http"));'
                    ' e.onopen = () => res("open"); e.onerror = () => { e.close(); rej(new Error("EventSource failed")); }; });',
                    "EventSource failed"),
    "Deno.connect": ('const u = new URL(ctx.params.arg.replace("X", "http"));'
                     " return (await Deno.connect({ hostname: u.hostname, port: Number(u.port) })).remoteAddr;",
                     "Requires net access"),
    "Deno.connectTls": ('const u = new URL(ctx.params.arg.replace("X", "http"));'
                        " return await Deno.connectTls({ hostname: u.hostname, port: Number(u.port) });",
                        "Requires net access"),
    "unix-socket": 'return await Deno.connect({ transport: "unix", path: "/var/run/docker.sock" } as any);',
    "Deno.resolveDns": ('return await Deno.resolveDns("kubernetes.default.svc.cluster.local", "A");', "Requires net access"),
    "Deno.listen": ("return Deno.listen({ port: 0 }).addr;", "Requires net access"),
    "Deno.serve": ('return Deno.serve({ port: 0 }, () => new Response("x")).addr;', "Requires net access"),
    "node-net": ('const net: any = await import("node:" + "net"); const u = new URL(ctx.params.arg.replace("X", "http"));'
                 " return await new Promise((res, rej) => { const s = net.connect(Number(u.port), u.hostname);"
                 ' s.on("connect", () => res("connected")); s.on("error", rej); });', "Requires net access"),
    "node-http": ('const http: any = await import("node:" + "http");'
                  ' return await new Promise((res, rej) => { const r = http.get(ctx.params.arg.replace("X", "http"), res);'
                  ' r.on("error", rej); });', "Requires net access"),
    "node-dns": ('const dns: any = await import("node:" + "dns/promises"); return JSON.stringify(await dns.lookup("localhost"));',
                 "EPERM"),
}


@pytest.mark.parametrize("how", list(ATTEMPTS))
async def test_no_network_access_of_any_kind(arena: Arena, listener: Listener, how: str) -> None:
    attempt = ATTEMPTS[how]
    code, words = attempt if isinstance(attempt, tuple) else (attempt, "Requires read access")
    wf = await arena.load(probe("net", code))
    result = await arena.run(wf, arg=f"X://127.0.0.1:{listener.port}/")
    body = probe_body(result)
    assert body.startswith("DENIED"), body
    assert words in body, body
    assert listener.connections == 0
    await arena.healthy(wf)
