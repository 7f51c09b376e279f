"""values.yaml, its schema and its documentation."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import pytest
import yaml

from host.config import HostConfig, parse_config
from host.errors import ConfigError
from tests.chart.support import CHART_DIR, chart, render
from tests.chart.values_doc import README, VALUES, parse_values_doc, readme_with_table, render_table

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))

# The keys and defaults the issue asks for, verbatim.
ISSUE_DEFAULTS: dict[str, Any] = {
    "workflows": {
        "podTroubleshooting": {
            "pythonProfiler": {"enabled": True, "defaultDuration": 2, "includeIdle": False},
            "podProcessList": {"enabled": True},
            "pythonMemoryAnalysis": {"enabled": True, "defaultDuration": 60},
            "debuggerStackTrace": {"enabled": True, "tracesAmount": 1, "sleepDuration": 1},
            "pythonProcessInspector": {"enabled": True},
            "pythonDebugger": {"enabled": True, "defaultPort": 5678},
            # Issue 15: the Go and Node.js profilers and the network check, on like the Python ones.
            "goProfiler": {"enabled": True, "defaultDuration": 5, "pprofPort": 0},
            "nodeProfiler": {"enabled": True, "defaultDuration": 5},
            "javaProfiler": {"enabled": True, "defaultDuration": 10, "heapHistogram": False},
            "networkCheck": {
                "enabled": True, "names": ["kubernetes.default"], "targets": [], "timeoutSeconds": 5, "slowSeconds": 1,
            },
        },
        # The explainers (issue 12): on by default, with the settings our users' docs name.
        "podEnrichment": {
            "restartLoopReporter": {
                "enabled": True, "tailLines": 40, "groupSeconds": 5, "namespaces": [], "triggers": [],
            },
            "imagePullBackoffEnricher": {"enabled": True, "namespaces": [], "triggers": []},
            "podInvestigatorEnricher": {"enabled": True, "namespaces": [], "triggers": []},
            "podEvictedEnrichments": {"enabled": True, "namespaces": [], "triggers": []},
            "podCreationEnricher": {"enabled": True, "namespaces": [], "triggers": []},
        },
        "oomKiller": {
            "podOomKillerEnricher": {
                "enabled": True, "attachLogs": True, "containerMemoryGraph": False, "namespaces": [], "triggers": [],
            },
        },
        "jobs": {"jobFailureReporter": {"enabled": True, "tailLines": 40, "namespaces": [], "triggers": []}},
        "nodes": {"nodeStatusEnricher": {"enabled": True, "namespaces": [], "triggers": []}},
        "alertEnrichment": {
            "defaultEnricher": {"enabled": True, "alertAnnotationsEnrichment": True, "namespaces": [], "triggers": []},
        },
    },
    "customWorkflows": {
        "typescript": {
            "enabled": False,
            "volume": {"mountPath": "/workflows", "configMap": {"name": "custom-workflows-config"}},
        }
    },
}


def _nested(path: str, value: Any) -> dict[str, Any]:
    result: Any = value
    for key in reversed(path.split(".")):
        result = {key: result}
    assert isinstance(result, dict)
    return result


def test_defaults_have_exactly_the_keys_and_values_the_issue_lists() -> None:
    defaults = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    assert defaults["workflows"] == ISSUE_DEFAULTS["workflows"]
    typescript = defaults["customWorkflows"]["typescript"]
    assert {k: typescript[k] for k in ("enabled", "volume")} == ISSUE_DEFAULTS["customWorkflows"][
        "typescript"
    ]


def test_default_values_pass_the_schema() -> None:
    chart().validate_schema({})


def test_defaults_are_the_host_configs_defaults() -> None:
    """values.yaml and host/config.py agree on every built-in's settings and the dedupe window."""
    config = render().host_config
    assert config.workflows.model_dump(exclude={"builtin_directory"}) == HostConfig().workflows.model_dump(
        exclude={"builtin_directory"}
    )
    assert config.limits == HostConfig().limits


