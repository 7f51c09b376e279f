"""Fuzzing the host's RPC reader with random and mutated bytes from real child processes.

Two peers: a small Python child that writes the fuzz bytes to its stdout (hypothesis drives it,
hundreds of cases), and the raw-SDK Deno guest run by the real host, which writes them in the
middle of a `run` (a fixed, seeded sample). For every input the reader must end cleanly (EOF or
a protocol fault, exactly when some line is not a valid message), never crash or hang, leave no
task or exception behind, and the host's memory must stay bounded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sys
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from host.errors import ProtocolFault
from host.rpc import ErrorCode, RpcConnection, RpcError, decode_line
from host.sandbox.process import ChildProcess
from tests.sandbox.conftest import Arena, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]

MAX = 2048  # message size limit for the fuzzed connection: small, so oversize cases are cheap

# The peer: copy the file named in argv to stdout, close stdout, then read stdin until the host closes it.
PEER = (
    "import os, sys\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "view = memoryview(data)\n"
    "while view:\n"
    "    view = view[os.write(1, view):]\n"
    "os.close(1)\n"
    "while os.read(0, 65536):\n"
    "    pass\n"
)


def expect_fault(payload: bytes, max_bytes: int) -> bool:
    """The oracle: a fault iff some complete line is not a valid message or bytes trail after the last newline."""
    *lines, tail = payload.split(b"\n")
    for line in lines:
        try:
            decode_line(line, max_bytes=max_bytes)
        except ProtocolFault:
            return True
    return tail != b""


class Peer:
    """Serves the fuzzed peer's requests like a real handler would (answers, refusals, notifications)."""

    def __init__(self) -> None:
        self.requests = 0
        self.notifications = 0

    async def handle_request(self, method: str, params: Any) -> Any:
        self.requests += 1
        if method == "deny":
            raise RpcError(ErrorCode.CAPABILITY_DENIED, "no")
        return {"method": method}

    async def handle_notification(self, method: str, params: Any) -> None:
        self.notifications += 1


