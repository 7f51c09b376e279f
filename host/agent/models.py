"""The agent's JSON reply shapes, shared with the host's debug backend and the TypeScript SDK.

Every reply is one object: `{"ok": true, "action", "result"}` or `{"ok": false, "action",
"error": {"code", "message", "details"}}`. Keys are camelCase on the wire (the TypeScript side
reads them) and snake_case in Python; `parse_reply` turns an agent's stdout back into models.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    """Base for every reply model: camelCase aliases, immutable, unknown keys ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict with camelCase keys."""
        return self.model_dump(mode="json", by_alias=True)


class Artifact(Wire):
    """A file the action produced: embedded as base64 (`data`) or written under `--out` (`path`)."""

    name: str = Field(description="File name, e.g. flamegraph.svg.")
    media_type: str = Field(description="MIME type, e.g. image/svg+xml.")
    size_bytes: int
    encoding: Literal["base64"] | None = Field(default=None, description="Set when `data` is embedded.")
    data: str | None = None
    path: str | None = Field(default=None, description="Absolute path when written under --out.")


# --- ps ---------------------------------------------------------------------------------------


class ProcessInfo(Wire):
    pid: int
    ppid: int
    user: str | None
    exe: str | None
    cmdline: list[str]
    threads: int
    rss_bytes: int
    cpu_percent: float = Field(description="CPU use over the agent's short sampling window (100 = one core).")
    start_time: datetime
    python: bool
    python_version: str | None = Field(description="major.minor (from the interpreter's file names).")


class PsResult(Wire):
    scope_pid: int | None = Field(
        description="WFHOST_AGENT_TARGET_PID when set: only it and its descendants."
    )
    processes: list[ProcessInfo]


# --- profile ----------------------------------------------------------------------------------


class FunctionStat(Wire):
    function: str
    file: str | None
    line: int | None
    self_samples: int = Field(description="Samples where this frame was the innermost one.")
    self_share: float = Field(description="self_samples / all samples, 0..1.")
    total_samples: int = Field(description="Samples where this frame was anywhere on the stack.")
    total_share: float


class ProfileOptions(Wire):
    idle: bool
    subprocesses: bool
    native: bool


class ProfileResult(Wire):
    pid: int
    duration_seconds: float
    rate: int
    samples: int
    sampling_errors: int
    options: ProfileOptions
    top_functions: list[FunctionStat] = Field(description="Sorted by self share, hottest first.")
    artifacts: list[Artifact]


# --- stacktrace -------------------------------------------------------------------------------


class LocalVariable(Wire):
    name: str
    repr: str | None
    arg: bool


class StackFrame(Wire):
    function: str
    file: str
    line: int
    locals: list[LocalVariable] | None = None


class ThreadStack(Wire):
    thread_id: int
    os_thread_id: int | None
    name: str | None
    active: bool
    owns_gil: bool
    frames: list[StackFrame] = Field(description="Innermost frame first.")


class StackSnapshot(Wire):
    taken_at: datetime
    threads: list[ThreadStack]


class StackTraceResult(Wire):
    pid: int
    count: int
    interval_seconds: float
    snapshots: list[StackSnapshot]


class InjectionInfo(Wire):
    """How code was run inside the target through gdb."""

    strategy: Literal["gil-holder-syscall", "main-thread-syscall", "thread-syscall", "pending-call"] = Field(
        description="gil-holder-syscall: the thread holding the GIL sat in a system call; "
        "main-thread-syscall / thread-syscall: nobody held the GIL and that thread sat in a system "
        "call; pending-call: the main thread ran it from its interpreter loop (Py_AddPendingCall)."
    )
    thread_id: int = Field(description="OS thread id that ran the injected code.")
    gdb_seconds: float = Field(
        description="Wall time of the gdb run, attach to detach: an upper bound on the target's pause."
    )


# --- memory -----------------------------------------------------------------------------------


class AllocationSite(Wire):
    function: str | None = Field(description="None with tracemalloc, which records only file and line.")
    file: str
    line: int
    bytes: int
    count: int
    stack: list[str] = Field(default_factory=list, description="Innermost first, 'function (file:line)'.")


class MemoryResult(Wire):
    pid: int
    method: Literal["memray", "tracemalloc"]
    fallback_reason: str | None = Field(description="Why memray was not used, when method is tracemalloc.")
    duration_seconds: float
    total_allocated_bytes: int | None = Field(description="All bytes allocated in the window (memray only).")
    total_allocations: int | None
    peak_bytes: int = Field(description="Highest traced memory in use during the window.")
    still_allocated_bytes: int = Field(description="Bytes allocated in the window and not freed at its end.")
    top_allocation_sites: list[AllocationSite]
    leak_candidates: list[AllocationSite] = Field(description="Sites whose window allocations outlived it.")
    notes: list[str]
    injection: InjectionInfo
    artifacts: list[Artifact]


# --- inspect ----------------------------------------------------------------------------------


class InterpreterInfo(Wire):
    version: str = Field(description="e.g. 3.11.7")
    implementation: str
    executable: str
    prefix: str
    debug_build: bool
    platform: str


class ModuleInfo(Wire):
    name: str = Field(description="Top-level import name.")
    distribution: str | None
    version: str | None
    path: str | None


class ThreadInfo(Wire):
    name: str
    ident: int
    native_id: int | None
    daemon: bool


class OpenFile(Wire):
    fd: int
    path: str


class SocketInfo(Wire):
    fd: int
    family: str
    type: str
    local_address: str | None
    remote_address: str | None
    status: str


class InspectWarning(Wire):
    code: str
    message: str


class InspectResult(Wire):
    pid: int
    method: Literal["gdb-injection"]
    injection: InjectionInfo
    interpreter: InterpreterInfo
    modules: list[ModuleInfo] = Field(description="Non-stdlib top-level modules loaded, with distributions.")
    stdlib_modules: list[str]
    threads: list[ThreadInfo]
    open_files: list[OpenFile]
    sockets: list[SocketInfo]
    environment_names: list[str] = Field(description="Variable names only; values are never read out.")
    warnings: list[InspectWarning]


# --- debugger ---------------------------------------------------------------------------------


class DebuggerResult(Wire):
    pid: int
    host: str
    port: int
    debugpy_version: str
    debugpy_source: Literal["target", "agent"] = Field(
        description="'target' when the process imported its own debugpy, 'agent' for the agent's copy."
    )
    port_forward_command: str
    launch_json: dict[str, Any]
    injection: InjectionInfo


class WaitResult(Wire):
    signal: str
    waited_seconds: float


# --- envelope ---------------------------------------------------------------------------------


class ErrorBody(Wire):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class AgentOk(Wire):
    ok: Literal[True] = True
    action: str
    result: dict[str, Any]


class AgentFailed(Wire):
    ok: Literal[False] = False
    action: str | None
    error: ErrorBody


RESULT_MODELS: dict[str, type[Wire]] = {
    "ps": PsResult,
    "profile": ProfileResult,
    "stacktrace": StackTraceResult,
    "memory": MemoryResult,
    "inspect": InspectResult,
    "debugger": DebuggerResult,
    "wait": WaitResult,
}


def parse_reply(stdout: str) -> AgentOk | AgentFailed:
    """Parse an agent's stdout (one JSON object) into the reply envelope.

    Raises ValueError (json.JSONDecodeError or pydantic.ValidationError) when the text is not a
    reply; use `typed_result` for the action's result model.
    """
    data = json.loads(stdout)
    if isinstance(data, dict) and data.get("ok") is True:
        return AgentOk.model_validate(data)
    return AgentFailed.model_validate(data)


def typed_result(reply: AgentOk) -> Wire:
    """The result of a successful reply as its action's model (e.g. `ProfileResult`)."""
    return RESULT_MODELS[reply.action].model_validate(reply.result)