# (dotted key, bad value, what the error must mention)
BAD_VALUES = [
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.defaultDuration", -1, "minimum", id="negative-duration"
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonMemoryAnalysis.defaultDuration", 0, "minimum", id="zero-duration"
    ),
    pytest.param(
        "workflows.podTroubleshooting.debuggerStackTrace.sleepDuration", -0.5, "minimum", id="negative-sleep"
    ),
    pytest.param("sandbox.invocationTimeoutSeconds", -10, "exclusiveMinimum", id="negative-timeout"),
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.defaultDuration", 301, "maximum", id="duration-too-long"
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonMemoryAnalysis.defaultDuration", 301, "maximum", id="memory-too-long"
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonDebugger.defaultPort", 80, "minimum", id="debugpy-privileged-port"
    ),
    pytest.param("workflows.podTroubleshooting.goProfiler.pprofPort", 70000, "maximum", id="pprof-port"),
    pytest.param("workflows.podTroubleshooting.javaProfiler.defaultDuration", 301, "maximum", id="jfr-duration"),
    pytest.param(
        "workflows.podTroubleshooting.javaProfiler.heapHistogram", "yes", "want boolean", id="heap-histogram-bool"
    ),
    pytest.param("workflows.podTroubleshooting.networkCheck.timeoutSeconds", 0, "minimum", id="network-timeout"),
    pytest.param(
        "workflows.podTroubleshooting.networkCheck.targets", ["a b"], "does not match", id="network-target-space"
    ),
    pytest.param("api.port", 70000, "maximum", id="api-port-too-high"),
    pytest.param("api.port", 0, "minimum", id="api-port-zero"),
    pytest.param(
        "workflows.podTroubleshooting.pythonDebugger.defaultPort", 65536, "maximum", id="debugpy-port"
    ),
    pytest.param("service.port", -1, "minimum", id="service-port"),
    pytest.param("sandbox.maxHeapMb", "big", "want integer", id="string-for-heap"),
    pytest.param("replicaCount", "2", "want integer", id="string-for-replicas"),
    pytest.param(
        "workflows.podTroubleshooting.debuggerStackTrace.tracesAmount",
        "1",
        "want integer",
        id="string-for-traces",
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.defaultDuration", 1.5, "want integer", id="fraction"
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.enabled", "yes", "want boolean", id="string-for-bool"
    ),
    pytest.param("unknownTopLevel", 1, "additional properties 'unknownTopLevel'", id="unknown-top-key"),
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.sampleRate", 100, "sampleRate", id="unknown-nested-key"
    ),
    pytest.param(
        "workflows.podTroubleshooting.flameGraph", {"enabled": True}, "flameGraph", id="unknown-workflow"
    ),
    pytest.param("customWorkflows.typescript.volume.configMap.nmae", "x", "nmae", id="typo-in-configmap"),
    pytest.param("sinks.webhook.enabled", True, "url", id="webhook-without-url"),
    pytest.param("sinks.slack.url", "not a url", "pattern", id="slack-url-not-http"),
    pytest.param(
        "customWorkflows.typescript.grants",
        [{"workflow": "x", "capabilities": ["root"]}],
        "one of",
        id="bad-capability",
    ),
    pytest.param(
        "customWorkflows.typescript.grants", [{"capabilities": []}], "workflow", id="grant-without-workflow"
    ),
    pytest.param(
        "workflows.podTroubleshooting.pythonProfiler.triggers",
        [{"on": "pod.exploded"}],
        "one of",
        id="bad-event-kind",
    ),
    pytest.param("customWorkflows.typescript.files", {"../escape.ts": "x"}, "escape", id="file-path-escapes"),
    pytest.param(
        "customWorkflows.typescript.volume.mountPath", "workflows", "pattern", id="relative-mount-path"
    ),
    pytest.param("cluster.namespaces", ["Not_A_Namespace"], "pattern", id="bad-namespace"),
    pytest.param("image.digest", "latest", "pattern", id="bad-digest"),
    pytest.param("image.pullPolicy", "Sometimes", "one of", id="bad-pull-policy"),
    pytest.param("logging.format", "xml", "one of", id="bad-log-format"),
    pytest.param("podDisruptionBudget.minAvailable", "half", "oneOf", id="bad-pdb"),
    pytest.param("resources.limits.memory", "lots", "oneOf", id="bad-quantity"),
    pytest.param("podSecurityContext.runAsUser", 0, "minimum", id="root-user"),
    pytest.param("replicaCount", 0, "minimum", id="zero-replicas"),
    pytest.param("sandbox.maxMessageBytes", 1 << 30, "maximum", id="huge-messages"),
    pytest.param("leaderElection.leaseDurationSeconds", -15, "exclusiveMinimum", id="negative-lease"),
    pytest.param("workflows.podTroubleshooting.pythonProfiler", None, "pythonProfiler", id="section-removed"),
] + [pytest.param(path, value, message, id=f"explainer-{id}") for id, path, value, message, _ in [
    # (id, dotted key, bad value, what the error must mention, the key path it names)
    ("tail-zero", "workflows.podEnrichment.restartLoopReporter.tailLines", 0, "minimum", None),
    ("tail-too-long", "workflows.jobs.jobFailureReporter.tailLines", 1001, "maximum", None),
    ("tail-fraction", "workflows.jobs.jobFailureReporter.tailLines", 2.5, "want integer", None),
    ("tail-string", "workflows.podEnrichment.restartLoopReporter.tailLines", "40", "want integer", None),
    ("attach-logs-yes", "workflows.oomKiller.podOomKillerEnricher.attachLogs", "yes", "want boolean", None),
    ("graph-string", "workflows.oomKiller.podOomKillerEnricher.containerMemoryGraph", "off", "want boolean", None),
    ("annotations-int", "workflows.alertEnrichment.defaultEnricher.alertAnnotationsEnrichment", 1, "want boolean",
     None),
    ("enabled-string", "workflows.nodes.nodeStatusEnricher.enabled", "true", "want boolean", None),
    ("bad-namespace", "workflows.podEnrichment.podInvestigatorEnricher.namespaces", ["Shop_1"], "pattern", None),
    ("bad-trigger", "workflows.podEnrichment.podCreationEnricher.triggers", [{"on": "pod.sad"}], "one of", None),
    ("unknown-setting", "workflows.podEnrichment.imagePullBackoffEnricher.tailLines", 40, "tailLines", None),
    ("typo", "workflows.oomKiller.podOomKillerEnricher.attachLog", True, "attachLog", None),
    ("unknown-explainer", "workflows.podEnrichment.podRestartReporter", {"enabled": True}, "podRestartReporter",
     None),
    ("unknown-group", "workflows.networking", {}, "networking", None),
    ("removed", "workflows.jobs.jobFailureReporter", None, "jobFailureReporter", None),
    ("dedupe-negative", "limits.findingDedupeSeconds", -1, "minimum", None),
    ("dedupe-string", "limits.findingDedupeSeconds", "15m", "want number", None),
]]


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_schema_rejects_bad_value(path: str, value: Any, message: str) -> None:
    values = _nested(path, value)
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(values)
    assert message in str(caught.value)
    if value is not None:
        # The same values fail an install (render) too, before any template runs.
        with pytest.raises(helm.HelmValuesError):
            render(values)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("workflows.podTroubleshooting.pythonProfiler.defaultDuration", -1),
        ("workflows.podEnrichment.restartLoopReporter.tailLines", 0),
        ("workflows.jobs.jobFailureReporter.tailLines", 0),
        ("workflows.oomKiller.podOomKillerEnricher.attachLogs", "yes"),
        ("workflows.oomKiller.podOomKillerEnricher.containerMemoryGraph", "yes"),
        ("workflows.alertEnrichment.defaultEnricher.alertAnnotationsEnrichment", "yes"),
        ("workflows.podEnrichment.podEvictedEnrichments.enabled", "no"),
        ("limits.findingDedupeSeconds", -5),
    ],
)
def test_schema_rejection_names_the_key_path(path: str, value: Any) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(_nested(path, value))
    assert f"at '/{path.replace('.', '/')}'" in str(caught.value), str(caught.value)


