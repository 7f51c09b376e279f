"""The chart's API auth: the RBAC for TokenReviews and SubjectAccessReviews exists only while
api.auth.kubernetes.enabled is on, grants nothing else, and the host is told the same settings."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import SCENARIOS, chart, fullname, merged, render, render_scenario, scenario_values

AUTH_ROLE = fullname() + "-api-auth"
REVIEW_RULES = [
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
]
ON = {"api": {"auth": {"kubernetes": {"enabled": True}}}}


def _reviews_granted(values: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    rendered = render(values)
    return [*rendered.granted("tokenreviews", "create"), *rendered.granted("subjectaccessreviews", "create")]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_review_permission_while_kubernetes_identities_are_off(scenario: str) -> None:
    rendered = render_scenario(scenario)
    assert rendered.granted("tokenreviews", "create") == []
    assert rendered.granted("subjectaccessreviews", "create") == []
    assert rendered.find("ClusterRole", AUTH_ROLE) is None
    assert rendered.host_config.api.auth.kubernetes.enabled is False


def test_turning_it_on_grants_exactly_the_two_reviews_to_the_hosts_service_account() -> None:
    rendered = render(ON)
    role = rendered.one("ClusterRole", AUTH_ROLE)
    assert role["rules"] == REVIEW_RULES
    (binding,) = rendered.bindings_to("ClusterRole", AUTH_ROLE)
    assert binding["kind"] == "ClusterRoleBinding"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": fullname(), "namespace": "observability"}]
    assert _reviews_granted(ON) == [("ClusterRole", None, AUTH_ROLE)] * 2  # nothing else grants them
    auth = rendered.host_config.api.auth.kubernetes
    assert (auth.enabled, auth.cache_seconds, auth.audiences) == (True, 10, [])


def test_the_cache_window_and_audiences_reach_the_host() -> None:
    values = {"api": {"auth": {"kubernetes": {"enabled": True, "cacheSeconds": 0, "audiences": ["wfhost"]}}}}
    auth = render(values).host_config.api.auth.kubernetes
    assert (auth.cache_seconds, auth.audiences) == (0, ["wfhost"])


def test_a_namespaced_install_still_gets_the_cluster_scoped_review_role() -> None:
    # The reviews are cluster-scoped: a Role cannot grant them.
    rendered = render(merged(scenario_values("namespaced"), ON))
    assert rendered.one("ClusterRole", AUTH_ROLE)["rules"] == REVIEW_RULES
    assert {o["kind"] for o in rendered.objects if o["kind"].startswith("Cluster")} == {"ClusterRole", "ClusterRoleBinding"}
    assert [o["metadata"]["name"] for o in rendered.of_kind("ClusterRole")] == [AUTH_ROLE]


def test_rbac_create_false_renders_no_review_role_but_the_host_still_checks() -> None:
    rendered = render(merged(ON, {"rbac": {"create": False}}))
    assert rendered.find("ClusterRole", AUTH_ROLE) is None
    assert rendered.host_config.api.auth.kubernetes.enabled is True


@pytest.mark.parametrize(
    ("kubernetes", "where", "message"),
    [
        ({"enabled": "yes"}, "/api/auth/kubernetes/enabled", "got string, want boolean"),
        ({"cacheSeconds": 301}, "/api/auth/kubernetes/cacheSeconds", "maximum"),
        ({"cacheSeconds": -1}, "/api/auth/kubernetes/cacheSeconds", "minimum"),
        ({"audiences": [""]}, "/api/auth/kubernetes/audiences/0", "minLength"),
        ({"cacheSecond": 5}, "/api/auth/kubernetes", "additional properties 'cacheSecond' not allowed"),
    ],
    ids=["enabled-string", "cache-too-long", "cache-negative", "empty-audience", "typo"],
)
def test_the_schema_rejects_bad_auth_values_naming_the_key(kubernetes: dict[str, Any], where: str, message: str) -> None:
    values = {"api": {"auth": {"kubernetes": kubernetes}}}
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(values)
    text = str(caught.value)
    assert f"at '{where}'" in text, text
    assert message in text, text


def test_the_notes_say_how_to_get_in_either_way() -> None:
    off = render({}).files["wfhost/templates/NOTES.txt"]
    assert 'wfhost trigger WORKFLOW --pod NAMESPACE/POD --url http://localhost:8080 --token "$TOKEN"' in off
    assert "The findings page (http://localhost:8080/) asks for a token: paste $TOKEN." in off
    assert "Kubernetes identities are on" not in off
    on = render(ON).files["wfhost/templates/NOTES.txt"]
    assert "Kubernetes identities are on (api.auth.kubernetes.enabled): without --token" in on
    assert "patch pods/ephemeralcontainers and create pods/exec to run a debug workflow" in on
