"""Newline-delimited framing: one JSON object per line, checked strictly.

`decode_line` never raises anything but `ProtocolFault`: a malformed line is a value the
caller decides about (the host kills the child), never a crash of the reader.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from host.errors import ProtocolFault
from host.rpc.messages import ErrorObject, Message, Notification, Request, Response
from host.validation import first_error

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def encode_request(req_id: int, method: str, params: Any) -> bytes:
    """The hot path for outgoing requests: no model object, same bytes as `encode_message`."""
    payload: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
    if params is not None:
        payload["params"] = params
    return _dumps(payload).encode() + b"\n"


def encode_message(msg: Message) -> bytes:
    """Serialize a message as one line (compact JSON, `\\n`-terminated, no raw newlines inside)."""
    payload: dict[str, Any] = {"jsonrpc": "2.0"}
    if isinstance(msg, Request):
        payload["id"] = msg.id
        payload["method"] = msg.method
        if msg.params is not None:
            payload["params"] = msg.params
    elif isinstance(msg, Notification):
        payload["method"] = msg.method
        if msg.params is not None:
            payload["params"] = msg.params
    else:
        payload["id"] = msg.id
        if msg.error is not None:
            payload["error"] = msg.error.model_dump(exclude_none=True)
        else:
            payload["result"] = msg.result
    return _dumps(payload).encode() + b"\n"


def decode_line(line: bytes, *, max_bytes: int) -> Message:
    """Parse one line into a message, or raise `ProtocolFault` saying what is wrong with it."""
    if len(line) > max_bytes:
        raise ProtocolFault(f"message of {len(line)} bytes exceeds the limit of {max_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolFault(f"line is not UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolFault(f"line is not JSON: {_excerpt(text)}") from exc
    if not isinstance(data, dict):
        raise ProtocolFault(f"message is not a JSON object: {_excerpt(text)}")
    if data.get("jsonrpc") != "2.0":
        raise ProtocolFault(f'message lacks "jsonrpc": "2.0": {_excerpt(text)}')
    # Fast path: the common successful reply `{"jsonrpc","id":<int>,"result"}` needs no validator.
    if len(data) == 3 and "result" in data and type(data.get("id")) is int:
        return Response.model_construct(id=data["id"], result=data["result"], error=None)
    try:
        if "method" in data:
            return Request.model_validate(data) if "id" in data else Notification.model_validate(data)
        if "id" in data and ("result" in data) != ("error" in data):
            if "error" in data:
                return Response(id=data["id"], error=ErrorObject.model_validate(data["error"]))
            return Response.model_validate(data)
    except ValidationError as exc:
        problem = first_error(exc, root="message")
        raise ProtocolFault(f"invalid JSON-RPC message ({problem}): {_excerpt(text)}") from exc
    raise ProtocolFault(f"not a JSON-RPC 2.0 request, notification or response: {_excerpt(text)}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _excerpt(text: str, limit: int = 120) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
