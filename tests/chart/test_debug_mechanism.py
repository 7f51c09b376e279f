"""debug.mechanism in the chart: the default needs no pod rights; nodePod and auto get a Role in
the node pods' namespace only, and the schema refuses what the host would."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.support import NAMESPACE, fullname, merged, render, scenario_values

NODE_PODS = fullname() + "-debug-node-pods"
NODE_POD_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list", "delete"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
]


def test_the_default_is_the_ephemeral_container_and_grants_no_pod_creation() -> None:
    rendered = render()
    assert rendered.host_config.debug.mechanism == "ephemeralContainer"
    assert rendered.find("Role", NODE_PODS) is None
    assert rendered.granted("pods", "create") == []
    assert rendered.granted("pods", "delete") == []
    assert "Debug node pods" not in rendered.files["wfhost/templates/NOTES.txt"]


@pytest.mark.parametrize("mechanism", ["nodePod", "auto"])
def test_node_pods_get_a_role_in_the_release_namespace_only(mechanism: str) -> None:
    rendered = render({"debug": {"mechanism": mechanism}})
    config = rendered.host_config.debug
    assert (config.mechanism, config.node_pod.namespace) == (mechanism, NAMESPACE)
    role = rendered.one("Role", NODE_PODS)
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == NODE_POD_RULES
    (binding,) = rendered.bindings_to("Role", NODE_PODS)
    assert binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] == NAMESPACE
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": fullname(), "namespace": NAMESPACE}]
    # Creating pods is granted there and nowhere else, and never cluster-wide.
    assert rendered.granted("pods", "create") == [("Role", NAMESPACE, NODE_PODS)]
    notes = rendered.files["wfhost/templates/NOTES.txt"]
    assert f"kubectl label namespace {NAMESPACE} pod-security.kubernetes.io/enforce=privileged" in notes


def test_a_node_pod_namespace_of_its_own_gets_the_role_and_the_host_config() -> None:
    rendered = render({"debug": {"mechanism": "auto", "nodePod": {"namespace": "wfhost-debug"}}})
    assert rendered.host_config.debug.node_pod.namespace == "wfhost-debug"
    assert rendered.one("Role", NODE_PODS)["metadata"]["namespace"] == "wfhost-debug"
    assert rendered.bindings_to("Role", NODE_PODS)[0]["subjects"][0]["namespace"] == NAMESPACE


def test_no_node_pod_rights_while_every_debug_workflow_is_off() -> None:
    rendered = render(merged(scenario_values("debug-off"), {"debug": {"mechanism": "auto"}}))
    assert rendered.find("Role", NODE_PODS) is None
    assert rendered.granted("pods", "create") == []


@pytest.mark.parametrize(
    "debug",
    [{"mechanism": "sidecar"}, {"nodePod": {"namespace": "Not_A_Namespace"}}, {"nodePod": {"image": "x"}}],
    ids=["unknown-mechanism", "bad-namespace", "unknown-key"],
)
def test_the_schema_refuses_bad_mechanism_values(debug: dict[str, object]) -> None:
    with pytest.raises(helm.HelmError):
        render({"debug": debug})
