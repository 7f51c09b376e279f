"""Custom TypeScript workflows: mounted from an existing ConfigMap or from inline files."""

from __future__ import annotations

import helm_python as helm
import pytest
import yaml

from host.config import HostConfig
from tests.chart.support import fullname, render, render_scenario

WORKFLOWS_CONFIGMAP = fullname() + "-workflows"


def test_configmap_created_for_inline_workflows() -> None:
    rendered = render_scenario("inline-workflows")
    config_map = rendered.one("ConfigMap", WORKFLOWS_CONFIGMAP)
    assert config_map["metadata"]["labels"]["app.kubernetes.io/component"] == "workflows"
    assert set(config_map["data"]) == {"crashloop-report.ts", "oom-report.ts", "lib__summary.ts"}
    assert 'import { summary } from "./lib/summary.ts";' in config_map["data"]["oom-report.ts"]
    volume = rendered.volume("workflows")
    assert volume is not None
    assert volume["configMap"]["name"] == WORKFLOWS_CONFIGMAP
    assert volume["configMap"]["items"] == [
        {"key": "crashloop-report.ts", "path": "crashloop-report.ts"},
        {"key": "lib__summary.ts", "path": "lib/summary.ts"},
        {"key": "oom-report.ts", "path": "oom-report.ts"},
    ]
    typescript = rendered.host_config.custom_workflows.typescript
    assert typescript.enabled is True
    assert typescript.volume.config_map.name == WORKFLOWS_CONFIGMAP
    mount = rendered.mount("workflows")
    assert mount == {"name": "workflows", "mountPath": str(typescript.volume.mount_path), "readOnly": True}


def test_inline_file_content_survives_the_round_trip_unchanged() -> None:
    source = 'export const x = "quotes \\" and \\n escapes";\n\n// trailing: colon\n'
    rendered = render({"customWorkflows": {"typescript": {"enabled": True, "files": {"x.ts": source}}}})
    assert rendered.one("ConfigMap", WORKFLOWS_CONFIGMAP)["data"]["x.ts"] == source


def test_existing_configmap_is_mounted_and_not_created() -> None:
    rendered = render_scenario("existing-configmap")
    assert rendered.find("ConfigMap", WORKFLOWS_CONFIGMAP) is None
    assert [c["metadata"]["name"] for c in rendered.of_kind("ConfigMap")] == [fullname()]
    assert rendered.volume("workflows") == {"name": "workflows", "configMap": {"name": "team-workflows"}}
    assert rendered.mount("workflows") == {
        "name": "workflows",
        "mountPath": "/srv/workflows",
        "readOnly": True,
    }
    typescript = rendered.host_config.custom_workflows.typescript
    assert str(typescript.volume.mount_path) == "/srv/workflows"
    assert typescript.volume.config_map.name == "team-workflows"


def test_grants_reach_the_host_config() -> None:
    grants = render_scenario("existing-configmap").host_config.custom_workflows.typescript.grants
    assert [g.workflow for g in grants] == ["team-a-*", "crashloop-report"]
    assert grants[0].capabilities == ["k8s.read", "findings.report", "debug.pythonProfile"]
    assert grants[0].namespaces == ["team-a"]
    assert grants[0].params == {"tailLines": 200}
    assert [(t.on, t.namespaces) for t in grants[0].triggers] == [("pod.crashLoop", ["team-a"])]
    assert grants[0].reads == [
        "v1/Node",
        "apps/v1/Deployment",
        "apps/v1/ReplicaSet",
        "v1/ConfigMap",
        "argoproj.io/v1alpha1/Rollout",
    ]
    assert grants[0].config_map_data == ["team-a/app-settings"]
    assert grants[1].reads is None  # customWorkflows.typescript.defaultReads
    assert [(t.on, t.resource) for t in grants[1].triggers] == [("k8s.update", "apps/v1/Deployment")]


def test_unquoted_on_keys_in_a_values_file_reach_the_host_as_on() -> None:
    # The ci file writes `- on: pod.crashLoop`; Helm's YAML 1.1 reader makes that key `true`.
    profiler = render_scenario("existing-configmap").host_config.workflows.pod_troubleshooting.python_profiler
    assert [(t.on, t.namespaces, t.label_selector) for t in profiler.triggers] == [
        ("pod.crashLoop", ["shop"], "app.kubernetes.io/part-of=shop")
    ]
    values = helm.values_from_yaml(
        'workflows: {podTroubleshooting: {podProcessList: {triggers: [{"on": manual}]}}}'
    )
    quoted = render(values).host_config.workflows.pod_troubleshooting.pod_process_list
    assert [t.on for t in quoted.triggers] == ["manual"]


def test_no_workflows_volume_while_custom_workflows_are_off() -> None:
    rendered = render()
    assert rendered.volume("workflows") is None
    assert rendered.mount("workflows") is None
    assert rendered.host_config.custom_workflows.typescript.enabled is False


def test_inline_files_without_enabling_custom_workflows_fail_the_render() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"customWorkflows\.typescript\.enabled is false"):
        render({"customWorkflows": {"typescript": {"files": {"a.ts": "x"}}}})


def test_inline_paths_that_collide_as_configmap_keys_fail_the_render() -> None:
    files = {"a/b.ts": "1", "a__b.ts": "2"}
    with pytest.raises(helm.HelmRenderError, match="same ConfigMap key"):
        render({"customWorkflows": {"typescript": {"enabled": True, "files": files}}})


def test_inline_workflows_scenario_sets_sinks_and_findings_volume() -> None:
    rendered = render_scenario("inline-workflows")
    sinks = rendered.host_config.sinks
    assert (sinks.files.enabled, sinks.webhook.enabled, sinks.slack.enabled) == (True, True, True)
    assert sinks.webhook.headers == {"X-Source": "wfhost"}
    assert str(sinks.spool_directory) == "/tmp/wfhost/spool"
    assert rendered.volume("findings") == {
        "name": "findings",
        "persistentVolumeClaim": {"claimName": "wfhost-findings"},
    }
    assert rendered.mount("findings") == {"name": "findings", "mountPath": "/var/lib/wfhost/findings"}
    assert rendered.host_config.api.public_url == "https://wfhost.example.com"
    assert str(rendered.host_config.api.token_file) == "/var/run/secrets/wfhost/api-token/bearer"
    assert rendered.of_kind("Secret") == []
    assert (rendered.host_config.logging.format, rendered.host_config.logging.level) == ("console", "debug")


def test_rendered_config_has_every_host_section_and_no_chart_only_keys() -> None:
    data = yaml.safe_load(render_scenario("inline-workflows").config_text)
    assert set(data) == {field.alias for field in HostConfig.model_fields.values()}
    assert "files" not in data["customWorkflows"]["typescript"]
    assert "token" not in data["api"]
