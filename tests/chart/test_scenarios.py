"""Whole-chart checks, run for the default values and every ci/*-values.yaml scenario."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.chart.support import (
    CHART_DIR,
    CLUSTER_SCOPED_KINDS,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    SCENARIOS,
    fullname,
    render,
    render_scenario,
    scenario_values,
)

STANDARD_LABELS = {
    "app.kubernetes.io/name": "wfhost",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/part-of": "wfhost",
}

# Kinds without a schema in kubernetes-validate (CRDs): checked by hand below.
CRD_KINDS = {"ServiceMonitor"}


def test_scenarios_cover_every_ci_values_file() -> None:
    assert SCENARIOS == [
        "default",
        "debug-off",
        "existing-configmap",
        "inline-workflows",
        "minimal",
        "multi-replica",
        "namespaced",
    ]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lints_without_errors_or_warnings(scenario: str) -> None:
    report = helm.lint(CHART_DIR, scenario_values(scenario), strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_manifest_validates_against_kubernetes_schemas(scenario: str) -> None:
    rendered = render_scenario(scenario)
    checked = 0
    for obj in rendered.objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_host_loads_the_rendered_config(scenario: str) -> None:
    config = render_scenario(scenario).host_config
    assert config.api.token_file is not None
    assert config.leader_election.lease_namespace == NAMESPACE
    assert str(config.workflows.builtin_directory) == "/opt/wfhost/share/wfhost/builtin_workflows"
    assert str(config.sandbox.sdk_path) == "/opt/wfhost/share/wfhost/sdk-ts"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_object_carries_the_standard_labels(scenario: str) -> None:
    for obj in render_scenario(scenario).objects:
        labels = obj["metadata"]["labels"]
        assert labels.items() >= STANDARD_LABELS.items(), obj["metadata"]["name"]
        assert labels["helm.sh/chart"] == "wfhost-0.1.0"
        assert labels["app.kubernetes.io/version"] == "0.1.0"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_namespaced_objects_name_their_namespace(scenario: str) -> None:
    for obj in render_scenario(scenario).objects:
        if obj["kind"] in CLUSTER_SCOPED_KINDS:
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"].get("namespace"), f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_host_container_is_locked_down(scenario: str) -> None:
    rendered = render_scenario(scenario)
    pod = rendered.pod_spec
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = rendered.container["securityContext"]
    assert context == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod.get("hostNetwork") is not True
    assert pod.get("hostPID") is not True
    assert rendered.container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probes_hit_healthz_and_readyz_on_the_api_port(scenario: str) -> None:
    rendered = render_scenario(scenario)
    container = rendered.container
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": rendered.host_config.api.port}
    for probe, path in [
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ]:
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
    service = rendered.one("Service")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == rendered.deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_host_runs_with_the_mounted_config_file(scenario: str) -> None:
    rendered = render_scenario(scenario)
    args = rendered.container["args"]
    assert args[:2] == ["run", "--config"]
    config_path = PurePosixPath(args[2])
    mount = rendered.mount("config")
    assert mount is not None
    assert mount["readOnly"] is True
    assert config_path.parent == PurePosixPath(mount["mountPath"])
    volume = rendered.volume("config")
    assert volume == {"name": "config", "configMap": {"name": fullname()}}
    assert config_path.name in rendered.one("ConfigMap", fullname())["data"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_state_dir_and_tmp_are_the_only_writable_mounts(scenario: str) -> None:
    rendered = render_scenario(scenario)
    config = rendered.host_config
    writable = {m["mountPath"] for m in rendered.container["volumeMounts"] if not m.get("readOnly")}
    expected = {str(config.sandbox.state_dir), "/tmp"}
    if config.sinks.files.enabled:
        expected.add(str(config.sinks.files.directory))
    assert writable == expected
    state = rendered.volume("state")
    assert state is not None
    assert "emptyDir" in state


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_token_file_is_the_mounted_secret_key(scenario: str) -> None:
    rendered = render_scenario(scenario)
    token_file = PurePosixPath(str(rendered.host_config.api.token_file))
    mount = rendered.mount("api-token")
    volume = rendered.volume("api-token")
    assert mount is not None
    assert volume is not None
    assert mount["readOnly"] is True
    assert token_file.parent == PurePosixPath(mount["mountPath"])
    assert volume["secret"]["items"] == [{"key": token_file.name, "path": token_file.name}]
    secret_name = volume["secret"]["secretName"]
    own_secret = rendered.find("Secret", secret_name)
    if own_secret is not None:
        assert token_file.name in own_secret["data"]
    else:
        assert secret_name == scenario_values(scenario)["api"]["token"]["existingSecret"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pod_runs_as_the_service_account_the_roles_are_bound_to(scenario: str) -> None:
    rendered = render_scenario(scenario)
    account = rendered.pod_spec["serviceAccountName"]
    assert rendered.one("ServiceAccount")["metadata"]["name"] == account
    bindings = [*rendered.of_kind("ClusterRoleBinding"), *rendered.of_kind("RoleBinding")]
    assert bindings
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]


def test_service_monitor_scrapes_metrics_on_the_api_port() -> None:
    rendered = render_scenario("multi-replica")
    monitor = rendered.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert (
        monitor["spec"]["selector"]["matchLabels"] == rendered.deployment["spec"]["selector"]["matchLabels"]
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    ]
    assert render().of_kind("ServiceMonitor") == []


def test_network_policy_admits_only_the_api_port_and_restricts_egress_when_asked() -> None:
    policy = render_scenario("multi-replica").one("NetworkPolicy")
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {
            "ports": [{"port": "http", "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        }
    ]
    api_rule = spec["egress"][1]
    assert api_rule["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert {p["port"] for p in api_rule["ports"]} == {443, 6443}
    assert spec["egress"][2]["ports"] == [{"port": 443, "protocol": "TCP"}]
    assert render().of_kind("NetworkPolicy") == []
    open_egress = render({"networkPolicy": {"enabled": True}}).one("NetworkPolicy")["spec"]
    assert open_egress["policyTypes"] == ["Ingress"]
    assert "egress" not in open_egress


def test_image_digest_pins_the_host_image_and_debug_tag_reaches_the_config() -> None:
    rendered = render_scenario("namespaced")
    assert rendered.container["image"] == (
        "ghcr.io/wfhost/wfhost@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    assert rendered.host_config.debug.image == "ghcr.io/wfhost/debug:0.1.0-py3.12"
    default = render()
    assert default.container["image"] == "ghcr.io/wfhost/wfhost:0.1.0"
    assert default.host_config.debug.image == "ghcr.io/wfhost/debug:0.1.0"


def test_null_security_ids_leave_user_choice_to_the_platform() -> None:
    context = render_scenario("namespaced").pod_spec["securityContext"]
    assert context == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert render().pod_spec["securityContext"]["runAsUser"] == 10001


def test_long_release_names_keep_names_within_63_characters_and_their_suffixes() -> None:
    release = "a-very-long-release-name-that-fills-the-helm-limit-x"
    assert len(release) <= 53
    rendered = render(
        {"replicaCount": 2, "customWorkflows": {"typescript": {"enabled": True, "files": {"a.ts": "x"}}}},
        release=release,
    )
    names = [obj["metadata"]["name"] for obj in rendered.objects]
    assert all(len(name) <= 63 and not name.endswith("-") for name in names), names
    for suffix in ["-read", "-debug", "-leader-election", "-api-token", "-workflows"]:
        assert any(name.endswith(suffix) for name in names), suffix
    assert len(set(names)) == len(rendered.objects) - _same_name_pairs(rendered.objects)
    for obj in rendered.objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def _same_name_pairs(objects: list[dict[str, Any]]) -> int:
    """Objects of different kinds may share a name (a Role and its RoleBinding)."""
    seen: dict[str, set[str]] = {}
    for obj in objects:
        seen.setdefault(obj["metadata"]["name"], set()).add(obj["kind"])
    return sum(len(kinds) - 1 for kinds in seen.values())


def test_pdb_only_with_more_than_one_replica() -> None:
    assert render().of_kind("PodDisruptionBudget") == []
    pdb = render_scenario("multi-replica").one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    percent = render({"replicaCount": 3, "podDisruptionBudget": {"maxUnavailable": "50%"}})
    assert percent.one("PodDisruptionBudget")["spec"]["maxUnavailable"] == "50%"
    assert "minAvailable" not in percent.one("PodDisruptionBudget")["spec"]
    assert (
        render({"replicaCount": 2, "podDisruptionBudget": {"enabled": False}}).of_kind("PodDisruptionBudget")
        == []
    )


def test_without_leader_election_an_upgrade_never_runs_two_hosts() -> None:
    assert render().deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert render_scenario("multi-replica").deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_config_change_restarts_pods_but_a_workflow_file_change_does_not() -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = render(values).deployment["spec"]["template"]["metadata"]["annotations"]
        value: str = annotations["checksum/config"]
        return value

    base = {"customWorkflows": {"typescript": {"enabled": True, "files": {"a.ts": "one"}}}}
    edited_file = {"customWorkflows": {"typescript": {"enabled": True, "files": {"a.ts": "two"}}}}
    edited_config = {**base, "sandbox": {"maxHeapMb": 256}}
    assert checksum(base) == checksum(edited_file)
    assert checksum(base) != checksum(edited_config)


def test_the_chart_generates_a_token_when_none_is_given_and_uses_a_given_one() -> None:
    generated = render().one("Secret")["data"]["token"]
    assert len(generated) > 40  # base64 of 32 characters
    given = render({"api": {"token": {"value": "s3cret-token"}}}).one("Secret")["data"]["token"]
    assert given == "czNjcmV0LXRva2Vu"


def test_install_notes_say_what_is_watched_and_whether_debug_actions_are_on() -> None:
    notes = render_scenario("debug-off").files["wfhost/templates/NOTES.txt"]
    assert "Watching: every namespace." in notes
    assert "Debug actions (ephemeral containers): off" in notes
    assert "Explainers (read only, no debug permission): defaultEnricher, jobFailureReporter, " in notes
    assert "deployments.apps" in notes and "nodes" in notes
    minimal = render_scenario("minimal").files["wfhost/templates/NOTES.txt"]
    assert "Explainers (read only, no debug permission): none enabled." in minimal
    assert "Reads beyond pods, pod logs and events: none." in minimal
    scoped = render_scenario("existing-configmap").files["wfhost/templates/NOTES.txt"]
    assert "Debug actions (ephemeral containers): on in shop, team-a." in scoped
    assert "ConfigMap team-workflows, mounted at /srv/workflows" in scoped
    leader = render_scenario("multi-replica").files["wfhost/templates/NOTES.txt"]
    assert f"Lease {NAMESPACE}/wfhost-leader (2 replicas, one active)" in leader
