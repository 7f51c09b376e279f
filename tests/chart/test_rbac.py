"""The chart's roles follow what is switched on, and never more."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from pydantic.alias_generators import to_snake

from host.capabilities.policy import declared_grant
from host.capabilities.routes import build_router
from host.config import DEFAULT_READS, BuiltinWorkflow, HostConfig, parse_config
from host.model.resources import WELL_KNOWN
from host.sandbox.prepare import SandboxEnv
from host.sources.demand import FEED_OF_KIND
from host.workflows.builtins import BUILTINS, DEBUG_BUILTINS, builtin_settings, config_key
from host.workflows.loaded import is_workflow_file
from host.workflows.loader import load_workflow
from tests.chart.support import (
    CHART_DIR,
    NAMESPACE,
    RELEASE,
    REPO,
    SCENARIOS,
    Rendered,
    chart,
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
# Every built-in off, the explainers too: the host reads pods, logs and events only.
EVERYTHING_OFF = scenario_values("minimal")
# The explainers off, the debug tools as by default.
EXPLAINERS_OFF = {
    "workflows": {group: names for group, names in EVERYTHING_OFF["workflows"].items() if group != "podTroubleshooting"}
}

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
    config = rendered.host_config
    custom = config.custom_workflows.typescript.enabled
    explainers = any(_explainer_config(config, name).enabled for name in EXPLAINERS)
    for role in rendered.of_kind(kinds.pop()):
        if role["metadata"]["name"] == READ:
            # The kinds explainers and custom workflows read come after, in rules of their own.
            assert role["rules"][: len(READ_RULES)] == READ_RULES
            assert (role["rules"] == READ_RULES) is not (custom or explainers)


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
        "goProfiler",
        "nodeProfiler",
        "javaProfiler",
        "networkCheck",
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
    # Only the explainers' Node reads are bound cluster-wide: Nodes have no namespace.
    assert [b["metadata"]["name"] for b in rendered.of_kind("ClusterRoleBinding")] == [CLUSTER_READ]
    without = render(merged(EXPLAINERS_OFF, {"cluster": {"namespaces": ["shop", "payments"]}}))
    assert without.of_kind("ClusterRoleBinding") == []


def test_namespaced_install_uses_roles_only_and_watches_the_release_namespace() -> None:
    rendered = render_scenario("namespaced")
    assert rendered.of_kind("ClusterRole") == []
    assert rendered.of_kind("ClusterRoleBinding") == []
    assert rendered.one("Role", READ)["metadata"]["namespace"] == NAMESPACE
    assert rendered.one("Role", READ)["rules"][: len(READ_RULES)] == READ_RULES
    assert rendered.granted("nodes", "get") == []  # the explainers' Node reads: cluster-scoped
    assert render(merged(scenario_values("namespaced"), EXPLAINERS_OFF)).one("Role", READ)["rules"] == READ_RULES
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


# --- Reads of other kinds: what enabled workflows read or trigger on, exactly. ---

CLUSTER_READ = fullname() + "-cluster-read"
# Custom workflows on, the explainers off: what the custom workflows' reads alone grant.
CUSTOM_ON = merged(EXPLAINERS_OFF, {"customWorkflows": {"typescript": {"enabled": True}}})
WATCH = ["get", "list", "watch"]


def _custom(**typescript: Any) -> dict[str, Any]:
    return merged(EXPLAINERS_OFF, {"customWorkflows": {"typescript": {"enabled": True, **typescript}}})


def _pod_process_list_triggers(triggers: list[dict[str, Any]]) -> dict[str, Any]:
    return merged(EXPLAINERS_OFF, {"workflows": {"podTroubleshooting": {"podProcessList": {"triggers": triggers}}}})


def _read_rules(rendered: Rendered, role_kind: str, name: str) -> dict[str, list[str]]:
    """{apiGroup: resources} of the get/list/watch rules past the pod, log and event rules."""
    role = rendered.find(role_kind, name)
    if role is None:
        return {}
    rules = role["rules"][len(READ_RULES) :] if name == READ else role["rules"]
    out: dict[str, list[str]] = {}
    for rule in rules:
        assert rule["verbs"] == WATCH, rule
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
        (group,) = rule["apiGroups"]
        assert group not in out, f"{name}: two rules for group {group!r}"
        assert rule["resources"] == sorted(set(rule["resources"])), rule
        out[group] = rule["resources"]
    assert list(out) == sorted(out), f"{name}: rules not sorted by group"
    return out


def test_default_reads_of_custom_workflows_are_granted_exactly() -> None:
    rendered = render(CUSTOM_ON)
    assert rendered.host_config.custom_workflows.typescript.default_reads == list(DEFAULT_READS)
    assert _read_rules(rendered, "ClusterRole", READ) == {
        "": [
            "endpoints",
            "limitranges",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "resourcequotas",
            "services",
        ],
        "apps": ["daemonsets", "deployments", "replicasets", "statefulsets"],
        "autoscaling": ["horizontalpodautoscalers"],
        "batch": ["cronjobs", "jobs"],
        "discovery.k8s.io": ["endpointslices"],
        "networking.k8s.io": ["ingresses", "networkpolicies"],
        "policy": ["poddisruptionbudgets"],
    }
    assert _read_rules(rendered, "ClusterRole", CLUSTER_READ) == {
        "": ["namespaces", "nodes", "persistentvolumes"],
        "storage.k8s.io": ["storageclasses"],
    }
    assert _binding_places(rendered, "ClusterRole", CLUSTER_READ) == [("ClusterRoleBinding", None)]
    assert rendered.one("ClusterRoleBinding", CLUSTER_READ)["subjects"][0]["name"] == fullname()
    assert rendered.granted("deployments", "list") == [("ClusterRole", None, READ)]
    assert rendered.granted("nodes", "watch") == [("ClusterRole", None, CLUSTER_READ)]
    assert rendered.granted("configmaps", "get") == []  # not in the defaults
    for role, rule in rendered.rbac_rules():
        assert "secrets" not in rule["resources"], role["metadata"]["name"]
        for key in ("verbs", "resources", "apiGroups"):
            assert not any("*" in item for item in rule[key]), rule


def test_without_explainers_and_custom_workflows_only_pods_logs_and_events_are_read() -> None:
    rendered = render(EXPLAINERS_OFF)
    assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
    assert rendered.find("ClusterRole", CLUSTER_READ) is None
    assert rendered.bindings_to("ClusterRole", CLUSTER_READ) == []
    for resource in ("deployments", "replicasets", "jobs", "cronjobs", "nodes", "namespaces"):
        assert rendered.granted(resource, "get") == [], resource
    # Reads a grant names count only while custom workflows are enabled.
    grant = {"workflow": "x", "reads": ["apps/v1/Deployment"], "triggers": [{"on": "node.notReady"}]}
    disabled = render(merged(EXPLAINERS_OFF, {"customWorkflows": {"typescript": {"grants": [grant]}}}))
    assert disabled.granted("deployments", "get") == []
    assert disabled.granted("nodes", "get") == []


def test_grant_reads_and_trigger_resources_are_added() -> None:
    grant = {
        "workflow": "ingress-*",
        "reads": ["networking.k8s.io/v1/Ingress"],
        "configMapData": ["shop/settings"],
        "triggers": [{"on": "k8s.update", "resource": "apps/v1/StatefulSet"}],
    }
    rendered = render(_custom(defaultReads=[], grants=[grant]))
    assert _read_rules(rendered, "ClusterRole", READ) == {
        "apps": ["statefulsets"],
        "networking.k8s.io": ["ingresses"],
    }
    assert rendered.find("ClusterRole", CLUSTER_READ) is None
    config = rendered.host_config.custom_workflows.typescript
    assert config.default_reads == []
    assert config.grants[0].reads == ["networking.k8s.io/v1/Ingress"]
    assert config.grants[0].config_map_data == ["shop/settings"]
    assert config.grants[0].triggers[0].resource == "apps/v1/StatefulSet"


def test_builtin_trigger_resources_and_semantic_triggers_are_watched() -> None:
    triggers = [
        {"on": "k8s.delete", "resource": "batch/v1/CronJob"},
        {"true": "job.failed"},  # `on:` unquoted, as YAML 1.1 reads it
        {"on": "node.pressure"},
        {"on": "deployment.rolloutStuck"},
    ]
    rendered = render(_pod_process_list_triggers(triggers))
    assert _read_rules(rendered, "ClusterRole", READ) == {
        "apps": ["deployments"],
        "batch": ["cronjobs", "jobs"],
    }
    assert _read_rules(rendered, "ClusterRole", CLUSTER_READ) == {"": ["nodes"]}
    bindings = rendered.host_config.workflows.pod_troubleshooting.pod_process_list.triggers
    assert [(b.on, b.resource) for b in bindings][:2] == [
        ("k8s.delete", "batch/v1/CronJob"),
        ("job.failed", None),
    ]
    # A disabled built-in's triggers grant nothing.
    off = merged(
        EVERYTHING_OFF, {"workflows": {"podTroubleshooting": {"podProcessList": {"triggers": triggers}}}}
    )
    assert render(off).granted("jobs", "watch") == []
    assert render(off).granted("nodes", "watch") == []


def test_kinds_are_deduplicated_across_versions_sources_and_the_pod_rules() -> None:
    grants = [
        {"workflow": "a", "reads": ["autoscaling/v1/HorizontalPodAutoscaler", "v1/Pod", "v1/Event"]},
        {
            "workflow": "b",
            "reads": ["autoscaling/v2/HorizontalPodAutoscaler", "v1/ConfigMap", "events.k8s.io/v1/Event"],
            "triggers": [
                {"on": "k8s.create", "resource": "v1/Pod"},
                {"on": "k8s.update", "resource": "v1/ConfigMap"},
            ],
        },
    ]
    rendered = render(_custom(defaultReads=["v1/Node"], grants=grants))
    assert _read_rules(rendered, "ClusterRole", READ) == {
        "": ["configmaps"],
        "autoscaling": ["horizontalpodautoscalers"],
        "events.k8s.io": ["events"],
    }
    assert rendered.granted("configmaps", "watch") == [("ClusterRole", None, READ)]
    assert len(rendered.granted("pods", "get")) == 1


def test_watching_some_namespaces_scopes_namespaced_kinds_but_not_cluster_ones() -> None:
    rendered = render(merged(CUSTOM_ON, {"cluster": {"namespaces": ["shop", "payments"]}}))
    assert _binding_places(rendered, "ClusterRole", READ) == [
        ("RoleBinding", "payments"),
        ("RoleBinding", "shop"),
    ]
    assert "apps" in _read_rules(rendered, "ClusterRole", READ)
    # Nodes and the like have no namespace: a RoleBinding could not grant them.
    assert _binding_places(rendered, "ClusterRole", CLUSTER_READ) == [("ClusterRoleBinding", None)]
    assert rendered.granted("nodes", "list") == [("ClusterRole", None, CLUSTER_READ)]


def test_namespaced_install_grants_namespaced_kinds_in_its_roles_and_no_cluster_scoped_ones() -> None:
    rendered = render(merged(CUSTOM_ON, {"rbac": {"namespaced": True}}))
    assert rendered.of_kind("ClusterRole") == []
    assert rendered.of_kind("ClusterRoleBinding") == []
    rules = _read_rules(rendered, "Role", READ)
    assert rules["batch"] == ["cronjobs", "jobs"]
    assert "nodes" not in rules[""]
    assert rendered.granted("nodes", "get") == []
    assert "Not granted (rbac.namespaced" in rendered.files["wfhost/templates/NOTES.txt"]


def test_a_crd_without_a_plural_fails_the_render_naming_the_kind_and_the_value() -> None:
    grant = {"workflow": "w", "reads": ["example.com/v1/Widget"]}
    with pytest.raises(helm.HelmRenderError) as caught:
        render(_custom(grants=[grant]))
    message = str(caught.value)
    assert "customWorkflows.typescript.grants[0].reads: example.com/v1/Widget" in message
    assert "rbac.extraKinds" in message
    trigger = {"on": "k8s.update", "resource": "example.com/v1beta1/Gadget"}
    with pytest.raises(
        helm.HelmRenderError, match=r"pythonProfiler\.triggers\[0\]\.resource: example.com/v1beta1/Gadget"
    ):
        render({"workflows": {"podTroubleshooting": {"pythonProfiler": {"triggers": [trigger]}}}})
    # Without rbac.create the operator binds the roles: no plural needed.
    assert render(merged(_custom(grants=[grant]), {"rbac": {"create": False}})).of_kind("ClusterRole") == []


def test_extra_kinds_give_crds_their_plural_and_scope() -> None:
    grant = {"workflow": "w", "reads": ["example.com/v1/Widget", "example.com/v1/ClusterWidget"]}
    extra = [
        {"kind": "example.com/v1/Widget", "plural": "widgets"},
        {"kind": "example.com/v1/ClusterWidget", "plural": "clusterwidgets", "namespaced": False},
        {"kind": "example.com/v1/Unused", "plural": "unused"},
    ]
    rendered = render(merged(_custom(defaultReads=[], grants=[grant]), {"rbac": {"extraKinds": extra}}))
    assert _read_rules(rendered, "ClusterRole", READ) == {"example.com": ["widgets"]}
    assert _read_rules(rendered, "ClusterRole", CLUSTER_READ) == {"example.com": ["clusterwidgets"]}
    assert rendered.granted("unused", "get") == []  # a mapping alone grants nothing


@pytest.mark.parametrize("key", sorted(k for k in WELL_KNOWN if k != "v1/Secret"))
def test_the_charts_kind_table_matches_the_hosts_well_known_kinds(key: str) -> None:
    resource = WELL_KNOWN[key]
    rendered = render(_custom(defaultReads=[key]))
    if key in ("v1/Pod", "v1/Event"):
        assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
        return
    role = READ if resource.namespaced else CLUSTER_READ
    assert _read_rules(rendered, "ClusterRole", role) == {resource.group: [resource.plural]}


def _nested_value(path: str, value: Any) -> dict[str, Any]:
    result: Any = value
    for part in reversed(path.split(".")):
        result = {part: result}
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("path", "value", "where", "message"),
    [
        pytest.param(
            "customWorkflows.typescript.defaultReads",
            ["v1/Secret"],
            "/customWorkflows/typescript/defaultReads/0",
            "'not' failed",
            id="secret-default",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "reads": ["v1/Secret"]}],
            "/customWorkflows/typescript/grants/0/reads/0",
            "'not' failed",
            id="secret-grant",
        ),
        pytest.param(
            "customWorkflows.typescript.defaultReads",
            ["apps/v1/*"],
            "/customWorkflows/typescript/defaultReads/0",
            "does not match pattern",
            id="glob",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "reads": ["v1/*"]}],
            "/customWorkflows/typescript/grants/0/reads/0",
            "does not match pattern",
            id="glob-grant",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "reads": ["Deployment"]}],
            "/customWorkflows/typescript/grants/0/reads/0",
            "does not match pattern",
            id="malformed-kind",
        ),
        pytest.param(
            "customWorkflows.typescript.defaultReads",
            ["apps/Deployment"],
            "/customWorkflows/typescript/defaultReads/0",
            "does not match pattern",
            id="kind-without-version",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "configMapData": ["settings"]}],
            "/customWorkflows/typescript/grants/0/configMapData/0",
            "does not match pattern",
            id="configmap-no-ns",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "configMapData": ["shop/*"]}],
            "/customWorkflows/typescript/grants/0/configMapData/0",
            "does not match pattern",
            id="configmap-glob",
        ),
        pytest.param(
            "workflows.podTroubleshooting.pythonProfiler.triggers",
            [{"on": "k8s.update", "resource": "apps/v1/*"}],
            "/workflows/podTroubleshooting/pythonProfiler/triggers/0/resource",
            "does not match pattern",
            id="trigger-glob",
        ),
        pytest.param(
            "customWorkflows.typescript.grants",
            [{"workflow": "x", "triggers": [{"on": "k8s.update", "resource": "v1/Secret"}]}],
            "/customWorkflows/typescript/grants/0/triggers/0/resource",
            "'not' failed",
            id="trigger-secret",
        ),
        pytest.param(
            "rbac.extraKinds",
            [{"kind": "v1/Secret", "plural": "secrets"}],
            "/rbac/extraKinds/0/kind",
            "'not' failed",
            id="extra-secret",
        ),
        pytest.param(
            "rbac.extraKinds",
            [{"kind": "example.com/v1/Widget", "plural": "*"}],
            "/rbac/extraKinds/0/plural",
            "does not match pattern",
            id="extra-wildcard-plural",
        ),
        pytest.param(
            "rbac.extraKinds",
            [{"kind": "example.com/v1/Widget"}],
            "/rbac/extraKinds/0",
            "plural",
            id="extra-without-plural",
        ),
    ],
)
def test_schema_rejects_bad_reads_naming_the_key(path: str, value: Any, where: str, message: str) -> None:
    values = _nested_value(path, value)
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(values)
    text = str(caught.value)
    assert f"at '{where}'" in text, text
    assert message in text, text
    with pytest.raises(helm.HelmValuesError):
        render(values)


@pytest.mark.parametrize(("on", "feed"), sorted(FEED_OF_KIND.items()))
def test_every_semantic_trigger_grants_the_kind_the_host_watches_for_it(on: str, feed: str) -> None:
    rendered = render(_pod_process_list_triggers([{"on": on}]))
    resource = WELL_KNOWN[feed]
    if feed in ("v1/Pod", "v1/Event"):
        assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
        assert rendered.find("ClusterRole", CLUSTER_READ) is None
        return
    role = READ if resource.namespaced else CLUSTER_READ
    assert _read_rules(rendered, "ClusterRole", role) == {resource.group: [resource.plural]}


# --- The explainers: each enabled one reads exactly what its manifest declares, never debugs. ---

EXPLAINERS = [name for name in BUILTINS if name not in DEBUG_BUILTINS]
BUILTIN_DIR = REPO / "builtin_workflows"
PROBE = "templates/zz-explainer-kinds-probe.yaml"


def _explainer_path(name: str) -> tuple[str, str]:
    """("podEnrichment", "restartLoopReporter") for "restart-loop-reporter"."""
    key = config_key(name)
    assert key is not None
    _, group, explainer = key.split(".")
    return group, explainer


def _explainer_config(config: HostConfig, name: str) -> BuiltinWorkflow:
    settings = builtin_settings(config, name)
    assert settings is not None
    group, explainer = _explainer_path(name)
    section = getattr(config.workflows, to_snake(group))
    value = getattr(section, to_snake(explainer))
    assert isinstance(value, BuiltinWorkflow)
    assert value.enabled is settings.enabled
    return value


def _only(name: str, **settings: Any) -> dict[str, Any]:
    """Everything off but the explainer `name` (with `settings`)."""
    group, explainer = _explainer_path(name)
    return merged(EVERYTHING_OFF, {"workflows": {group: {explainer: {"enabled": True, **settings}}}})


@pytest.fixture(scope="module")
def chart_table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The chart's table of explainer reads as its templates evaluate it (wfhost.explainerKinds,
    WORKLOAD_KINDS spelled out), keyed by values key: {"podEnrichment.restartLoopReporter": [...]}."""
    copy = tmp_path_factory.mktemp("chart") / "wfhost"
    shutil.copytree(CHART_DIR, copy)
    (copy / PROBE).write_text('{{ include "wfhost.explainerKinds" . }}\n', encoding="utf-8")
    probe = helm.Chart.load(copy)
    try:
        files = probe.render({}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    finally:
        probe.close()
    table = json.loads(files[f"wfhost/{PROBE}"])
    return {f"{group}.{name}": kinds for group, names in table.items() for name, kinds in names.items()}


def _expected_rules(kinds: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The get/list/watch rules (namespaced, cluster-scoped) reading `kinds` gives, past the pod,
    log and event rules every workflow gets: {apiGroup: sorted plurals}."""
    namespaced: dict[str, set[str]] = {}
    cluster: dict[str, set[str]] = {}
    for kind in kinds:
        resource = WELL_KNOWN[kind]
        if resource.group == "" and resource.plural in ("pods", "events"):
            continue
        (namespaced if resource.namespaced else cluster).setdefault(resource.group, set()).add(resource.plural)
    return (
        {group: sorted(plurals) for group, plurals in sorted(namespaced.items())},
        {group: sorted(plurals) for group, plurals in sorted(cluster.items())},
    )


def _assert_reads_exactly(rendered: Rendered, kinds: list[str]) -> None:
    namespaced, cluster = _expected_rules(kinds)
    assert _read_rules(rendered, "ClusterRole", READ) == namespaced
    assert _read_rules(rendered, "ClusterRole", CLUSTER_READ) == cluster
    assert rendered.one("ClusterRole", READ)["rules"][: len(READ_RULES)] == READ_RULES


def _assert_no_debug(rendered: Rendered) -> None:
    assert rendered.find("ClusterRole", DEBUG) is None
    assert rendered.find("Role", DEBUG) is None
    for resource, verb in (("pods/ephemeralcontainers", "patch"), ("pods/exec", "create"), ("pods/exec", "get")):
        assert rendered.granted(resource, verb) == [], (resource, verb)


def test_the_table_names_every_explainer_of_the_host_config_and_nothing_else(
    chart_table: dict[str, list[str]],
) -> None:
    keys = sorted(".".join(_explainer_path(name)) for name in EXPLAINERS)
    assert sorted(chart_table) == keys
    for key, kinds in chart_table.items():
        assert kinds, key
        assert len(kinds) == len(set(kinds)), key
        for kind in kinds:
            assert kind in WELL_KNOWN, f"{key}: {kind}"
            assert kind != "v1/Secret"


def test_the_table_holds_the_reads_each_explainer_was_specified_with(chart_table: dict[str, list[str]]) -> None:
    workloads = [
        "apps/v1/ReplicaSet", "apps/v1/Deployment", "apps/v1/StatefulSet", "apps/v1/DaemonSet",
        "batch/v1/Job", "batch/v1/CronJob",
    ]
    assert chart_table == {
        "podEnrichment.restartLoopReporter": workloads,
        "podEnrichment.imagePullBackoffEnricher": workloads,
        "podEnrichment.podInvestigatorEnricher": [*workloads, "v1/Node", "v1/PersistentVolumeClaim", "v1/ConfigMap"],
        "podEnrichment.podEvictedEnrichments": [*workloads, "v1/Node"],
        "podEnrichment.podCreationEnricher": [*workloads, "v1/ResourceQuota"],
        "oomKiller.podOomKillerEnricher": [*workloads, "v1/Node"],
        "jobs.jobFailureReporter": ["batch/v1/Job", "batch/v1/CronJob"],
        "nodes.nodeStatusEnricher": ["v1/Node"],
        "alertEnrichment.defaultEnricher": [*workloads, "v1/Node"],
    }


@pytest.mark.parametrize("name", EXPLAINERS)
def test_one_explainer_alone_grants_exactly_the_kinds_it_reads_and_no_debug_verb(
    name: str, chart_table: dict[str, list[str]]
) -> None:
    rendered = render(_only(name))
    config = rendered.host_config
    assert [n for n in EXPLAINERS if _explainer_config(config, n).enabled] == [name]
    assert not any(w.enabled for w in dict(config.workflows.pod_troubleshooting).values())
    _assert_reads_exactly(rendered, chart_table[".".join(_explainer_path(name))])
    _assert_no_debug(rendered)


@pytest.mark.parametrize("name", EXPLAINERS)
def test_turning_one_explainer_off_removes_exactly_what_only_it_reads(
    name: str, chart_table: dict[str, list[str]]
) -> None:
    group, explainer = _explainer_path(name)
    rendered = render(merged(ALL_DEBUG_OFF, {"workflows": {group: {explainer: {"enabled": False}}}}))
    others = [kind for key, kinds in chart_table.items() if key != f"{group}.{explainer}" for kind in kinds]
    _assert_reads_exactly(rendered, others)
    _assert_no_debug(rendered)


def test_by_default_every_explainer_reads_and_the_debug_tools_alone_bring_the_debug_verbs(
    chart_table: dict[str, list[str]],
) -> None:
    everything = [kind for kinds in chart_table.values() for kind in kinds]
    _assert_reads_exactly(render(), everything)
    assert render().one("ClusterRole", DEBUG)["rules"] == DEBUG_RULES
    explainers_only = render_scenario("debug-off")
    assert all(_explainer_config(explainers_only.host_config, n).enabled for n in EXPLAINERS)
    _assert_reads_exactly(explainers_only, everything)
    _assert_no_debug(explainers_only)
    # The reads the semantic events of the explainers need come with them: Jobs for job.failed,
    # Nodes for node.*, Deployments for deployment.rolloutStuck.
    for feed in set(FEED_OF_KIND.values()) - {"v1/Pod", "v1/Event"}:
        assert feed in everything, feed


def test_with_every_builtin_off_only_pods_logs_and_events_are_read() -> None:
    rendered = render_scenario("minimal")
    assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
    assert rendered.find("ClusterRole", CLUSTER_READ) is None
    _assert_no_debug(rendered)
    config = rendered.host_config
    assert not any(_explainer_config(config, n).enabled for n in EXPLAINERS)
    assert not any(w.enabled for w in dict(config.workflows.pod_troubleshooting).values())
    for role, rule in rendered.rbac_rules():
        assert "secrets" not in rule["resources"], role["metadata"]["name"]
        for key in ("verbs", "resources", "apiGroups"):
            assert not any("*" in item for item in rule[key]), rule


def test_an_explainers_extra_triggers_are_watched_and_reach_the_host_config() -> None:
    triggers = [
        {"true": "deployment.rolloutStuck"},  # `on:` unquoted, as YAML 1.1 reads it
        {"on": "k8s.update", "resource": "v1/Service", "namespaces": ["shop"]},
    ]
    rendered = render(_only("node-status-enricher", triggers=triggers, namespaces=["shop"]))
    assert _read_rules(rendered, "ClusterRole", READ) == {"": ["services"], "apps": ["deployments"]}
    assert _read_rules(rendered, "ClusterRole", CLUSTER_READ) == {"": ["nodes"]}
    _assert_no_debug(rendered)
    node_status = rendered.host_config.workflows.nodes.node_status_enricher
    assert [(b.on, b.resource, b.namespaces) for b in node_status.triggers] == [
        ("deployment.rolloutStuck", None, []),
        ("k8s.update", "v1/Service", ["shop"]),
    ]
    assert node_status.namespaces == ["shop"]
    # A disabled explainer's triggers grant nothing.
    off = merged(EVERYTHING_OFF, {"workflows": {"nodes": {"nodeStatusEnricher": {"triggers": triggers}}}})
    assert render(off).one("ClusterRole", READ)["rules"] == READ_RULES
    # A trigger naming a kind the chart cannot map fails naming the explainer's value.
    bad = [{"on": "k8s.update", "resource": "example.com/v1/Widget"}]
    with pytest.raises(helm.HelmRenderError, match=r"workflows\.jobs\.jobFailureReporter\.triggers\[0\]\.resource"):
        render(_only("job-failure-reporter", triggers=bad))


def test_explainer_settings_reach_the_host_config() -> None:
    values = merged(
        {"workflows": {"podEnrichment": {"restartLoopReporter": {"tailLines": 200}}}},
        {"workflows": {"oomKiller": {"podOomKillerEnricher": {"attachLogs": False, "containerMemoryGraph": True}}}},
        {"workflows": {"jobs": {"jobFailureReporter": {"tailLines": 1}}}},
        {"workflows": {"alertEnrichment": {"defaultEnricher": {"alertAnnotationsEnrichment": False}}}},
        {"limits": {"findingDedupeSeconds": 0}},
    )
    config = render(values).host_config
    assert config.workflows.pod_enrichment.restart_loop_reporter.tail_lines == 200
    assert config.workflows.oom_killer.pod_oom_killer_enricher.attach_logs is False
    assert config.workflows.oom_killer.pod_oom_killer_enricher.container_memory_graph is True
    assert config.workflows.jobs.job_failure_reporter.tail_lines == 1
    assert config.workflows.alert_enrichment.default_enricher.alert_annotations_enrichment is False
    assert config.limits.finding_dedupe_seconds == 0
    defaults = render().host_config
    assert defaults.workflows == HostConfig().workflows.model_copy(
        update={"builtin_directory": defaults.workflows.builtin_directory}
    )
    assert defaults.limits.finding_dedupe_seconds == 900


# --- The table against the built-ins' own manifests. ---


def _builtin_files() -> dict[str, Path]:
    """Every built-in workflow file in the repository, by stem."""
    files: dict[str, Path] = {}
    for path in sorted(BUILTIN_DIR.glob("*/*")):
        if is_workflow_file(path):
            assert path.stem not in files, f"{path} and {files[path.stem]} share a name"
            files[path.stem] = path
    return files


@functools.cache
def _declared_reads(path: Path) -> list[str]:
    """What the built-in at `path` declares as its reads, from its manifest as the host loads it."""

    async def load() -> list[str]:
        with tempfile.TemporaryDirectory() as state:
            config = parse_config({"sandbox": {"stateDir": state}})
            env = SandboxEnv.from_config(config)
            wf = await load_workflow(
                path, origin="file", env=env, router=build_router(),
                grant_for=lambda m: declared_grant(m, source="tests/chart/test_rbac.py"),
            )
            try:
                return list(wf.manifest.reads)
            finally:
                await wf.pool.close(drain=False)

    return asyncio.run(load())


@pytest.mark.parametrize("name", EXPLAINERS)
def test_the_charts_reads_of_each_explainer_are_what_its_manifest_declares(
    name: str, chart_table: dict[str, list[str]]
) -> None:
    key = ".".join(_explainer_path(name))
    path = _builtin_files().get(name)
    if path is None:
        pytest.fail(
            f"workflows.{key}: the chart grants it {chart_table[key]}, but there is no built-in "
            f"{name}.ts under {BUILTIN_DIR.relative_to(REPO)}/ to declare them"
        )
    declared = _declared_reads(path)
    assert sorted(declared) == sorted(chart_table[key]), (
        f"{path.relative_to(REPO)} declares reads {declared}; charts/wfhost/templates/_rbac.tpl "
        f"(wfhost.explainerReads) grants workflows.{key} {chart_table[key]}"
    )


def test_every_builtin_file_is_a_known_builtin_and_the_debug_tools_read_nothing_more() -> None:
    files = _builtin_files()
    assert set(DEBUG_BUILTINS) <= set(files)
    for stem, path in files.items():
        assert stem in BUILTINS, f"{path.relative_to(REPO)} has no settings entry in host/workflows/builtins.py"
        if stem in DEBUG_BUILTINS:
            # The chart grants the debug tools pods, logs and events only.
            assert set(_declared_reads(path)) <= {"v1/Pod", "v1/Event"}, path
