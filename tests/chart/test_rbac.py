"""The chart's roles follow what is switched on, and never more."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from host.config import DEFAULT_READS
from host.kube.resources import WELL_KNOWN
from host.sources.demand import FEED_OF_KIND
from tests.chart.support import (
    NAMESPACE,
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
    custom = rendered.host_config.custom_workflows.typescript.enabled
    for role in rendered.of_kind(kinds.pop()):
        if role["metadata"]["name"] == READ:
            # The kinds custom workflows read come after, in rules of their own.
            assert role["rules"][: len(READ_RULES)] == READ_RULES
            assert (role["rules"] == READ_RULES) is not custom


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


# --- Reads of other kinds: what enabled workflows read or trigger on, exactly. ---

CLUSTER_READ = fullname() + "-cluster-read"
CUSTOM_ON = {"customWorkflows": {"typescript": {"enabled": True}}}
WATCH = ["get", "list", "watch"]


def _custom(**typescript: Any) -> dict[str, Any]:
    return {"customWorkflows": {"typescript": {"enabled": True, **typescript}}}


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


def test_without_custom_workflows_only_pods_logs_and_events_are_read() -> None:
    rendered = render()
    assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
    assert rendered.find("ClusterRole", CLUSTER_READ) is None
    assert rendered.bindings_to("ClusterRole", CLUSTER_READ) == []
    for resource in ("deployments", "replicasets", "jobs", "cronjobs", "nodes", "namespaces"):
        assert rendered.granted(resource, "get") == [], resource
    # Reads a grant names count only while custom workflows are enabled.
    grant = {"workflow": "x", "reads": ["apps/v1/Deployment"], "triggers": [{"on": "node.notReady"}]}
    disabled = render({"customWorkflows": {"typescript": {"grants": [grant]}}})
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
    rendered = render({"workflows": {"podTroubleshooting": {"podProcessList": {"triggers": triggers}}}})
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
        ALL_DEBUG_OFF, {"workflows": {"podTroubleshooting": {"podProcessList": {"triggers": triggers}}}}
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
    rendered = render({"workflows": {"podTroubleshooting": {"podProcessList": {"triggers": [{"on": on}]}}}})
    resource = WELL_KNOWN[feed]
    if feed in ("v1/Pod", "v1/Event"):
        assert rendered.one("ClusterRole", READ)["rules"] == READ_RULES
        assert rendered.find("ClusterRole", CLUSTER_READ) is None
        return
    role = READ if resource.namespaced else CLUSTER_READ
    assert _read_rules(rendered, "ClusterRole", role) == {resource.group: [resource.plural]}
