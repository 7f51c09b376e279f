"""Values JSON cannot carry (a lone surrogate is no UTF-8, a Python object no JSON value) on
either side of an RPC connection: the request is refused before it is written, the reply becomes
an error reply; the connection goes on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from host.errors import ProtocolFault
from host.rpc import ErrorCode, RpcConnection, RpcError


class Handler:
    async def handle_request(self, method: str, params: Any) -> Any:
        if method == "surrogate":
            return {"name": "\ud800"}
        if method == "object":
            return {"when": object()}
        return params

    async def handle_notification(self, method: str, params: Any) -> None:
        return None


@pytest.fixture
async def pair() -> AsyncIterator[tuple[RpcConnection, RpcConnection]]:
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    rb, wb = await asyncio.open_connection(sock=b)
    left = RpcConnection(ra, wa, Handler(), max_message_bytes=1 << 16, name="left")
    right = RpcConnection(rb, wb, Handler(), max_message_bytes=1 << 16, name="right")
    left.start()
    right.start()
    yield left, right
    await left.close()
    await right.close()


@pytest.mark.parametrize("params", [{"s": "\ud800"}, {"k": {"\udfff": 1}}], ids=["value", "key"])
async def test_a_request_json_cannot_carry_is_refused_before_it_is_written(
    pair: tuple[RpcConnection, RpcConnection], params: dict[str, Any]
) -> None:
    left, _ = pair
    with pytest.raises(ProtocolFault, match="run: the request cannot be written as JSON"):
        await asyncio.wait_for(left.request("run", params), 5)
    assert await asyncio.wait_for(left.request("echo", {"still": "alive"}), 5) == {"still": "alive"}
    assert not left.closed


@pytest.mark.parametrize("method", ["surrogate", "object"])
async def test_a_result_json_cannot_carry_is_an_error_reply_not_a_request_left_hanging(
    pair: tuple[RpcConnection, RpcConnection], method: str
) -> None:
    left, _ = pair
    with pytest.raises(RpcError) as info:
        await asyncio.wait_for(left.request(method, {}), 5)
    assert info.value.code == ErrorCode.INTERNAL_ERROR
    assert info.value.message == f"{method}: the result cannot be written as JSON"
    assert await asyncio.wait_for(left.request("echo", {"n": 1}), 5) == {"n": 1}


async def test_a_request_whose_own_id_cannot_be_echoed_gets_no_answer_and_the_connection_goes_on() -> None:
    """Found by tests/sandbox/test_fuzz.py: the error reply to `"id": "\\ud800"` cannot be written
    either; it was an exception in a task nobody awaited. Now it is logged and dropped."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    conn = RpcConnection(ra, wa, Handler(), max_message_bytes=1 << 16, name="host")
    conn.start()
    rb, wb = await asyncio.open_connection(sock=b)
    try:
        wb.write(b'{"jsonrpc":"2.0","id":"\\ud800","method":"no-such","params":{}}\n')
        wb.write(b'{"jsonrpc":"2.0","id":"\\ud800","method":"surrogate","params":{}}\n')
        wb.write(b'{"jsonrpc":"2.0","id":2,"method":"echo","params":{"n":2}}\n')
        await wb.drain()
        line = await asyncio.wait_for(rb.readline(), 5)
        assert line == b'{"jsonrpc":"2.0","id":2,"result":{"n":2}}\n'
        await asyncio.sleep(0.1)
        assert errors == [] and not conn.closed
    finally:
        wb.close()
        await conn.close()
