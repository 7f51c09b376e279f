"""The agent's typed errors: each carries the stable `code` the JSON error reply names.

    AgentError                      base; `code`, human `message`, `details` dict
    ├── BadArgument                 bad_argument       an option is missing or out of range
    ├── NoSuchProcess               no_such_process    the pid does not exist
    ├── OutOfScope                  out_of_scope       the pid exists but is outside the agent's scope
    ├── WrongRuntime                wrong_runtime      the process runs another runtime than the action's
    │   └── NotPython               not_python         the process is not a CPython interpreter
    ├── ProcessExited               process_exited     the process ended while the action ran
    ├── PtraceDenied                ptrace_denied      the kernel refused to let us trace it
    ├── TargetBusy                  target_busy        another tracer or agent action holds it
    ├── PortInUse                   port_in_use        `debugger` was asked for a taken port
    ├── AlreadyDebugging            already_debugging  debugpy already listens in that process
    ├── ToolMissing                 tool_missing       py-spy / gdb / memray is not installed
    ├── ToolFailed                  tool_failed        a tool exited non-zero for another reason
    ├── ToolTimeout                 timeout            a tool or the target did not finish in time
    ├── InjectionFailed             injection_failed   code injected through gdb did not run
    ├── InjectionUnsupported        injection_unsupported  the kernel would break the target (not tried)
    ├── NotAvailable                not_available      the runtime's own diagnostics are not switched on
    │   ├── PprofUnavailable        pprof_unavailable  the Go program serves no net/http/pprof
    │   ├── InspectorUnavailable    inspector_unavailable  the Node.js inspector did not open or answer
    │   └── AttachUnavailable       attach_unavailable  the JVM's attach mechanism is off or did not answer
    ├── Unreachable                 unreachable        the target's network namespace cannot be entered
    └── ProtocolError               protocol_error     a target's endpoint answered something unreadable

Anything else escaping an action is reported by `main` as `internal_error`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentError(Exception):
    """An expected failure of an agent action, reported as a JSON error reply."""

    code: ClassVar[str] = "agent_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class BadArgument(AgentError):
    code = "bad_argument"


class NoSuchProcess(AgentError):
    code = "no_such_process"


class OutOfScope(AgentError):
    code = "out_of_scope"


class WrongRuntime(AgentError):
    """The action needs another runtime (a Go profile of a Python process)."""

    code = "wrong_runtime"


class NotPython(WrongRuntime):
    code = "not_python"


class ProcessExited(AgentError):
    code = "process_exited"


class PtraceDenied(AgentError):
    code = "ptrace_denied"


class TargetBusy(AgentError):
    code = "target_busy"


class PortInUse(AgentError):
    code = "port_in_use"


class AlreadyDebugging(AgentError):
    code = "already_debugging"


class ToolMissing(AgentError):
    code = "tool_missing"


class ToolFailed(AgentError):
    code = "tool_failed"


class ToolTimeout(AgentError):
    code = "timeout"


class InjectionFailed(AgentError):
    code = "injection_failed"


class InjectionUnsupported(AgentError):
    """The node's kernel refuses what gdb needs to resume a process after calling into it."""

    code = "injection_unsupported"


class NotAvailable(AgentError):
    """The target runs the right runtime but does not offer what the action needs."""

    code = "not_available"


class PprofUnavailable(NotAvailable):
    """No listening port of the Go program answers `GET /debug/pprof/` (or the one named does not)."""

    code = "pprof_unavailable"


class InspectorUnavailable(NotAvailable):
    """SIGUSR1 opened no Node.js inspector, or it did not answer the DevTools protocol."""

    code = "inspector_unavailable"


class AttachUnavailable(NotAvailable):
    """The JVM refuses dynamic attach (-XX:+DisableAttachMechanism, -Xrs) or its listener did not answer."""

    code = "attach_unavailable"


class Unreachable(AgentError):
    """The target's network namespace is not the agent's and cannot be entered."""

    code = "unreachable"


class ProtocolError(AgentError):
    """A pprof endpoint or an inspector sent data the agent cannot read (or too much of it)."""

    code = "protocol_error"
