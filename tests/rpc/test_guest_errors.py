"""`guest_error`: the one place a host error becomes the code, message and data the guest sees."""

from __future__ import annotations

import pytest

from host.errors import (
    CapabilityDenied,
    ConfigError,
    Conflict,
    DebugError,
    Forbidden,
    KubeError,
    NotFound,
    Throttled,
    WfhostError,
)
from host.rpc import ErrorCode, RpcError, guest_error


def _answer(exc: WfhostError) -> tuple[int, str, object]:
    err = guest_error(exc)
    assert err is not None
    return err.code, err.message, err.data


def test_a_policy_refusal_is_capability_denied_with_its_message_and_data() -> None:
    data = {"capability": "k8s.read", "reason": "not_granted"}
    assert _answer(CapabilityDenied("k8s.getPod needs capability k8s.read", data)) == (
        ErrorCode.CAPABILITY_DENIED, "k8s.getPod needs capability k8s.read", data)


def test_a_missing_kubernetes_object_is_not_found_with_the_api_message() -> None:
    assert _answer(NotFound("pods \"web-1\" not found", status=404, reason="NotFound")) == (
        ErrorCode.NOT_FOUND, 'pods "web-1" not found', None)


@pytest.mark.parametrize(
    "exc",
    [
        Forbidden("pods is forbidden", status=403, reason="Forbidden"),
        Conflict("conflict", status=409, reason="Conflict"),
        Throttled("slow down", retry_after=2),
        KubeError("the server is on fire", status=500, reason="InternalError"),
    ],
    ids=["forbidden", "conflict", "throttled", "other"],
)
def test_any_other_kubernetes_error_is_upstream_error_naming_the_api(exc: KubeError) -> None:
    assert _answer(exc) == (ErrorCode.UPSTREAM_ERROR, f"Kubernetes API: {exc}",
                            {"reason": exc.reason, "status": exc.status})


def test_a_debug_action_on_a_pod_that_is_gone_is_not_found_and_others_are_upstream_errors() -> None:
    assert _answer(DebugError("pod shop/web-1 is gone", code="pod_gone")) == (
        ErrorCode.NOT_FOUND, "pod shop/web-1 is gone", {"reason": "pod_gone", "details": {}})
    assert _answer(DebugError("py-spy failed", code="agent_failed", details={"exit": 1})) == (
        ErrorCode.UPSTREAM_ERROR, "py-spy failed", {"reason": "agent_failed", "details": {"exit": 1}})


def test_an_rpc_error_is_answered_as_it_is() -> None:
    err = RpcError(ErrorCode.INVALID_PARAMS, "bad", {"x": 1})
    assert guest_error(err) is err


def test_an_error_the_guest_has_no_business_seeing_is_not_translated() -> None:
    assert guest_error(ConfigError("sinks.webhook.url: missing")) is None