async def feed(payload: bytes, tmp: Any) -> tuple[ProtocolFault | None, list[dict[str, Any]]]:
    """Run one fuzz case through a real child; return the fault (if any) and unhandled loop errors."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    path = tmp / "payload.bin"
    path.write_bytes(payload)
    # The host's own child wrapper (process group, PDEATHSIG, rlimits, stop in steps), as a worker uses it.
    child = await ChildProcess.spawn([sys.executable, "-I", "-S", "-c", PEER, str(path)], env={}, cwd=tmp, name="fuzz",
                                     line_limit=MAX, data_bytes=1 << 30)
    faults: list[ProtocolFault] = []
    conn = RpcConnection(child.stdout, child.stdin, Peer(), max_message_bytes=MAX, name="fuzz", on_fault=faults.append)
    before = {t for t in asyncio.all_tasks() if not t.done()}
    conn.start()
    try:
        await asyncio.wait_for(conn.wait_closed(), 20)  # the reader ends: EOF or a fault, never a hang
    finally:
        await conn.close()
        await asyncio.wait_for(child.stop(), 20)
    left = {t for t in asyncio.all_tasks() if not t.done()} - before
    assert not left, left
    assert conn.fault is (faults[0] if faults else None)
    return conn.fault, errors


def valid_message() -> st.SearchStrategy[dict[str, Any]]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                                max_size=3), max_leaves=8)
    params = st.dictionaries(st.text(max_size=8), values, max_size=4)
    ids = st.integers(0, 10_000) | st.text(min_size=1, max_size=8)
    methods = st.sampled_from(["log", "findings.report", "deny", "k8s.getPod", "x"]) | st.text(min_size=1, max_size=12)
    request = st.builds(lambda i, m, p: {"jsonrpc": "2.0", "id": i, "method": m, "params": p}, ids, methods, params)
    note = st.builds(lambda m, p: {"jsonrpc": "2.0", "method": m, "params": p}, methods, params)
    response = st.builds(lambda i, r: {"jsonrpc": "2.0", "id": i, "result": r}, ids, values)
    error = st.builds(lambda i, c, m: {"jsonrpc": "2.0", "id": i, "error": {"code": c, "message": m}},
                      ids, st.integers(-33000, 0), st.text(max_size=20))
    return st.one_of(request, note, response, error)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    messages = draw(st.lists(valid_message(), max_size=6))
    ascii_only = draw(st.booleans())
    lines = [json.dumps(m, ensure_ascii=ascii_only).encode() for m in messages]
    newline_at_end: bool = draw(st.booleans())
    data = bytearray(b"\n".join(lines) + (b"\n" if lines and newline_at_end else b""))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat", "long"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([b"\n", b"\xff", b"{", b'"', b"\\", b"\x00", b"\xc3", b"\r\n", b"NaN"]))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[at:]
        elif op == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(2, 40))
        else:  # a string member around the size limit
            n = draw(st.integers(MAX - 40, MAX + 8))
            data[at:at] = b'{"jsonrpc":"2.0","method":"log","params":{"m":"' + b"a" * n + b'"}}\n'
    return bytes(data)


payloads = st.one_of(st.binary(max_size=3 * MAX), mutated())


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                     HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_random_and_mutated_bytes_never_crash_or_hang_the_reader(payload: bytes, tmp_path: Any) -> None:
    fault, errors = asyncio.run(feed(payload, tmp_path))
    event("protocol fault" if fault is not None else "clean end of stream")
    assert errors == []
    assert (fault is not None) == expect_fault(payload, MAX), (fault, payload[:300])


def test_a_long_fuzz_run_keeps_the_host_memory_bounded(tmp_path: Any) -> None:
    rng = random.Random(20240601)
    me = psutil.Process()

    async def many() -> None:
        for i in range(120):
            size = rng.choice([10, 500, MAX, MAX + 1, 8 * MAX, 64 * MAX])
            body = bytes(rng.getrandbits(8) for _ in range(min(size, 4096))) * max(1, size // 4096)
            if i % 3 == 0:  # mostly valid traffic with a flood of requests and notifications
                body = b"".join(json.dumps({"jsonrpc": "2.0", "id": n, "method": "m", "params": {"n": n}}).encode() + b"\n"
                                for n in range(size // 40 + 1))
            fault, errors = await feed(body, tmp_path)
            assert errors == []
            assert (fault is not None) == expect_fault(body, MAX)

    asyncio.run(many())  # warm up allocator pools and imports
    rss = me.memory_info().rss
    asyncio.run(many())
    assert me.memory_info().rss - rss < 64 << 20


def _deno_payloads() -> list[bytes]:
    rng = random.Random(7)
    valid = [
        b'{"jsonrpc":"2.0","method":"log","params":{"invocationId":null,"level":"info","message":"fuzz"}}',
        b'{"jsonrpc":"2.0","id":77,"method":"findings.report","params":{"invocationId":"nobody","title":"x"}}',
        b'{"jsonrpc":"2.0","id":123456,"result":null}',
    ]
    out: list[bytes] = []
    for i in range(24):
        if i % 3 == 0:
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))))
        else:
            lines = [bytearray(rng.choice(valid)) for _ in range(rng.randint(1, 4))]
            for line in lines:
                if rng.random() < 0.5:
                    pos = rng.randrange(len(line))
                    line[pos] = rng.choice([0xFF, ord("{"), ord('"'), 0x00, ord("\n"), line[pos]])
            out.append(b"\n".join(bytes(x) for x in lines))
    return out


async def test_fuzzed_lines_from_a_real_deno_guest_fault_exactly_when_invalid(arena: Arena) -> None:
    body = """
    const bytes = Uint8Array.from(atob(ctx.params.arg), (c) => c.charCodeAt(0));
    Deno.stdout.writeSync(bytes);
    Deno.stdout.writeSync(new TextEncoder().encode("\\n"));
    await new Promise((r) => setTimeout(r, 50));
    await ctx.report({ title: "survived" });
    """
    wf = await arena.load(hostile("fuzzed", body), raw=True)
    limit = arena.config.sandbox.max_message_bytes
    faults = 0
    for payload in _deno_payloads():
        result = await arena.run(wf, arg=base64.b64encode(payload).decode(), timeout=10)
        if expect_fault(payload + b"\n", limit):
            faults += 1
            assert result.outcome == "crashed", (result.outcome, result.error, payload)
        else:
            assert result.outcome == "ok", (result.outcome, result.error, payload)
            assert [f.title for f in result.findings] == ["survived"]
    assert 0 < faults < len(_deno_payloads())
    await arena.healthy(wf)
