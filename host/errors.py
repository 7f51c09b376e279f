"""The host's exception tree, in one place.

    WfhostError
    ├── ConfigError                 a config file or value is wrong (names the key path)
    ├── WorkflowRefused             a workflow file failed validation (module graph, manifest)
    ├── SandboxError                a child process could not be started or misbehaved
    │   ├── ProtocolFault           the child broke JSON-RPC framing or limits
    │   ├── WorkerCrashed           the child exited while work was in flight
    │   └── InvocationTimeout       an invocation ran past its deadline
    ├── WorkflowFailed              the workflow's own code threw
    ├── CapabilityDenied            a capability call was refused by policy
    └── KubeError                   the Kubernetes API answered with an error
        ├── NotFound / Conflict / Gone / Throttled / Forbidden
"""

from __future__ import annotations

from typing import Any


class WfhostError(Exception):
    """Base of every error the host raises on purpose."""


class ConfigError(WfhostError):
    """A configuration value is invalid; the message names the key path."""


class WorkflowRefused(WfhostError):
    """A workflow file was refused before it could run."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SandboxError(WfhostError):
    """A sandboxed child could not do what was asked of it."""


class ProtocolFault(SandboxError):
    """The child broke the JSON-RPC framing or a protocol limit."""


class WorkerCrashed(SandboxError):
    """The child exited while requests were in flight."""


class InvocationTimeout(SandboxError):
    """An invocation did not finish before its deadline."""


class WorkflowFailed(WfhostError):
    """The workflow's `run` threw; carries the guest's error name, message and stack."""

    def __init__(self, message: str, *, name: str = "Error", stack: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.stack = stack


class CapabilityDenied(WfhostError):
    """A capability call was refused by the host's policy; `data` says which capability and why
    (`{"capability", "reason", ...}`, as the guest receives it)."""

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.data = data


class KubeError(WfhostError):
    """The Kubernetes API answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """404 from the API server."""


class Conflict(KubeError):
    """409 from the API server."""


class Gone(KubeError):
    """410 from the API server: the resource version expired."""


class Throttled(KubeError):
    """429 from the API server; `retry_after` in seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429, reason="TooManyRequests")
        self.retry_after = retry_after


class Forbidden(KubeError):
    """403 from the API server."""


class DebugError(WfhostError):
    """A debug action could not run or failed; `code` is a short machine-readable cause."""

    def __init__(self, message: str, *, code: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or {}
