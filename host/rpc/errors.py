"""The errors of `host.rpc`: `RpcError`, an error answer to a request in either direction, and
`ConnectionClosed`, the connection itself gone."""

from __future__ import annotations

from typing import Any

from host.errors import WfhostError
from host.rpc.codes import ErrorCode


class RpcError(WfhostError):
    """A JSON-RPC error: raised by a handler to answer with an error, or by `request` on an error reply."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    @property
    def name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return str(self.code)

    def __repr__(self) -> str:
        return f"RpcError({self.name}, {self.message!r})"


class ConnectionClosed(WfhostError):
    """The connection is closed: a request could not be sent, or was still unanswered when it closed.

    The peer went away, broke the framing (`RpcConnection.fault` says how) or `close` was called.
    What that means is the caller's to say: the sandbox reads it as its child's death (`WorkerCrashed`).
    """
