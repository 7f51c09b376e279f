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
    runtime: Literal["python", "go", "jvm", "node", "native"] = Field(
        description="What the process runs, read from its executable and mapped libraries (no attach)."
    )
    runtime_version: str | None = Field(
        description="python: major.minor; go: e.g. go1.22.3 (the binary's build info); jvm: JAVA_VERSION "
        "of its Java home's release file (else the major version); node: e.g. 20.11.1; None when unreadable."
    )
    runtime_detail: str | None = Field(
        description="go: the main package's path; jvm: the Java home; otherwise None."
    )


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


# --- goprofile ---------------------------------------------------------------------------------


class GoroutineStateCount(Wire):
    state: str = Field(description="As the Go runtime names it: running, runnable, chan receive, IO wait...")
    count: int


class GoroutineInfo(Wire):
    id: int
    state: str
    wait_minutes: int | None = Field(
        description="How long it has waited, when the runtime says (it does only from one minute on)."
    )
    locked_to_thread: bool
    function: str | None = Field(description="Its innermost frame.")
    file: str | None
    line: int | None
    created_by: str | None = Field(description="'function (file:line)' of the go statement that started it.")


class GoroutineSummary(Wire):
    total: int
    by_state: list[GoroutineStateCount] = Field(description="Most common state first.")
    longest_blocked: list[GoroutineInfo] = Field(
        description="Goroutines that are not running, runnable or in a system call, longest wait first "
        "(at most 10)."
    )


class GoProfileResult(Wire):
    pid: int
    go_version: str | None = Field(description="From the binary's build info, e.g. go1.22.3.")
    main_package: str | None
    endpoint: str = Field(description="The pprof index the profile came from, e.g. http://127.0.0.1:6060/debug/pprof/.")
    probed_ports: list[int] = Field(description="The ports asked for /debug/pprof/, in order.")
    duration_seconds: int
    samples: int = Field(description="CPU samples (the Go runtime takes 100 per second of CPU).")
    cpu_seconds: float = Field(description="CPU time the samples stand for, over all threads.")
    top_functions: list[FunctionStat] = Field(description="Sorted by self share, hottest first.")
    goroutines: GoroutineSummary
    artifacts: list[Artifact] = Field(
        description="flamegraph.svg, cpu.pb.gz (for `go tool pprof`), goroutines.txt (the debug=2 dump)."
    )


# --- nodeprofile -------------------------------------------------------------------------------


class NodeProfileResult(Wire):
    pid: int
    node_version: str | None = Field(description="As the inspector reports it, e.g. 20.11.1.")
    inspector_port: int
    inspector_was_open: bool = Field(
        description="The inspector already listened before the action: it was used and left open."
    )
    inspector_closed: bool = Field(
        description="The inspector the agent opened with SIGUSR1 was closed again (its port is gone)."
    )
    duration_seconds: int
    sampling_interval_micros: int
    samples: int
    top_functions: list[FunctionStat] = Field(description="Sorted by self share, hottest first.")
    artifacts: list[Artifact] = Field(
        description="flamegraph.svg and profile.cpuprofile (opens in Chrome DevTools' Performance panel)."
    )


# --- Java (javathreads, javaheap, javaprofile) ---------------------------------------------------


class JavaFrame(Wire):
    method: str = Field(description="Class and method, e.g. com.example.Orders.place.")
    location: str | None = Field(description="As the dump prints it: Orders.java:42, Native Method, Unknown Source.")
    locks: list[str] = Field(description="The dump's lock lines under this frame: 'locked <0x...> (a java.lang.Object)'.")


class JavaThread(Wire):
    name: str
    number: int | None = Field(description="The JVM's thread number (#12); None for the VM's own threads.")
    daemon: bool
    state: str | None = Field(description="java.lang.Thread.State: RUNNABLE, BLOCKED, WAITING, TIMED_WAITING...")
    state_detail: str | None = Field(description="What the dump says in brackets, e.g. 'on object monitor', 'sleeping'.")
    cpu_millis: float | None
    frames: list[JavaFrame] = Field(description="Innermost first, at most 64.")


class JavaStateCount(Wire):
    state: str
    count: int


class DeadlockedThread(Wire):
    name: str
    waiting_for: str = Field(description="As the JVM says it, e.g. 'waiting to lock monitor 0x... (object 0x..., a java.lang.Object)'.")
    held_by: str = Field(description="The thread that holds it.")
    frames: list[JavaFrame] = Field(description="Its stack, innermost first.")


class JavaDeadlock(Wire):
    threads: list[DeadlockedThread] = Field(description="The cycle, in the JVM's order.")


class JavaThreadDumpResult(Wire):
    pid: int
    java_version: str | None = Field(description="From the Java home's release file.")
    vm: str | None = Field(description="The dump's heading, e.g. 'OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode)'.")
    thread_count: int = Field(description="Java threads (the JVM's own, unnumbered ones are not counted).")
    by_state: list[JavaStateCount] = Field(description="Java threads by state, most common first.")
    deadlocks: list[JavaDeadlock] = Field(description="The JVM's own deadlock detection; empty when there is none.")
    threads: list[JavaThread] = Field(description="Java threads in the dump's order, at most 500.")
    attach_seconds: float = Field(description="From the request to the end of the JVM's reply.")
    artifacts: list[Artifact] = Field(description="threads.txt: the dump as the JVM printed it.")


