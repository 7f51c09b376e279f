"""The host's exception tree, in one place: every exception class the host defines is drawn here.

Catch `WfhostError` for anything the host raises on purpose. A class defined in another module
names it first (relative to `host`); one with a second base says so ("also ValueError").
tests/test_errors.py walks the package and checks this drawing against the classes.

    WfhostError                     base of every error the host raises on purpose
    ├── ConfigError                 a config file or value is wrong (names the key path)
    ├── WorkflowRefused             a workflow file failed validation (module graph, manifest)
    ├── _Refused                    sandbox.snapshot: a cap broke while reading a workflow directory
    ├── WorkflowFailed              the workflow's own code threw
    ├── SandboxError                a child process could not be started or misbehaved
    │   ├── WorkerCrashed           the child exited while work was in flight
    │   ├── InvocationTimeout       an invocation ran past its deadline
    │   └── InvocationCancelled     an invocation was cancelled (`Dispatcher.cancel`) before it ended
    ├── ProtocolFault               the peer broke JSON-RPC framing or a protocol limit (raised by host.rpc)
    ├── RpcError                    rpc.errors: an error answer to a request, either way (code, message, data)
    ├── ConnectionClosed            rpc.errors: the connection closed before a request was answered
    ├── CapabilityDenied            a capability call was refused by policy (data: capability, reason)
    ├── DebugError                  a debug-agent action could not run or failed (code: the cause)
    ├── KubeError                   the Kubernetes API answered with an error (retry_after when it said)
    │   ├── NotFound                404
    │   ├── Conflict                409
    │   ├── Gone                    410: the resource version expired
    │   ├── Throttled               429; retry_after when the server said
    │   └── Forbidden               403
    ├── UnknownKind                 kube.discovery: the API server serves no such kind (also LookupError)
    ├── BadKind                     model.resources: not a kind as apiVersion/Kind (also ValueError)
    ├── TriggerError                triggers.index: a trigger past a cap or with a bad selector (also ValueError)
    ├── BadSchedule                 triggers.schedule: not an interval or a cron expression (also ValueError)
    ├── QueueFull                   a workflow's queue is full; the invocation is dropped
    ├── UnknownWorkflow             no loaded workflow has that name
    ├── AuthError                   api.auth.identity: an API caller refused (401), forbidden (403) or not checkable (503)
    ├── DeliveryError               findings.http_sink: a sink's receiver did not accept a finding
    ├── SchemaError                 codegen.k8s_types: a schema shape the generator does not translate
    ├── GenerationError             codegen.vocabulary: a target file lost the shape the generator rewrites
    ├── ApiError                    localcluster.status: the stand-in API server's answer with a Status
    ├── InvalidQuantity             localcluster.quantity: not a Kubernetes quantity (also ValueError)
    ├── _DecodeError                localcluster.decoding: a body that does not decode into its kind
    ├── LoopNotRunning              localcluster.loopthread: a coroutine for a loop thread that is not running (also RuntimeError)
    ├── ApiRefused                  localcluster.kubelet.remote_api: a write refused for good
    ├── _Transient                  localcluster.kubelet.remote_api: a failure worth retrying
    ├── ContainerStartError         localcluster.kubelet.process: the container's process did not start
    ├── ContainerConfigError        localcluster.kubelet.env: the container's config cannot be resolved
    └── ControlPlaneUnavailable     localcluster.controlplane.build: no real control plane here (also RuntimeError)

The debug agent has a tree of its own: it ships alone in the debug image and imports nothing
else from `host` (the import-linter contract in pyproject.toml), so its base is `Exception`.
Each class carries the `code` of the agent's JSON error reply; `DebugError` is how the host sees one.

    AgentError                      agent.errors: an expected failure of an agent action
    ├── BadArgument                 agent.errors: an option is missing or out of range
    ├── NoSuchProcess               agent.errors: the pid does not exist
    ├── OutOfScope                  agent.errors: the pid is outside the agent's scope
    ├── WrongRuntime                agent.errors: the process runs another runtime than the action's
    │   └── NotPython               agent.errors: the process is not a CPython interpreter
    ├── ProcessExited               agent.errors: the process ended while the action ran
    ├── PtraceDenied                agent.errors: the kernel refused to let the agent trace it
    ├── TargetBusy                  agent.errors: another tracer or agent action holds it
    ├── PortInUse                   agent.errors: `debugger` was asked for a taken port
    ├── AlreadyDebugging            agent.errors: debugpy already listens in that process
    ├── ToolMissing                 agent.errors: py-spy, gdb or memray is not installed
    ├── ToolFailed                  agent.errors: a tool exited non-zero for another reason
    ├── ToolTimeout                 agent.errors: a tool or the target did not finish in time
    ├── InjectionFailed             agent.errors: code injected through gdb did not run
    ├── InjectionUnsupported        agent.errors: the kernel would break the target (not tried)
    ├── NotAvailable                agent.errors: the runtime's own diagnostics are not switched on
    │   ├── PprofUnavailable        agent.errors: the Go program serves no net/http/pprof
    │   ├── InspectorUnavailable    agent.errors: the Node.js inspector did not open or answer
    │   └── AttachUnavailable       agent.errors: the JVM's attach mechanism is off or did not answer
    ├── Unreachable                 agent.errors: the target's network namespace cannot be entered
    └── ProtocolError               agent.errors: a pprof endpoint or inspector answered something unreadable

Inside the agent three more stand apart: caught where they are raised and turned into a check's
outcome or one of the errors above, never a reply of their own.

    Failure                         agent.webclient: a TCP connect or HTTP GET failed (kind, phase, timings)
    DnsTimeout                      agent.dns: no DNS server answered before the deadline
    WebSocketError                  agent.websocket: the inspector's WebSocket broke or overran a limit
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


class ProtocolFault(WfhostError):
    """The peer (a workflow's child) broke the JSON-RPC framing or a protocol limit.

    Raised by `host.rpc`'s codec, so it is not a sandbox error: the sandbox reports it for its child.
    """


class WorkerCrashed(SandboxError):
    """The child exited while requests were in flight."""


class InvocationTimeout(SandboxError):
    """An invocation did not finish before its deadline."""


class InvocationCancelled(SandboxError):
    """An invocation was cancelled from outside (`Dispatcher.cancel`) before it finished."""


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
    """The Kubernetes API answered with an error; `retry_after` in seconds when the answer said
    when to try again (a `Retry-After` header, e.g. on a 503, or `details.retryAfterSeconds`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class NotFound(KubeError):
    """404 from the API server."""


class Conflict(KubeError):
    """409 from the API server."""


class Gone(KubeError):
    """410 from the API server: the resource version expired."""


class Throttled(KubeError):
    """429 from the API server; `retry_after` in seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429, reason="TooManyRequests", retry_after=retry_after)


class Forbidden(KubeError):
    """403 from the API server."""


class DebugError(WfhostError):
    """A debug action could not run or failed; `code` is a short machine-readable cause."""

    def __init__(self, message: str, *, code: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or {}


class QueueFull(WfhostError):
    """A workflow's queue is full; the invocation was not accepted."""


class UnknownWorkflow(WfhostError):
    """No loaded workflow has that name."""
