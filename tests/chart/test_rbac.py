"""The chart's roles follow what is switched on, and never more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.support import (
    NAMESPACE,
    SCENARIOS,
    Rendered,
    fullname,
    merged,
    render,
    render_scenario,
    scenario_values,
)

READ = fullname() + "-read"
DEBUG = fullname() + "-debug"
LEADER = fullname() + "-leader-election"

ALL_DEBUG_OFF = scenario_values("debug-off")

READ_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]
DEBUG_RULES = [
    {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
]


def _binding_places(rendered: Rendered, role_kind: str, role_name: str) -> list[tuple[str, str | None]]:
    return sorted(
        (binding["kind"], binding["metadata"].get("namespace"))
        for binding in rendered.bindings_to(role_kind, role_name)
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_wildcard_verbs_resources_or_groups_anywhere(scenario: str) -> None:
    for role, rule in render_scenario(scenario).rbac_rules():
        for key in ("verbs", "resources", "apiGroups", "resourceNames"):
            assert "*" not in rule.get(key, []), f"{role['metadata']['name']}: {rule}"
        assert not any("*" in resource for resource in rule.get("resources", []))
        assert "nonResourceURLs" not in rule


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_role_touches_secrets_or_escalates(scenario: str) -> None:
    for role, rule in render_scenario(scenario).rbac_rules():
        assert "secrets" not in rule["resources"], role["metadata"]["name"]
        assert not {"escalate", "bind", "impersonate", "delete", "deletecollection"} & set(rule["verbs"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reading_pods_logs_and_events_is_always_granted(scenario: str) -> None:
    rendered = render_scenario(scenario)
    kinds = {role["kind"] for role, _ in rendered.rbac_rules() if role["metadata"]["name"] == READ}
    assert len(kinds) == 1
    for role in rendered.of_kind(kinds.pop()):
        if role["metadata"]["name"] == READ:
            assert role["rules"] == READ_RULES


def test_default_install_reads_and_debugs_cluster_wide() -> None:
    rendered = render()
    assert rendered.one("ClusterRole", DEBUG)["rules"] == DEBUG_RULES
    assert _binding_places(rendered, "ClusterRole", READ) == [("ClusterRoleBinding", None)]
    assert _binding_places(rendered, "ClusterRole", DEBUG) == [("ClusterRoleBinding", None)]
    assert rendered.of_kind("Role") == []


def test_no_ephemeralcontainers_permission_when_every_debug_workflow_is_off() -> None:
    rendered = render_scenario("debug-off")
    assert rendered.granted("pods/ephemeralcontainers", "patch") == []
    assert rendered.granted("pods/exec", "create") == []
    assert rendered.find("ClusterRole", DEBUG) is None
    assert rendered.bindings_to("ClusterRole", DEBUG) == []
    assert all(not w.enabled for w in dict(rendered.host_config.workflows.pod_troubleshooting).values())


@pytest.mark.parametrize(
    "workflow",
    [
        "pythonProfiler",
        "podProcessList",
        "pythonMemoryAnalysis",
        "debuggerStackTrace",
        "pythonProcessInspector",
        "pythonDebugger",
    ],
)
def test_any_one_builtin_workflow_turns_the_debug_permissions_on(workflow: str) -> None:
    values = merged(ALL_DEBUG_OFF, {"workflows": {"podTroubleshooting": {workflow: {"enabled": True}}}})
    rendered = render(values)
    assert rendered.granted("pods/ephemeralcontainers", "patch") == [("ClusterRole", None, DEBUG)]
    assert rendered.granted("pods/exec", "create") == [("ClusterRole", None, DEBUG)]


def test_debug_permissions_follow_the_namespaces_debug_workflows_are_limited_to() -> None:
    rendered = render_scenario("existing-configmap")
    # The built-ins name shop (and team-a), the custom grant with a debug capability names team-a.
    assert _binding_places(rendered, "ClusterRole", DEBUG) == [
        ("RoleBinding", "shop"),
        ("RoleBinding", "team-a"),
    ]
    assert _binding_places(rendered, "ClusterRole", READ) == [("ClusterRoleBinding", None)]


def test_debug_namespaces_outside_the_watched_ones_get_no_binding() -> None:
    values = {
        "cluster": {"namespaces": ["shop", "payments"]},
        "workflows": {
            "podTroubleshooting": {
                name: {"namespaces": ["shop", "elsewhere"]}
                for name in ALL_DEBUG_OFF["workflows"]["podTroubleshooting"]
            }
        },
    }
    rendered = render(values)
    assert _binding_places(rendered, "ClusterRole", DEBUG) == [("RoleBinding", "shop")]


def test_custom_workflows_with_a_debug_capability_alone_turn_debug_permissions_on() -> None:
    grant = {
        "workflow": "team-b-*",
        "capabilities": ["k8s.read", "debug.processList"],
        "namespaces": ["team-b"],
    }
    values = merged(ALL_DEBUG_OFF, {"customWorkflows": {"typescript": {"enabled": True, "grants": [grant]}}})
    rendered = render(values)
    assert _binding_places(rendered, "ClusterRole", DEBUG) == [("RoleBinding", "team-b")]
    everywhere = merged(
        ALL_DEBUG_OFF,
        {
            "customWorkflows": {
                "typescript": {"enabled": True, "defaultCapabilities": ["debug.pythonProfile"]}
            }
        },
    )
    assert _binding_places(render(everywhere), "ClusterRole", DEBUG) == [("ClusterRoleBinding", None)]


def test_custom_workflows_without_debug_capabilities_add_no_debug_permission() -> None:
    grant = {"workflow": "report", "capabilities": ["k8s.read", "findings.report"]}
    values = merged(ALL_DEBUG_OFF, {"customWorkflows": {"typescript": {"enabled": True, "grants": [grant]}}})
    assert render(values).granted("pods/ephemeralcontainers", "patch") == []
    # A debug grant does nothing while custom workflows are off.
    debug_grant = {"workflow": "x", "capabilities": ["debug.pythonDebugger"]}
    disabled = merged(ALL_DEBUG_OFF, {"customWorkflows": {"typescript": {"grants": [debug_grant]}}})
    assert render(disabled).granted("pods/ephemeralcontainers", "patch") == []


def test_watching_some_namespaces_binds_the_roles_only_there() -> None:
    rendered = render({"cluster": {"namespaces": ["shop", "payments"]}})
    assert rendered.host_config.cluster.namespaces == ["shop", "payments"]
    assert _binding_places(rendered, "ClusterRole", READ) == [
        ("RoleBinding", "payments"),
        ("RoleBinding", "shop"),
    ]
    assert _binding_places(rendered, "ClusterRole", DEBUG) == [
        ("RoleBinding", "payments"),
        ("RoleBinding", "shop"),
    ]
    assert rendered.of_kind("ClusterRoleBinding") == []


def test_namespaced_install_uses_roles_only_and_watches_the_release_namespace() -> None:
    rendered = render_scenario("namespaced")
    assert rendered.of_kind("ClusterRole") == []
    assert rendered.of_kind("ClusterRoleBinding") == []
    assert rendered.one("Role", READ)["metadata"]["namespace"] == NAMESPACE
    assert rendered.one("Role", READ)["rules"] == READ_RULES
    assert rendered.one("Role", DEBUG)["rules"] == DEBUG_RULES
    assert _binding_places(rendered, "Role", READ) == [("RoleBinding", NAMESPACE)]
    assert _binding_places(rendered, "Role", DEBUG) == [("RoleBinding", NAMESPACE)]
    assert rendered.host_config.cluster.namespaces == [NAMESPACE]


def test_namespaced_install_over_listed_namespaces_puts_a_role_in_each() -> None:
    rendered = render({"rbac": {"namespaced": True}, "cluster": {"namespaces": ["a", "b"]}})
    assert sorted(
        r["metadata"]["namespace"] for r in rendered.of_kind("Role") if r["metadata"]["name"] == READ
    ) == [
        "a",
        "b",
    ]
    assert rendered.of_kind("ClusterRole") == []


def test_leader_election_role_and_lease_settings_with_two_replicas() -> None:
    rendered = render_scenario("multi-replica")
    config = rendered.host_config.leader_election
    assert config.enabled is True
    assert (config.lease_name, config.lease_namespace) == ("wfhost-leader", NAMESPACE)
    assert (config.lease_duration_seconds, config.renew_deadline_seconds, config.retry_period_seconds) == (
        20,
        15,
        3,
    )
    role = rendered.one("Role", LEADER)
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["wfhost-leader"],
            "verbs": ["get", "update"],
        },
    ]
    assert _binding_places(rendered, "Role", LEADER) == [("RoleBinding", NAMESPACE)]
    assert rendered.deployment["spec"]["replicas"] == 2


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "multi-replica"])
def test_no_lease_permission_without_leader_election(scenario: str) -> None:
    rendered = render_scenario(scenario)
    assert rendered.granted("leases", "create") == []
    assert rendered.granted("leases", "update") == []
    assert rendered.host_config.leader_election.enabled is False


def test_leader_election_can_be_asked_for_with_one_replica() -> None:
    rendered = render({"leaderElection": {"enabled": True}})
    assert rendered.host_config.leader_election.enabled is True
    assert rendered.host_config.leader_election.lease_name == fullname()
    assert rendered.one("Role", LEADER)["rules"][1]["resourceNames"] == [fullname()]
    assert rendered.of_kind("PodDisruptionBudget") == []


def test_more_than_one_replica_forces_leader_election_on() -> None:
    rendered = render({"replicaCount": 3, "leaderElection": {"enabled": False}})
    assert rendered.host_config.leader_election.enabled is True
    assert rendered.find("Role", LEADER) is not None


def test_rbac_create_false_renders_no_roles_or_bindings() -> None:
    values: dict[str, Any] = {"rbac": {"create": False}, "replicaCount": 2}
    rendered = render(values)
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        assert rendered.of_kind(kind) == []


def test_an_existing_service_account_is_used_and_not_created() -> None:
    rendered = render({"serviceAccount": {"create": False, "name": "ops-bot"}})
    assert rendered.of_kind("ServiceAccount") == []
    assert rendered.pod_spec["serviceAccountName"] == "ops-bot"
    assert rendered.one("ClusterRoleBinding", READ)["subjects"][0]["name"] == "ops-bot"
