"""Named JSON-RPC error codes: the standard ones and ours in -32000..-32099 (see docs/protocol.md)."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    WORKFLOW_ERROR = -32000
    CAPABILITY_DENIED = -32001
    INVOCATION_NOT_ACTIVE = -32002
    LIMIT_EXCEEDED = -32003
    REQUEST_TIMEOUT = -32004
    CANCELLED = -32005
    UPSTREAM_ERROR = -32006
    NOT_FOUND = -32007