def test_the_schemas_bounds_are_the_host_configs() -> None:
    """Every value the host config bounds at both ends (tailLines 1-1000) is accepted at the
    bounds and refused just past them, by the schema and by the host alike."""
    cases = [
        ("workflows.podEnrichment.restartLoopReporter.tailLines", 1, 1000),
        ("workflows.jobs.jobFailureReporter.tailLines", 1, 1000),
    ]
    for path, low, high in cases:
        for good in (low, high):
            chart().validate_schema(_nested(path, good))
            assert render(_nested(path, good)).host_config is not None
        for bad in (low - 1, high + 1):
            with pytest.raises(helm.HelmValuesError):
                chart().validate_schema(_nested(path, bad))
            with pytest.raises(ConfigError, match=re.escape(path.removeprefix("workflows."))):
                parse_config(_nested(path, bad))
    chart().validate_schema(_nested("limits.findingDedupeSeconds", 0))
    chart().validate_schema(_nested("limits.findingDedupeSeconds", 0.5))
    with pytest.raises(ConfigError, match=r"limits\.findingDedupeSeconds"):
        parse_config(_nested("limits.findingDedupeSeconds", -1))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"leaderElection": {"renewDeadlineSeconds": 20}}, "renewDeadlineSeconds must be less than"),
        ({"leaderElection": {"retryPeriodSeconds": 10}}, "retryPeriodSeconds must be less than"),
        ({"serviceAccount": {"create": False}}, "serviceAccount.name is required"),
        (
            {"sinks": {"spoolDirectory": "/var/spool/wfhost"}},
            "spoolDirectory /var/spool/wfhost is not writable",
        ),
        ({"sinks": {"spoolDirectory": "/tmpfoo/spool"}}, "is not writable"),
    ],
)
def test_template_rejects_combinations_the_schema_cannot_express(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        {"sinks": {"spoolDirectory": "/tmp/wfhost/spool"}},
        {"sinks": {"spoolDirectory": "/tmp"}},
        {"sinks": {"spoolDirectory": "/var/lib/wfhost/findings/spool", "files": {"enabled": True}}},
    ],
)
def test_spool_directory_on_a_writable_volume_is_accepted(values: dict[str, Any]) -> None:
    assert render(values).host_config.sinks.spool_directory is not None


