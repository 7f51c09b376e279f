"""Newline-delimited framing: one JSON object per line, checked strictly.

`decode_line` never raises anything but `ProtocolFault`: a malformed line is a value the
caller decides about (the host kills the child), never a crash of the reader. Its steps are
public for `RpcConnection`, which reads every line through them: `parse_line` (the checks every
line passes), `plain_reply_id` (the one fast path: a successful reply needs no validator, so the
connection resolves it without building a model) and `to_message` (the validated message).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from host.errors import ProtocolFault
from host.rpc.messages import ErrorObject, Message, Notification, Request, Response
from host.validation import first_error
from host.wirejson import dumps_line

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: `json.loads` with a keyword builds a decoder per call, which doubled a reply's cost.
_loads = json.JSONDecoder(parse_constant=_reject_constant).decode


def encode_request(req_id: int, method: str, params: Any) -> bytes:
    """The hot path for outgoing requests: no model object, the JSON of `encode_message` (through
    orjson, `host.wirejson`: the same document, not always the same bytes)."""
    payload: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
    if params is not None:
        payload["params"] = params
    try:
        return dumps_line(payload)
    except (TypeError, ValueError) as exc:  # a lone surrogate (not UTF-8), an integer key, an object
        raise ProtocolFault(f"{method}: the request cannot be written as JSON: {exc}") from exc


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
    try:
        return _dumps(payload).encode() + b"\n"
    except (TypeError, ValueError) as exc:
        raise ProtocolFault(f"the message cannot be written as JSON: {exc}") from exc


def decode_line(line: bytes, *, max_bytes: int) -> Message:
    """Parse one line into a message, or raise `ProtocolFault` saying what is wrong with it."""
    data = parse_line(line, max_bytes=max_bytes)
    req_id = plain_reply_id(data)
    if req_id is not None:
        return Response.model_construct(id=req_id, result=data["result"], error=None)
    return to_message(data, line)


def parse_line(line: bytes, *, max_bytes: int) -> dict[str, Any]:
    """What every line must be: within `max_bytes`, UTF-8, JSON (no NaN or Infinity), an object with
    `"jsonrpc": "2.0"`. Returns the object; raises `ProtocolFault` saying what is wrong otherwise."""
    if len(line) > max_bytes:
        raise ProtocolFault(f"message of {len(line)} bytes exceeds the limit of {max_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolFault(f"line is not UTF-8 (byte {exc.start})") from exc
    try:
        data = _loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolFault(f"line is not JSON: {_excerpt(text)}") from exc
    if not isinstance(data, dict):
        raise ProtocolFault(f"message is not a JSON object: {_excerpt(text)}")
    if data.get("jsonrpc") != "2.0":
        raise ProtocolFault(f'message lacks "jsonrpc": "2.0": {_excerpt(text)}')
    return data


def plain_reply_id(data: dict[str, Any]) -> int | None:
    """The fast path, decided here only: a successful reply `{"jsonrpc", "id": <int>, "result"}`, the
    commonest message, is complete as parsed and needs no validator. Its id; None for anything else."""
    req_id = data.get("id")
    if len(data) == 3 and "result" in data and type(req_id) is int:
        return req_id
    return None


def to_message(data: dict[str, Any], line: bytes) -> Message:
    """The validated message of a parsed line (`parse_line`), or `ProtocolFault` if it is none."""
    try:
        if "method" in data:
            return Request.model_validate(data) if "id" in data else Notification.model_validate(data)
        if "id" in data and ("result" in data) != ("error" in data):
            if "error" in data:
                return Response(id=data["id"], error=ErrorObject.model_validate(data["error"]))
            return Response.model_validate(data)
    except ValidationError as exc:
        problem = first_error(exc, root="message")
        raise ProtocolFault(f"invalid JSON-RPC message ({problem}): {_excerpt(line.decode())}") from exc
    raise ProtocolFault(f"not a JSON-RPC 2.0 request, notification or response: {_excerpt(line.decode())}")


def _excerpt(text: str, limit: int = 120) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
