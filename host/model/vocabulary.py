"""The protocol's vocabulary, written once: capabilities, event kinds, the guest → host methods with
the capability each needs, and the JSON-RPC error codes.

Everything else derives from this module. The host imports the `Literal` types and maps from here
(`host.config`, `host.model.manifest`, `host.capabilities.policy`, `host.rpc.codes` re-export them);
`python -m host.codegen.vocabulary` writes the SDK's `sdk-ts/_vocabulary.ts`, the capability and
event-kind enums of `charts/wfhost/values.schema.json` and the vocabulary tables of
`docs/protocol.md`; `tests/codegen/test_vocabulary.py` fails while any of them is stale.

To add an event kind: add it to `EventKind` and to `EVENT_KIND_DESCRIPTIONS`, then run the
generator. To add a method: add it to `METHODS` (and its capability to `Capability` if new).

Standard library only: the lowest layer of the host imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Literal, get_args

Capability = Literal[
    "k8s.read",
    "findings.report",
    "debug.processList",
    "debug.pythonProfile",
    "debug.pythonStackTrace",
    "debug.pythonMemory",
    "debug.pythonInspect",
    "debug.pythonDebugger",
    "debug.goProfile",
    "debug.nodeProfile",
    "debug.networkCheck",
    "debug.javaThreadDump",
    "debug.javaHeapHistogram",
    "debug.javaProfile",
]

EventKind = Literal[
    "pod.create",
    "pod.update",
    "pod.delete",
    "pod.crashLoop",
    "pod.oomKilled",
    "pod.imagePullBackOff",
    "pod.evicted",
    "k8s.warningEvent",
    "k8s.create",
    "k8s.update",
    "k8s.delete",
    "job.failed",
    "node.notReady",
    "node.pressure",
    "pod.pending",
    "pod.containerConfigError",
    "pod.probeFailing",
    "deployment.rolloutStuck",
    "alert",
    "manual",
    "schedule",
]

CAPABILITIES: tuple[Capability, ...] = get_args(Capability)
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

EVENT_KIND_DESCRIPTIONS: Mapping[EventKind, str] = MappingProxyType(
    {
        "pod.create": "A pod was created.",
        "pod.update": "A pod changed (its phase, conditions or container statuses).",
        "pod.delete": "A pod was deleted.",
        "pod.crashLoop": "A container is crash-looping (`CrashLoopBackOff`).",
        "pod.oomKilled": "A container was killed for running out of memory.",
        "pod.imagePullBackOff": "A container's image cannot be pulled.",
        "pod.evicted": "A pod was evicted from its node.",
        "k8s.warningEvent": "Kubernetes recorded a `Warning` event.",
        "k8s.create": "An object of a watched kind was created.",
        "k8s.update": "An object of a watched kind changed.",
        "k8s.delete": "An object of a watched kind was deleted.",
        "job.failed": "A Job failed.",
        "node.notReady": "A node stopped being `Ready`.",
        "node.pressure": "A node reports memory, disk or PID pressure.",
        "pod.pending": "A pod stayed unschedulable (`PodScheduled=False`) longer than `triggers.podPendingSeconds`.",
        "pod.containerConfigError": "A container cannot start because of its configuration (`CreateContainerConfigError`).",
        "pod.probeFailing": "A container's liveness, readiness or startup probe keeps failing.",
        "deployment.rolloutStuck": "A Deployment's rollout stopped progressing (`ProgressDeadlineExceeded`).",
        "alert": "An Alertmanager alert arrived at the host's webhook.",
        "manual": "Someone ran the workflow by hand (CLI, HTTP API) against a pod.",
        "schedule": "A `schedule` trigger came due (its interval elapsed, or its cron time came).",
    }
)

# Kinds whose subject is always a pod.
POD_KINDS: frozenset[EventKind] = frozenset(k for k in EVENT_KINDS if k.startswith("pod."))


@dataclass(frozen=True)
class Method:
    """A guest → host request method: the capability that unlocks it and what it does."""

    capability: Capability
    description: str


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "k8s.getPod": Method("k8s.read", "Read one pod."),
        "k8s.listPods": Method("k8s.read", "List a namespace's pods."),
        "k8s.podLogs": Method("k8s.read", "Read a container's logs."),
        "k8s.events": Method("k8s.read", "List the Kubernetes events about an object."),
        "k8s.get": Method("k8s.read", "Read one object of any kind."),
        "k8s.list": Method("k8s.read", "List objects of any kind."),
        "k8s.owners": Method(
            "k8s.read", "Follow an object's owner references (e.g. Pod → ReplicaSet → Deployment)."
        ),
        "findings.report": Method("findings.report", "Report a finding."),
        "debug.processList": Method("debug.processList", "List the target container's processes."),
        "debug.pythonProfile": Method("debug.pythonProfile", "Profile a Python process."),
        "debug.pythonStackTrace": Method("debug.pythonStackTrace", "Dump a Python process's stacks."),
        "debug.pythonMemory": Method("debug.pythonMemory", "Trace a Python process's allocations."),
        "debug.pythonInspect": Method("debug.pythonInspect", "Inspect a Python process."),
        "debug.pythonDebugger": Method(
            "debug.pythonDebugger", "Make a Python process listen for a debugger."
        ),
        "debug.goProfile": Method(
            "debug.goProfile", "Profile a Go process and dump its goroutines (through its net/http/pprof)."
        ),
        "debug.nodeProfile": Method(
            "debug.nodeProfile", "Profile a Node.js process (through its inspector, opened and closed again)."
        ),
        "debug.networkCheck": Method(
            "debug.networkCheck",
            "List a pod's sockets; resolve names, connect and GET from its network namespace.",
        ),
        "debug.javaThreadDump": Method(
            "debug.javaThreadDump", "Dump a JVM's threads and the deadlocks it detects (through its attach mechanism)."
        ),
        "debug.javaHeapHistogram": Method(
            "debug.javaHeapHistogram", "Count a JVM's heap by class (GC.class_histogram, through its attach mechanism)."
        ),
        "debug.javaProfile": Method(
            "debug.javaProfile", "Record a JVM with JFR: hot methods and allocating classes (through attach)."
        ),
    }
)

METHOD_CAPABILITY: Mapping[str, Capability] = MappingProxyType(
    {m: spec.capability for m, spec in METHODS.items()}
)

# Capabilities that act inside a workload's containers: every call is audited.
PRIVILEGED: frozenset[Capability] = frozenset(c for c in CAPABILITIES if c.startswith("debug."))


class ErrorCode(IntEnum):
    """The JSON-RPC error codes of the protocol: the standard ones and ours in -32000..-32099."""

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


ERROR_CODE_DESCRIPTIONS: Mapping[ErrorCode, str] = MappingProxyType(
    {
        ErrorCode.PARSE_ERROR: "Not JSON.",
        ErrorCode.INVALID_REQUEST: "Not a JSON-RPC 2.0 message.",
        ErrorCode.METHOD_NOT_FOUND: "Unknown method.",
        ErrorCode.INVALID_PARAMS: "The params fail validation.",
        ErrorCode.INTERNAL_ERROR: "A bug on the answering side.",
        ErrorCode.WORKFLOW_ERROR: "The workflow's `run` threw.",
        ErrorCode.CAPABILITY_DENIED: "Not declared, not granted, or out of namespace scope.",
        ErrorCode.INVOCATION_NOT_ACTIVE: "The call names no running invocation.",
        ErrorCode.LIMIT_EXCEEDED: "A per-invocation cap (calls, findings, log volume) was hit.",
        ErrorCode.REQUEST_TIMEOUT: "The answering side gave up waiting.",
        ErrorCode.CANCELLED: "The invocation was cancelled.",
        ErrorCode.UPSTREAM_ERROR: "The Kubernetes API or the debug agent failed; `data.reason` says why.",
        ErrorCode.NOT_FOUND: "The subject (pod, artifact) does not exist.",
    }
)


def _check() -> None:
    """Fail at import when the descriptions or the method map disagree with the Literals."""
    if list(EVENT_KIND_DESCRIPTIONS) != list(EVENT_KINDS):
        raise AssertionError("EVENT_KIND_DESCRIPTIONS must describe every EventKind, in the same order")
    if set(ERROR_CODE_DESCRIPTIONS) != set(ErrorCode):
        raise AssertionError("ERROR_CODE_DESCRIPTIONS must describe every ErrorCode")
    unknown = {spec.capability for spec in METHODS.values()} - set(CAPABILITIES)
    if unknown:
        raise AssertionError(f"METHODS name capabilities outside Capability: {sorted(unknown)}")


_check()
