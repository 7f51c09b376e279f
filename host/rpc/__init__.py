"""JSON-RPC 2.0 between the host and a workflow child: message types, line framing, request correlation.

Transport-agnostic: `RpcConnection` speaks over any asyncio reader/writer pair.
"""

from __future__ import annotations

from host.rpc.codes import ErrorCode
from host.rpc.connection import RpcConnection, RpcHandler
from host.rpc.errors import ConnectionClosed, RpcError, guest_error
from host.rpc.framing import decode_line, encode_message
from host.rpc.messages import ErrorObject, Message, Notification, Request, Response

__all__ = [
    "ConnectionClosed",
    "ErrorCode",
    "ErrorObject",
    "Message",
    "Notification",
    "Request",
    "Response",
    "RpcConnection",
    "RpcError",
    "RpcHandler",
    "decode_line",
    "encode_message",
    "guest_error",
]
