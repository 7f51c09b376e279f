"""The errors of `host.rpc`, and the one translation of host errors into the guest's error codes.

`RpcError` is an error answer to a request, in either direction; `ConnectionClosed` is the
connection itself gone. `guest_error` says which `RpcError` (code, message, data) the guest gets
for a host error raised while serving its call: policy refusals, Kubernetes API errors, debug
actions that failed. Nothing else in the host maps those to codes.
"""

from __future__ import annotations

from typing import Any

from host.errors import CapabilityDenied, DebugError, KubeError, NotFound, WfhostError
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


def guest_error(exc: WfhostError) -> RpcError | None:
    """The error answer the guest gets for `exc`, raised while serving one of its calls.

    None for an error the guest has no business seeing (a host bug, a broken config): the
    connection then answers `INTERNAL_ERROR` naming only the exception's type, and logs it.
    """
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, CapabilityDenied):
        return RpcError(ErrorCode.CAPABILITY_DENIED, str(exc), exc.data)
    if isinstance(exc, NotFound):
        return RpcError(ErrorCode.NOT_FOUND, str(exc))
    if isinstance(exc, KubeError):
        return RpcError(ErrorCode.UPSTREAM_ERROR, f"Kubernetes API: {exc}", {"reason": exc.reason, "status": exc.status})
    if isinstance(exc, DebugError):
        code = ErrorCode.NOT_FOUND if exc.code == "pod_gone" else ErrorCode.UPSTREAM_ERROR
        return RpcError(code, str(exc), {"reason": exc.code, "details": exc.details})
    return None
