"""`CapabilityRouter`: validate a guest's call, check it against policy, run its handler, audit it.

Order of checks for every call: the invocation is active -> the call budget -> the method's
capability is declared and granted -> the params validate -> the subject's namespace is in scope.
Policy and handlers raise host errors (`CapabilityDenied`, `KubeError`, `DebugError`, ...); the
router is where they become the guest's error answers, through `host.rpc.guest_error`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from pydantic import BaseModel, ValidationError

from host.capabilities.context import CallContext
from host.capabilities.policy import PRIVILEGED
from host.errors import CapabilityDenied, WfhostError
from host.logs import audit_logger
from host.rpc import ErrorCode, RpcError, guest_error
from host.validation import first_error

log = structlog.get_logger(__name__)


class CallParams(Protocol):
    def subject_namespace(self, ctx: CallContext) -> str | None: ...

    def subject_kind(self, ctx: CallContext) -> str | None: ...


Handler = Callable[[CallContext, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    params: type[BaseModel]
    handler: Handler


class CapabilityRouter:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def register(self, method: str, params: type[BaseModel], handler: Handler) -> None:
        self._routes[method] = Route(params=params, handler=handler)

    def methods(self) -> frozenset[str]:
        return frozenset(self._routes)

    async def call(self, ctx: CallContext, method: str, raw: Any) -> Any:
        """Serve one guest call; a host error it meets is raised as the `RpcError` the guest gets."""
        try:
            return await self._call(ctx, method, raw)
        except WfhostError as exc:
            err = guest_error(exc)
            if err is None or err is exc:
                raise
            raise err from exc

    async def _call(self, ctx: CallContext, method: str, raw: Any) -> Any:
        if not ctx.active:
            raise RpcError(ErrorCode.INVOCATION_NOT_ACTIVE, f"invocation {ctx.invocation_id} is not running")
        ctx.count_call(method)
        try:
            cap = ctx.policy.check(method, namespace=None)
        except CapabilityDenied as err:
            self._denied(ctx, method, err)
            raise
        route = self._routes.get(method)
        if route is None:
            raise RpcError(ErrorCode.METHOD_NOT_FOUND, f"{method} is not available in this host")
        if not isinstance(raw, dict):
            raise RpcError(ErrorCode.INVALID_PARAMS, f"{method} takes an object of params")
        body = {k: v for k, v in raw.items() if k != "invocationId"}
        try:
            params = route.params.model_validate(body)
        except ValidationError as exc:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"{method}: {first_error(exc, root='params')}") from exc
        # Fail closed: params that cannot name their target's namespace have none, and under a
        # namespaced grant a call without a namespaced target is denied.
        namespace = params.subject_namespace(ctx) if hasattr(params, "subject_namespace") else None
        kind = params.subject_kind(ctx) if hasattr(params, "subject_kind") else None
        try:
            ctx.policy.check_target(method, namespace=namespace, kind=kind)
        except CapabilityDenied as err:
            self._denied(ctx, method, err, namespace=namespace)
            raise
        if cap not in PRIVILEGED:
            return await route.handler(ctx, params)
        try:
            result = await route.handler(ctx, params)
        except WfhostError as exc:
            audit_logger().warning("audit.privileged_call", workflow=ctx.workflow, invocation=ctx.invocation_id,
                                   action=method, target=_target(params), result="error", error=str(exc))
            raise
        audit_logger().info("audit.privileged_call", workflow=ctx.workflow, invocation=ctx.invocation_id,
                            action=method, target=_target(params), result="ok")
        return result

    @staticmethod
    def _denied(ctx: CallContext, method: str, err: CapabilityDenied, *, namespace: str | None = None) -> None:
        log.warning("capability.denied", workflow=ctx.workflow, invocation=ctx.invocation_id,
                    method=method, namespace=namespace, reason=str(err))


def _target(params: BaseModel) -> str:
    target = getattr(params, "target", None)
    if target is None:
        return "?"
    return f"{getattr(target, 'namespace', '?')}/{getattr(target, 'name', '?')}"


