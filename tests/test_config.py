"""The config model: the chart's keys, key paths in every error, YAML as Helm users write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.config import load_config, parse_config
from host.errors import ConfigError


def test_defaults_match_the_chart_values_contract() -> None:
    c = parse_config({})
    pt = c.workflows.pod_troubleshooting
    assert (pt.python_profiler.enabled, pt.python_profiler.default_duration, pt.python_profiler.include_idle) == (True, 2, False)
    assert pt.python_memory_analysis.default_duration == 60
    assert (pt.debugger_stack_trace.traces_amount, pt.debugger_stack_trace.sleep_duration) == (1, 1)
    assert pt.python_debugger.default_port == 5678
    ts = c.custom_workflows.typescript
    assert (ts.enabled, str(ts.volume.mount_path), ts.volume.config_map.name) == (False, "/workflows", "custom-workflows-config")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"workflows": {"podTroubleshooting": {"pythonProfiler": {"defaultDuration": -1}}}},
         "workflows.podTroubleshooting.pythonProfiler.defaultDuration"),
        ({"workflows": {"podTroubleshooting": {"pythonProfiler": {"defaultDuraton": 5}}}},
         "workflows.podTroubleshooting.pythonProfiler.defaultDuraton"),
        ({"api": {"port": "eighty"}}, "api.port"),
        ({"customWorkflows": {"typescript": {"grants": [{"workflow": "x", "capabilities": ["k8s.write"]}]}}},
         "customWorkflows.typescript.grants[0].capabilities[0]"),
        ({"sinks": {"webhook": {"enabled": True}}}, "sinks.webhook"),
        ({"sandbox": {"maxHeapMb": 1}}, "sandbox.maxHeapMb"),
    ],
    ids=["negative", "typo", "type", "capability", "webhook-without-url", "range"],
)
def test_a_bad_value_fails_fast_naming_its_key_path(data: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert path in str(info.value)


def test_sinks_may_be_given_as_a_list_of_typed_entries() -> None:
    c = parse_config({"sinks": [{"type": "files", "path": "/tmp/findings"}, {"type": "webhook", "url": "http://x"}]})
    assert c.sinks.files.enabled and str(c.sinks.files.directory) == "/tmp/findings"
    assert c.sinks.webhook.enabled and c.sinks.webhook.url == "http://x"
    assert not c.sinks.log.enabled and not c.sinks.slack.enabled
    with pytest.raises(ConfigError, match=r"\[0\].type: 'fax'"):
        parse_config({"sinks": [{"type": "fax"}]})


def test_yaml_is_read_with_yaml_1_2_booleans_so_on_stays_a_key(tmp_path: Path) -> None:
    f = tmp_path / "config.yaml"
    f.write_text("workflows:\n  podTroubleshooting:\n    pythonProfiler:\n      triggers:\n"
                 "        - on: pod.crashLoop\n          namespaces: [shop]\n")
    c = load_config(f)
    (t,) = c.workflows.pod_troubleshooting.python_profiler.triggers
    assert (t.on, t.namespaces) == ("pod.crashLoop", ["shop"])


def test_unreadable_or_invalid_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(top)