def test_every_schema_object_rejects_unknown_keys() -> None:
    unclosed: list[str] = []
    open_objects: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where)
            return
        if not isinstance(node, dict):
            return
        if "properties" in node and node.get("additionalProperties") is not False:
            unclosed.append(where)
        if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            open_objects.append(where)
        for key, child in node.items():
            if key in {"properties", "definitions"}:
                for name, sub in child.items():
                    walk(sub, f"{where}.{name}")
            elif key in {"items", "oneOf", "anyOf", "allOf"}:
                walk(child, where)
            elif key == "additionalProperties":
                walk(child, f"{where}.*")

    walk(SCHEMA, "")
    assert unclosed == []
    assert SCHEMA["additionalProperties"] is False
    # Objects whose keys are not ours: Helm's globals, a workflow's own params, and
    # Kubernetes objects passed through (selectors, affinity terms), which the API server
    # validates.
    assert sorted(open_objects) == [".customWorkflows.typescript.grants.params", ".global", ".openObject"]


def test_every_key_in_values_yaml_has_a_comment() -> None:
    docs = parse_values_doc(VALUES.read_text(encoding="utf-8"))
    assert len(docs) > 100
    assert [doc.path for doc in docs if not doc.description] == []


def test_every_documented_key_exists_in_the_schema() -> None:
    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    for doc in parse_values_doc(VALUES.read_text(encoding="utf-8")):
        node = SCHEMA
        for key in doc.path.split("."):
            properties = resolve(node).get("properties", {})
            assert key in properties, doc.path
            node = properties[key]


def test_optional_keys_are_documented_commented_out() -> None:
    optional = [doc.path for doc in parse_values_doc(VALUES.read_text(encoding="utf-8")) if doc.optional]
    assert optional == [
        "workflows.podTroubleshooting.pythonProfiler.namespaces",
        "workflows.podTroubleshooting.pythonProfiler.triggers",
        "sinks.spoolDirectory",
        "podDisruptionBudget.maxUnavailable",
    ]


def test_readme_values_table_is_generated_from_the_values_comments() -> None:
    readme = README.read_text(encoding="utf-8")
    table = render_table(parse_values_doc(VALUES.read_text(encoding="utf-8")))
    assert readme == readme_with_table(readme, table), "run: python -m tests.chart.values_doc --write"


def test_the_shutdown_grace_must_fit_in_the_pods_termination_grace() -> None:
    from tests.chart.support import render

    assert render({"sandbox": {"shutdownGraceSeconds": 25}}).host_config.sandbox.shutdown_grace_seconds == 25
    with pytest.raises(Exception, match="shutdownGraceSeconds must be less than terminationGracePeriodSeconds"):
        render({"sandbox": {"shutdownGraceSeconds": 30}})
