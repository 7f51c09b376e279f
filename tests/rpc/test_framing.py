"""The line codec: what is a message, and that anything else is a ProtocolFault and nothing worse."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.errors import ProtocolFault
from host.rpc import Notification, Request, Response, decode_line, encode_message
from host.rpc.messages import ErrorObject

LIMIT = 1 << 16


def test_request_notification_and_response_round_trip_as_one_line_each() -> None:
    msgs = [
        Request(id=7, method="k8s.getPod", params={"pod": {"namespace": "a", "name": "b\nc"}}),
        Notification(method="log", params={"message": "line1\nline2"}),
        Response(id=7, result={"ok": True}),
        Response(id="x", error=ErrorObject(code=-32001, message="denied", data={"reason": "not_granted"})),
    ]
    for msg in msgs:
        line = encode_message(msg)
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert decode_line(line[:-1], max_bytes=LIMIT) == msg


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"hello world", "not JSON"),
        (b"[1,2,3]", "not a JSON object"),
        (b'{"id":1,"method":"run"}', '"jsonrpc": "2.0"'),
        (b'{"jsonrpc":"1.0","id":1,"method":"run"}', '"jsonrpc": "2.0"'),
        (b'{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}', "not a JSON-RPC"),
        (b'{"jsonrpc":"2.0","id":1}', "not a JSON-RPC"),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"run"}', "invalid JSON-RPC message"),
        (b'{"jsonrpc":"2.0","id":1,"method":""}', "invalid JSON-RPC message"),
        (b'{"jsonrpc":"2.0","id":1,"method":"x","params":5}', "invalid JSON-RPC message"),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}', "invalid JSON-RPC message"),
        (b'{"jsonrpc":"2.0","id":1,"result":NaN}', "not JSON"),
        (b'\xff\xfe{"jsonrpc":"2.0"}', "not UTF-8"),
    ],
)
def test_anything_that_is_not_a_jsonrpc_message_is_a_protocol_fault(line: bytes, words: str) -> None:
    with pytest.raises(ProtocolFault, match=words.replace("[", r"\[").replace('"', '"')):
        decode_line(line, max_bytes=LIMIT)


def test_a_line_over_the_size_limit_is_refused_before_parsing() -> None:
    big = json.dumps({"jsonrpc": "2.0", "method": "log", "params": {"m": "x" * 200}}).encode()
    with pytest.raises(ProtocolFault, match="exceeds the limit of 100"):
        decode_line(big, max_bytes=100)


def test_deeply_nested_json_is_a_fault_not_a_recursion_crash() -> None:
    line = b'{"jsonrpc":"2.0","method":"log","params":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ProtocolFault):
        decode_line(line, max_bytes=1 << 20)


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_raise_anything_but_protocol_fault(data: bytes) -> None:
    try:
        decode_line(data, max_bytes=LIMIT)
    except ProtocolFault:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
            "id": _json,
            "method": _json,
            "params": _json,
            "result": _json,
            "error": _json,
        },
    )
)
def test_mutated_messages_decode_or_fault_but_never_crash(obj: dict[str, object]) -> None:
    line = json.dumps(obj).encode()
    try:
        msg = decode_line(line, max_bytes=LIMIT)
    except ProtocolFault:
        return
    # Whatever decodes must re-encode into something that decodes to the same message.
    assert decode_line(encode_message(msg)[:-1], max_bytes=LIMIT) == msg
