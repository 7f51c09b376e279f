"""The `debug.*` capabilities: each runs one debug-agent action in the target pod.

Artifacts the agent embeds (flamegraphs, memray reports) are kept host-side for the invocation
and replaced by handles (`artifactId`, name, media type, size), so large files never cross the
sandbox boundary; `findings.report` attaches them by id. A failed action raises `DebugError`,
which the router turns into the guest's error code (`host.rpc.guest_error`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import Field

from host.capabilities.context import CallContext
from host.capabilities.params import CallParams, PodRef
from host.capabilities.router import CapabilityRouter
from host.debug.backend import DebugBackend
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


def register(router: CapabilityRouter, backend: DebugBackend) -> None:
    def handler(model: type[_Target]) -> Any:
        async def handle(ctx: CallContext, p: _Target) -> dict[str, Any]:
            t = p.target
            result = await backend.run(t.namespace, t.name, t.container, p.agent_args(), timeout=p.timeout())
            return _handles(ctx, result)

        return handle

    for method, model in (
        ("debug.processList", ProcessList), ("debug.pythonProfile", Profile),
        ("debug.pythonStackTrace", StackTrace), ("debug.pythonMemory", Memory),
        ("debug.pythonInspect", Inspect), ("debug.pythonDebugger", Debugger),
    ):
        router.register(method, model, handler(model))
