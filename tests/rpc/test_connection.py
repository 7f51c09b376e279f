"""RpcConnection over a real socket pair: correlation, timeouts, faults, limits, close."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from host.rpc import ConnectionClosed, ErrorCode, RpcConnection, RpcError


class Echo:
    """A handler: `echo` returns its params after an optional delay; `boom` raises."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, Any]] = []

    async def handle_request(self, method: str, params: Any) -> Any:
        if method == "echo":
            await asyncio.sleep(params.get("delay", 0))
            return params
        if method == "deny":
            raise RpcError(ErrorCode.CAPABILITY_DENIED, "no", {"why": "test"})
        if method == "boom":
            raise ValueError("bug")
        raise RpcError(ErrorCode.METHOD_NOT_FOUND, method)

    async def handle_notification(self, method: str, params: Any) -> None:
        self.notes.append((method, params))


async def _pair(**kw: Any) -> tuple[RpcConnection, RpcConnection, Echo, asyncio.StreamWriter]:
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a, limit=1 << 16)
    rb, wb = await asyncio.open_connection(sock=b, limit=1 << 16)
    echo = Echo()
    left = RpcConnection(ra, wa, Echo(), max_message_bytes=1 << 15, name="left", **kw)
    right = RpcConnection(rb, wb, echo, max_message_bytes=1 << 15, name="right")
    left.start()
    right.start()
    return left, right, echo, wb


@pytest.fixture
async def pair() -> AsyncIterator[tuple[RpcConnection, RpcConnection, Echo, asyncio.StreamWriter]]:
    left, right, echo, raw = await _pair()
    yield left, right, echo, raw
    await left.close()
    await right.close()


async def test_responses_correlate_by_id_when_they_arrive_out_of_order(pair: Any) -> None:
    left, _, _, _ = pair
    slow = asyncio.create_task(left.request("echo", {"n": 1, "delay": 0.3}))
    fast = asyncio.create_task(left.request("echo", {"n": 2, "delay": 0}))
    done, _ = await asyncio.wait({slow, fast}, return_when=asyncio.FIRST_COMPLETED)
    assert done == {fast}
    assert (await fast)["n"] == 2
    assert (await slow)["n"] == 1


async def test_error_replies_raise_rpc_error_with_code_and_data(pair: Any) -> None:
    left, _, _, _ = pair
    with pytest.raises(RpcError) as info:
        await left.request("deny", {})
    assert info.value.code == ErrorCode.CAPABILITY_DENIED
    assert info.value.data == {"why": "test"}


async def test_a_handler_bug_is_an_internal_error_reply_not_a_dead_connection(pair: Any) -> None:
    left, _, _, _ = pair
    with pytest.raises(RpcError) as info:
        await left.request("boom", {})
    assert info.value.code == ErrorCode.INTERNAL_ERROR
    assert await left.request("echo", {"still": "alive"}) == {"still": "alive"}


async def test_late_response_after_timeout_is_dropped(pair: Any) -> None:
    left, _, _, _ = pair
    with pytest.raises(RpcError) as info:
        await left.request("echo", {"delay": 0.5}, timeout=0.05)
    assert info.value.code == ErrorCode.REQUEST_TIMEOUT
    assert left._pending == {}
    await asyncio.sleep(0.7)  # the late reply arrives and is dropped without error
    assert left._pending == {}
    assert await left.request("echo", {"x": 1}) == {"x": 1}


async def test_notifications_reach_the_handler(pair: Any) -> None:
    left, _, echo, _ = pair
    await left.notify("log", {"message": "hi"})
    for _ in range(100):
        if echo.notes:
            break
        await asyncio.sleep(0.01)
    assert echo.notes == [("log", {"message": "hi"})]


async def test_a_malformed_line_is_a_protocol_fault_that_closes_the_connection() -> None:
    faults: list[str] = []
    left, right, _, raw = await _pair(on_fault=lambda f: faults.append(str(f)))
    pending = asyncio.create_task(left.request("echo", {"delay": 5}))
    await asyncio.sleep(0.05)
    # `right` side writes garbage towards `left`.
    raw.write(b"this is not json\n")
    await raw.drain()
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(pending, 5)
    assert left.closed
    assert faults and "not JSON" in faults[0]
    assert left.fault is not None
    await left.close()
    await right.close()


async def test_an_oversized_line_without_newline_is_a_fault_not_unbounded_buffering() -> None:
    left, right, _, raw = await _pair()
    raw.write(b"x" * (1 << 17))
    await raw.drain()
    await asyncio.wait_for(left.wait_closed(), 5)
    assert left.fault is not None and "exceeds the limit" in str(left.fault)
    await left.close()
    await right.close()


async def test_pending_requests_fail_when_the_peer_goes_away(pair: Any) -> None:
    left, right, _, _ = pair
    pending = asyncio.create_task(left.request("echo", {"delay": 10}))
    await asyncio.sleep(0.05)
    right._writer.close()
    right._reader_task.cancel()
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(pending, 5)
    assert left._pending == {}


async def test_too_many_concurrent_incoming_requests_get_limit_exceeded() -> None:
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    rb, wb = await asyncio.open_connection(sock=b)
    server = RpcConnection(rb, wb, Echo(), max_message_bytes=1 << 15, name="server", max_concurrent_incoming=4)
    server.start()
    for i in range(10):
        wa.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": "echo", "params": {"delay": 0.5}}).encode() + b"\n")
    await wa.drain()
    replies = []
    for _ in range(10):
        replies.append(json.loads(await asyncio.wait_for(ra.readline(), 5)))
    limited = [r for r in replies if "error" in r]
    assert len(limited) == 6
    assert all(r["error"]["code"] == ErrorCode.LIMIT_EXCEEDED for r in limited)
    await server.close()
    wa.close()
    await wa.wait_closed()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"jsonrpc":"2.0","id":1,"result":NaN}\n', "not JSON"),
        (b'{"jsonrpc":"2.0","id":1,"result":"\xff"}\n', "not UTF-8"),
    ],
    ids=["nan", "not-utf-8"],
)
async def test_a_reply_to_a_pending_request_is_checked_as_strictly_as_any_line(line: bytes, words: str) -> None:
    """One reader for every line: the fast path for replies skips validators, never the checks."""
    left, right, _, raw = await _pair()
    right._reader_task.cancel()  # `raw` answers instead of `right`
    pending = asyncio.create_task(left.request("echo", {}))
    await asyncio.sleep(0.05)
    raw.write(line)
    await raw.drain()
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(pending, 5)
    assert left.fault is not None and words in str(left.fault)
    await left.close()
    await right.close()