class JavaClassStat(Wire):
    class_name: str = Field(description="As the JVM names it: java.lang.String, [B (byte[]), com.example.Order.")
    module: str | None = Field(description="e.g. java.base@17.0.15; None for classes outside named modules.")
    instances: int
    bytes: int
    share: float = Field(description="bytes / the heap's total in the histogram, 0..1.")


class JavaHeapHistogramResult(Wire):
    pid: int
    java_version: str | None
    live_only: bool = Field(description="Only reachable objects (the JVM ran a full GC first).")
    total_instances: int
    total_bytes: int
    class_count: int
    top_classes: list[JavaClassStat] = Field(description="By bytes, largest first.")
    attach_seconds: float = Field(description="From the request to the end of the JVM's reply (includes the GC).")
    artifacts: list[Artifact] = Field(description="histogram.txt: the whole histogram as the JVM printed it.")


class JavaAllocationStat(Wire):
    class_name: str
    bytes: int = Field(description="Estimated bytes allocated over the recording (the samples' weights).")
    share: float = Field(description="bytes / all sampled allocation, 0..1.")
    samples: int
    top_site: str | None = Field(description="The method that allocated most of it (innermost frame).")


class JavaProfileResult(Wire):
    pid: int
    java_version: str | None
    duration_seconds: int
    settings: str = Field(description="The JFR settings the recording used (profile: 10 ms execution samples).")
    samples: int = Field(description="jdk.ExecutionSample events: Java threads seen running Java code.")
    top_functions: list[FunctionStat] = Field(description="Hot methods, by self share, hottest first.")
    allocation_samples: int = Field(description="jdk.ObjectAllocationSample events.")
    top_allocations: list[JavaAllocationStat] = Field(description="Classes by estimated bytes allocated, largest first.")
    recording_bytes: int
    artifacts: list[Artifact] = Field(
        description="flamegraph.svg and recording.jfr (opens in JDK Mission Control, or `jfr print`)."
    )


# --- network ---------------------------------------------------------------------------------


class SocketEntry(Wire):
    family: Literal["ipv4", "ipv6"]
    local_address: str
    local_port: int
    remote_address: str | None
    remote_port: int | None
    state: str
    pid: int | None = Field(description="The process holding it, when it is one the agent can see.")
    process: str | None
    send_queue: int
    receive_queue: int


class PhaseTimings(Wire):
    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None
    first_byte_ms: float | None = Field(description="From the request written to the first byte of the answer.")
    total_ms: float | None


class DnsCheck(Wire):
    name: str
    outcome: Literal["resolved", "nxdomain", "no_records", "servfail", "refused", "timeout", "error"]
    addresses: list[str]
    canonical_name: str | None
    answered_name: str | None = Field(description="The fully qualified name that answered (after the search list).")
    server: str | None
    tried: list[str] = Field(description="'name: rcode' for every name asked, in order.")
    error: str | None
    ms: float


class TlsSummary(Wire):
    version: str | None
    cipher: str | None
    verified: bool
    subject: str | None
    issuer: str | None
    not_after: str | None


class ConnectCheck(Wire):
    target: str = Field(description="host:port as given.")
    ok: bool
    outcome: Literal["connected", "refused", "timeout", "reset", "unreachable", "dns", "error"]
    address: str | None
    error: str | None
    timings: PhaseTimings


class HttpCheck(Wire):
    url: str
    ok: bool = Field(description="An HTTP answer came back (any status) before the timeout.")
    outcome: Literal[
        "answered", "refused", "timeout", "reset", "unreachable", "dns", "tls", "tls_verify", "protocol", "error"
    ]
    phase: str | None = Field(description="Where it failed: dns, connect, tls, request, firstByte, body.")
    status: int | None
    reason: str | None
    address: str | None
    headers: dict[str, str] = Field(description="content-type, content-length, server, location when sent.")
    body_bytes: int | None
    body_preview: str | None = Field(description="The first 200 characters of a text answer.")
    tls: TlsSummary | None
    error: str | None
    timings: PhaseTimings


class NetworkResult(Wire):
    pid: int | None = Field(description="Whose network namespace: the target process (None: the agent's own).")
    netns_shared: bool = Field(description="The agent's sockets were already in that namespace (a pod).")
    resolv_conf: str | None = Field(description="Where the nameservers and search list came from.")
    nameservers: list[str]
    search: list[str]
    ndots: int
    listening: list[SocketEntry]
    established: list[SocketEntry] = Field(description="At most 200 (the oldest first, as the kernel lists them).")
    established_total: int
    other_sockets: dict[str, int] = Field(description="Counts of the other TCP states (TIME_WAIT, CLOSE_WAIT...).")
    dns: list[DnsCheck]
    connects: list[ConnectCheck]
    http: list[HttpCheck]
    seconds: float


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
    "goprofile": GoProfileResult,
    "nodeprofile": NodeProfileResult,
    "javathreads": JavaThreadDumpResult,
    "javaheap": JavaHeapHistogramResult,
    "javaprofile": JavaProfileResult,
    "network": NetworkResult,
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
