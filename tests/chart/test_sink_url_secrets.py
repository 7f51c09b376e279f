"""Webhook and Slack sink URLs read from a mounted Secret (sinks.<sink>.urlSecret)."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.chart.support import CHART_DIR, KUBE_VERSION, NAMESPACE, RELEASE, chart, render, render_scenario

SINKS = ["webhook", "slack"]
# A URL that must never reach a rendered manifest once a Secret holds it.
INLINE_URL = "https://hooks.slack.com/services/T000/B000/must-not-leak"


def _sink_values(sink: str, **settings: Any) -> dict[str, Any]:
    return {"sinks": {sink: settings}}


def _url_volumes(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in pod_spec.get("volumes", []) if v["name"].endswith("-url")]


@pytest.mark.parametrize("sink", SINKS)
def test_url_secret_mounts_only_its_key_read_only_and_becomes_the_url_file(sink: str) -> None:
    rendered = render(
        _sink_values(sink, enabled=True, url=INLINE_URL, urlSecret={"name": "hooks", "key": "endpoint"})
    )
    volume = rendered.volume(f"{sink}-url")
    assert volume == {
        "name": f"{sink}-url",
        "secret": {
            "secretName": "hooks",
            "defaultMode": 0o440,
            "items": [{"key": "endpoint", "path": "url"}],
        },
    }
    mount = rendered.mount(f"{sink}-url")
    assert mount == {
        "name": f"{sink}-url",
        "mountPath": f"/var/run/secrets/wfhost/sinks/{sink}",
        "readOnly": True,
    }
    config = getattr(rendered.host_config.sinks, sink)
    assert config.enabled is True
    assert config.url == ""
    assert config.url_file is not None
    url_file = PurePosixPath(str(config.url_file))
    assert url_file == PurePosixPath(f"/var/run/secrets/wfhost/sinks/{sink}/url")
    assert url_file.parent == PurePosixPath(mount["mountPath"])
    assert url_file.name == volume["secret"]["items"][0]["path"]


@pytest.mark.parametrize("sink", SINKS)
def test_url_secret_keeps_the_url_and_the_chart_only_key_out_of_every_manifest(sink: str) -> None:
    rendered = render(_sink_values(sink, enabled=True, url=INLINE_URL, urlSecret={"name": "hooks"}))
    everything = "".join(rendered.files.values())
    assert INLINE_URL not in everything
    assert "urlSecret" not in rendered.config_text
    assert f"urlFile: /var/run/secrets/wfhost/sinks/{sink}/url" in rendered.config_text


def test_url_secret_key_defaults_to_url() -> None:
    rendered = render(_sink_values("slack", enabled=True, urlSecret={"name": "slack-hook"}))
    volume = rendered.volume("slack-url")
    assert volume is not None
    assert volume["secret"]["items"] == [{"key": "url", "path": "url"}]
    assert rendered.host_config.sinks.webhook.url_file is None
    assert rendered.volume("webhook-url") is None


def test_both_sinks_can_read_their_urls_from_secrets_and_the_manifests_validate() -> None:
    values = {
        "sinks": {
            "webhook": {"enabled": True, "urlSecret": {"name": "webhook-endpoint", "key": "target"}},
            "slack": {"enabled": True, "urlSecret": {"name": "slack-hook"}},
        }
    }
    rendered = render(values)
    assert {v["secret"]["secretName"] for v in _url_volumes(rendered.pod_spec)} == {
        "webhook-endpoint",
        "slack-hook",
    }
    sinks = rendered.host_config.sinks
    assert (str(sinks.webhook.url_file), str(sinks.slack.url_file)) == (
        "/var/run/secrets/wfhost/sinks/webhook/url",
        "/var/run/secrets/wfhost/sinks/slack/url",
    )
    kubernetes_validate.validate(rendered.deployment, KUBE_VERSION, strict=True)
    report = helm.lint(CHART_DIR, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("sink", SINKS)
def test_inline_url_still_goes_into_the_config_and_mounts_nothing(sink: str) -> None:
    url = f"https://hooks.example.com/{sink}"
    rendered = render(_sink_values(sink, enabled=True, url=url))
    config = getattr(rendered.host_config.sinks, sink)
    assert (config.enabled, config.url, config.url_file) == (True, url, None)
    assert _url_volumes(rendered.pod_spec) == []
    assert "urlFile" not in rendered.config_text


@pytest.mark.parametrize("sink", SINKS)
def test_disabled_sink_mounts_no_secret_even_when_one_is_named(sink: str) -> None:
    # A Secret volume whose Secret is missing would keep the pod from starting.
    rendered = render(_sink_values(sink, enabled=False, urlSecret={"name": "not-created-yet"}))
    assert _url_volumes(rendered.pod_spec) == []
    assert getattr(rendered.host_config.sinks, sink).url_file is None
    assert "urlSecret" not in rendered.config_text


def test_inline_workflows_scenario_reads_the_slack_url_from_its_secret() -> None:
    rendered = render_scenario("inline-workflows")
    volume = rendered.volume("slack-url")
    assert volume is not None
    assert volume["secret"]["secretName"] == "wfhost-slack"
    assert volume["secret"]["items"] == [{"key": "webhook-url", "path": "url"}]
    sinks = rendered.host_config.sinks
    assert str(sinks.slack.url_file) == "/var/run/secrets/wfhost/sinks/slack/url"
    assert sinks.webhook.url == "https://hooks.example.com/wfhost"
    assert sinks.webhook.url_file is None


@pytest.mark.parametrize("sink", SINKS)
def test_enabled_sink_with_neither_url_nor_secret_fails_the_install_naming_both(sink: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        render(_sink_values(sink, enabled=True))
    message = str(caught.value)
    assert f"/sinks/{sink}/url" in message
    assert f"/sinks/{sink}/urlSecret/name" in message


@pytest.mark.parametrize("sink", SINKS)
def test_template_says_which_url_is_missing_when_schema_validation_is_skipped(
    sink: str, tmp_path: Path
) -> None:
    # `helm install --skip-schema-validation` reaches the templates: they fail on their own.
    copy = tmp_path / "wfhost"
    shutil.copytree(CHART_DIR, copy)
    (copy / "values.schema.json").unlink()
    unchecked = helm.Chart.load(copy)
    with pytest.raises(helm.HelmRenderError) as caught:
        unchecked.render(_sink_values(sink, enabled=True), name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert (
        f"sinks.{sink} is enabled but has no URL: set sinks.{sink}.url, "
        f"or sinks.{sink}.urlSecret.name to a Secret holding it"
    ) in str(caught.value)


@pytest.mark.parametrize(
    ("url_secret", "message"),
    [
        pytest.param({"name": "hooks", "nmae": "typo"}, "additional properties 'nmae'", id="unknown-key"),
        pytest.param({"name": "Slack_Hook"}, "pattern", id="name-not-a-dns-subdomain"),
        pytest.param({"name": "hooks", "key": ""}, "minLength", id="empty-key"),
        pytest.param({"name": "hooks", "key": "a/b"}, "pattern", id="key-with-slash"),
        pytest.param("hooks", "want object", id="not-an-object"),
    ],
)
@pytest.mark.parametrize("sink", SINKS)
def test_schema_rejects_a_bad_url_secret(sink: str, url_secret: Any, message: str) -> None:
    values = _sink_values(sink, urlSecret=url_secret)
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(values)
    assert f"/sinks/{sink}/urlSecret" in str(caught.value)
    assert message in str(caught.value)
