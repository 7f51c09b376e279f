"""The `debug.*` capabilities: each runs one debug-agent action in the target pod.

Artifacts the agent embeds (flamegraphs, memray reports) are kept host-side for the invocation
and replaced by handles (`artifactId`, name, media type, size), so large files never cross the
sandbox boundary; `findings.report` attaches them by id. A note the mechanism adds (the agent ran
from a node pod because Pod Security rejected the debug container) goes into every finding the
invocation reports from then on. A failed action raises `DebugError`,
which the router turns into the guest's error code (`host.rpc.guest_error`).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from host.capabilities.context import CallContext
from host.capabilities.params import CallParams, PodRef
from host.capabilities.router import CapabilityRouter
from host.debug.mechanism import ActionRunner
from host.model.findings import Attachment
from host.rpc import ErrorCode, RpcError

MAX_ARTIFACT_BYTES = 32 << 20


class _Target(CallParams):
    target: PodRef

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.target.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.target.kind or "Pod"

    def agent_args(self) -> list[str]:
        raise NotImplementedError

    def timeout(self) -> float | None:
        return None


class ProcessList(_Target):
    def agent_args(self) -> list[str]:
        return ["ps"]


class _Pid(_Target):
    pid: int = Field(ge=1, le=4_194_304)


class Profile(_Pid):
    duration: int = Field(default=2, ge=1, le=300)
    rate: int = Field(default=100, ge=1, le=1000)
    idle: bool = False
    subprocesses: bool = False
    native: bool = False

    def agent_args(self) -> list[str]:
        args = ["profile", "--pid", str(self.pid), "--duration", str(self.duration), "--rate", str(self.rate)]
        args += [f"--{flag}" for flag in ("idle", "subprocesses", "native") if getattr(self, flag)]
        return args

    def timeout(self) -> float:
        return self.duration + 90


class StackTrace(_Pid):
    count: int = Field(default=1, ge=1, le=100)
    interval: float = Field(default=1, ge=0, le=60)
    locals: bool = False

    def agent_args(self) -> list[str]:
        args = ["stacktrace", "--pid", str(self.pid), "--count", str(self.count), "--interval", f"{self.interval:g}"]
        return [*args, "--locals"] if self.locals else args

    def timeout(self) -> float:
        return self.count * (self.interval + 15) + 60


class Memory(_Pid):
    duration: int = Field(default=60, ge=1, le=300)

    def agent_args(self) -> list[str]:
        return ["memory", "--pid", str(self.pid), "--duration", str(self.duration)]

    def timeout(self) -> float:
        return self.duration + 180


class Inspect(_Pid):
    def agent_args(self) -> list[str]:
        return ["inspect", "--pid", str(self.pid)]


class Debugger(_Pid):
    port: int = Field(default=5678, ge=1024, le=65535)

    def agent_args(self) -> list[str]:
        return ["debugger", "--pid", str(self.pid), "--port", str(self.port),
                "--pod", self.target.name, "--namespace", self.target.namespace]


class GoProfile(_Pid):
    duration: int = Field(default=5, ge=1, le=300)
    port: int | None = Field(default=None, ge=1, le=65535, description="The pprof port; probed when absent.")

    def agent_args(self) -> list[str]:
        args = ["goprofile", "--pid", str(self.pid), "--duration", str(self.duration)]
        return [*args, "--port", str(self.port)] if self.port is not None else args

    def timeout(self) -> float:
        return self.duration + 120


class NodeProfile(_Pid):
    duration: int = Field(default=5, ge=1, le=300)
    port: int | None = Field(default=None, ge=1, le=65535, description="An inspector port already open.")
    interval: int = Field(default=1000, ge=100, le=100_000, description="Sampling interval, microseconds.")

    def agent_args(self) -> list[str]:
        args = ["nodeprofile", "--pid", str(self.pid), "--duration", str(self.duration),
                "--interval", str(self.interval)]
        return [*args, "--port", str(self.port)] if self.port is not None else args

    def timeout(self) -> float:
        return self.duration + 90


class JavaThreadDump(_Pid):
    def agent_args(self) -> list[str]:
        return ["javathreads", "--pid", str(self.pid)]

    def timeout(self) -> float:
        return 120


class JavaHeapHistogram(_Pid):
    top: int = Field(default=30, ge=1, le=200, description="How many classes, largest first.")
    live_only: bool = Field(default=True, description="Reachable objects only: the JVM runs a full GC first.")

    def agent_args(self) -> list[str]:
        args = ["javaheap", "--pid", str(self.pid), "--top", str(self.top)]
        return args if self.live_only else [*args, "--all"]

    def timeout(self) -> float:
        return 180


class JavaProfile(_Pid):
    duration: int = Field(default=10, ge=1, le=300)

    def agent_args(self) -> list[str]:
        return ["javaprofile", "--pid", str(self.pid), "--duration", str(self.duration)]

    def timeout(self) -> float:
        return 2 * self.duration + 150  # the recording, then jfr print over it


_DNS_NAME = re.compile(r"^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                       r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>\d{1,5})$")


def _name(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _DNS_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a DNS name or an IP address") from None
    return value


def _host_port(value: str) -> str:
    match = _HOST_PORT.fullmatch(value)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"{value!r} is not host:port (port 1-65535)")
    _name(match["host"].strip("[]"))
    return value


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(?:[/?#]\S*)?", value) or len(value) > 2048:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _nameserver(value: str) -> str:
    host, _, port = value.rpartition(":") if value.count(":") == 1 or value.startswith("[") else (value, "", "")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address with an optional :port") from None
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{value!r}: the port must be 1-65535")
    return value


class NetworkCheck(_Target):
    pid: int | None = Field(default=None, ge=1, le=4_194_304,
                            description="Whose network namespace and resolv.conf; the pod's own when absent.")
    names: list[Annotated[str, AfterValidator(_name)]] = Field(default_factory=list, max_length=20)
    connect: list[Annotated[str, AfterValidator(_host_port)]] = Field(default_factory=list, max_length=20)
    http: list[Annotated[str, AfterValidator(_url)]] = Field(default_factory=list, max_length=20)
    timeout_seconds: float = Field(default=5, ge=0.1, le=60, description="Seconds each check may take.")
    nameservers: list[Annotated[str, AfterValidator(_nameserver)]] = Field(default_factory=list, max_length=3)
    insecure: bool = False
    sockets: bool = True

    def agent_args(self) -> list[str]:
        args = ["network", "--timeout", f"{self.timeout_seconds:g}"]
        if self.pid is not None:
            args += ["--pid", str(self.pid)]
        # `--flag=value`: a value can never be read as an option of its own.
        args += [f"--resolve={name}" for name in self.names]
        args += [f"--connect={target}" for target in self.connect]
        args += [f"--http={url}" for url in self.http]
        args += [f"--nameserver={server}" for server in self.nameservers]
        args += ["--insecure"] if self.insecure else []
        return args + ([] if self.sockets else ["--no-sockets"])

    def timeout(self) -> float:
        checks = len(self.names) + len(self.connect) + len(self.http)
        return math.ceil(checks / 8) * self.timeout_seconds * 2 + 60  # the agent runs 8 checks at a time


def _handles(ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]:
    """Move embedded artifacts into the invocation's store; the guest gets handles."""
    artifacts = result.get("artifacts")
    if not isinstance(artifacts, list):
        return result
    handles = []
    for art in artifacts:
        if not isinstance(art, dict) or art.get("encoding") != "base64" or not isinstance(art.get("data"), str):
            continue
        try:
            data = base64.b64decode(art["data"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RpcError(ErrorCode.UPSTREAM_ERROR, f"the debug agent sent a broken artifact: {exc}") from exc
        if len(data) > MAX_ARTIFACT_BYTES:
            raise RpcError(ErrorCode.LIMIT_EXCEEDED, f"artifact {art.get('name')} is over {MAX_ARTIFACT_BYTES} bytes")
        att = Attachment(name=str(art.get("name", "artifact")), media_type=str(art.get("mediaType", "application/octet-stream")),
                         data=data)
        artifact_id = ctx.add_artifact(att)
        handles.append({"artifactId": artifact_id, "name": att.name, "mediaType": att.media_type, "size": att.size})
    return {**result, "artifacts": handles}


def register(router: CapabilityRouter, backend: ActionRunner) -> None:
    def handler(model: type[_Target]) -> Any:
        async def handle(ctx: CallContext, p: _Target) -> dict[str, Any]:
            t = p.target
            result = await backend.run(t.namespace, t.name, t.container, p.agent_args(), timeout=p.timeout())
            mechanism = result.get("mechanism")
            if isinstance(mechanism, dict) and isinstance(mechanism.get("note"), str):
                ctx.note(mechanism["note"])  # how the agent reached the pod, for the findings
            return _handles(ctx, result)

        return handle

    for method, model in (
        ("debug.processList", ProcessList), ("debug.pythonProfile", Profile),
        ("debug.pythonStackTrace", StackTrace), ("debug.pythonMemory", Memory),
        ("debug.pythonInspect", Inspect), ("debug.pythonDebugger", Debugger),
        ("debug.goProfile", GoProfile), ("debug.nodeProfile", NodeProfile), ("debug.networkCheck", NetworkCheck),
        ("debug.javaThreadDump", JavaThreadDump), ("debug.javaHeapHistogram", JavaHeapHistogram),
        ("debug.javaProfile", JavaProfile),
    ):
        router.register(method, model, handler(model))
