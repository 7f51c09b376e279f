"""The router answers a capability's host errors with the guest's codes, and passes host bugs on.

Handlers and policy raise host errors (`KubeError`, `DebugError`, `CapabilityDenied`); the
router is where they become `RpcError`s, through `host.rpc.guest_error`.
"""

from __future__ import annotations

from typing import Any

import pytest

from host.capabilities.context import CallContext
from host.capabilities.policy import METHOD_CAPABILITY, Grant, Policy
from host.capabilities.routes import build_router
from host.config import SandboxConfig
from host.errors import ConfigError, DebugError, Forbidden, NotFound, WfhostError
from host.model.events import Event
from host.rpc import ErrorCode, RpcError


class Raising:
    """Stands in for the Kubernetes client and the debug backend: every call raises `exc`."""

    def __init__(self, exc: WfhostError) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            raise self.exc

        return call


def _ctx(*, declared: frozenset[str] | None = None) -> CallContext:
    caps = frozenset(METHOD_CAPABILITY.values())
    policy = Policy(workflow="w", declared=caps if declared is None else declared, granted=Grant(capabilities=caps))
    return CallContext(invocation_id="inv-1", workflow="w", event=Event(kind="manual"), params={}, policy=policy,
                       limits=SandboxConfig())


POD = {"pod": {"namespace": "shop", "name": "web-1"}}
TARGET = {"target": {"namespace": "shop", "name": "web-1"}}


async def _call(exc: WfhostError, method: str, params: dict[str, Any]) -> RpcError:
    backend = Raising(exc)
    router = build_router(kube=backend, debug=backend)  # type: ignore[arg-type]
    with pytest.raises(RpcError) as info:
        await router.call(_ctx(), method, params)
    assert info.value.__cause__ is exc
    return info.value


async def test_a_kubernetes_error_in_a_read_reaches_the_guest_as_upstream_error() -> None:
    err = await _call(Forbidden("pods is forbidden", status=403, reason="Forbidden"), "k8s.getPod", POD)
    assert (err.code, err.message, err.data) == (
        ErrorCode.UPSTREAM_ERROR, "Kubernetes API: pods is forbidden", {"reason": "Forbidden", "status": 403})


async def test_a_missing_object_in_a_generic_read_reaches_the_guest_as_not_found() -> None:
    ref = {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "web-1"}
    err = await _call(NotFound('pods "web-1" not found', status=404), "k8s.get", ref)
    assert (err.code, err.message) == (ErrorCode.NOT_FOUND, 'pods "web-1" not found')


async def test_a_failed_debug_action_reaches_the_guest_with_its_reason() -> None:
    err = await _call(DebugError("pod shop/web-1 is gone", code="pod_gone"), "debug.processList", TARGET)
    assert (err.code, err.data) == (ErrorCode.NOT_FOUND, {"reason": "pod_gone", "details": {}})


async def test_a_policy_refusal_reaches_the_guest_as_capability_denied() -> None:
    router = build_router()
    with pytest.raises(RpcError) as info:
        await router.call(_ctx(declared=frozenset()), "findings.report", {"title": "x"})
    assert info.value.code == ErrorCode.CAPABILITY_DENIED
    assert info.value.data == {"capability": "findings.report", "reason": "not_declared"}


async def test_a_host_error_the_guest_must_not_see_is_passed_on_untranslated() -> None:
    backend = Raising(ConfigError("cluster.kubeconfig: unreadable"))
    router = build_router(kube=backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):  # the connection answers INTERNAL_ERROR naming only its type
        await router.call(_ctx(), "k8s.getPod", POD)
