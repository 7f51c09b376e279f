"""How the Helm values under `workflows.*` switch on and tune the built-in workflows.

Each built-in file (by its stem) has one settings entry: `workflows.podTroubleshooting.*` for
the debug tools, `workflows.podEnrichment.*`, `oomKiller.*`, `jobs.*`, `nodes.*` and
`alertEnrichment.*` for the explainers. The entry says whether it is enabled, its params, the
namespaces it may act in and any extra triggers the operator bound to it. What it may *do* comes
from its own manifest: a built-in is granted exactly the capabilities and reads it declares (its
code ships with the host, and the chart's RBAC grants the same, from a table kept in step by a
test), so an enabled explainer gets reads and never a debug verb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from host.capabilities.policy import Grant
from host.config import BuiltinWorkflow, HostConfig, WorkflowsConfig

Params = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class BuiltinSettings:
    enabled: bool
    grant: Grant
    params: dict[str, Any]
    config_key: str


@dataclass(frozen=True)
class _Entry:
    group: str  # the WorkflowsConfig attribute
    key: str  # the camelCase key under it, as in values.yaml
    attribute: str  # the snake_case attribute
    params: Params


def _none(_: Any) -> dict[str, Any]:
    return {}


BUILTINS: dict[str, _Entry] = {
    # Debug tools (workflows.podTroubleshooting).
    "python-profiler": _Entry(
        "pod_troubleshooting", "pythonProfiler", "python_profiler",
        lambda c: {"duration": c.default_duration, "includeIdle": c.include_idle},
    ),
    "pod-process-list": _Entry("pod_troubleshooting", "podProcessList", "pod_process_list", _none),
    "python-memory-analysis": _Entry(
        "pod_troubleshooting", "pythonMemoryAnalysis", "python_memory_analysis",
        lambda c: {"duration": c.default_duration},
    ),
    "debugger-stack-trace": _Entry(
        "pod_troubleshooting", "debuggerStackTrace", "debugger_stack_trace",
        lambda c: {"count": c.traces_amount, "interval": c.sleep_duration},
    ),
    "python-process-inspector": _Entry(
        "pod_troubleshooting", "pythonProcessInspector", "python_process_inspector", _none
    ),
    "python-debugger": _Entry(
        "pod_troubleshooting", "pythonDebugger", "python_debugger", lambda c: {"port": c.default_port}
    ),
    "go-profiler": _Entry(
        "pod_troubleshooting", "goProfiler", "go_profiler",
        lambda c: {"duration": c.default_duration, **({"port": c.pprof_port} if c.pprof_port else {})},
    ),
    "node-profiler": _Entry(
        "pod_troubleshooting", "nodeProfiler", "node_profiler", lambda c: {"duration": c.default_duration}
    ),
    "java-profiler": _Entry(
        "pod_troubleshooting", "javaProfiler", "java_profiler",
        lambda c: {"duration": c.default_duration, "heapHistogram": c.heap_histogram},
    ),
    "network-check": _Entry(
        "pod_troubleshooting", "networkCheck", "network_check",
        # Workflow params are scalars: the lists travel comma-separated.
        lambda c: {
            "names": ",".join(c.names), "targets": ",".join(c.targets),
            "timeoutSeconds": c.timeout_seconds, "slowSeconds": c.slow_seconds,
        },
    ),
    # Explainers.
    "restart-loop-reporter": _Entry(
        "pod_enrichment", "restartLoopReporter", "restart_loop_reporter",
        lambda c: {"tailLines": c.tail_lines, "groupSeconds": c.group_seconds},
    ),
    "image-pull-backoff-enricher": _Entry(
        "pod_enrichment", "imagePullBackoffEnricher", "image_pull_backoff_enricher", _none
    ),
    "pod-investigator-enricher": _Entry(
        "pod_enrichment", "podInvestigatorEnricher", "pod_investigator_enricher", _none
    ),
    "pod-evicted-enrichments": _Entry(
        "pod_enrichment", "podEvictedEnrichments", "pod_evicted_enrichments", _none
    ),
    "pod-creation-enricher": _Entry("pod_enrichment", "podCreationEnricher", "pod_creation_enricher", _none),
    "pod-oom-killer-enricher": _Entry(
        "oom_killer", "podOomKillerEnricher", "pod_oom_killer_enricher",
        lambda c: {"attachLogs": c.attach_logs, "containerMemoryGraph": c.container_memory_graph},
    ),
    "job-failure-reporter": _Entry(
        "jobs", "jobFailureReporter", "job_failure_reporter", lambda c: {"tailLines": c.tail_lines}
    ),
    "node-status-enricher": _Entry("nodes", "nodeStatusEnricher", "node_status_enricher", _none),
    "default-enricher": _Entry(
        "alert_enrichment", "defaultEnricher", "default_enricher",
        lambda c: {"alertAnnotationsEnrichment": c.alert_annotations_enrichment},
    ),
}

BUILTIN_NAMES = tuple(BUILTINS)
DEBUG_BUILTINS = tuple(name for name, entry in BUILTINS.items() if entry.group == "pod_troubleshooting")

_GROUP_KEYS = {
    "pod_troubleshooting": "podTroubleshooting",
    "pod_enrichment": "podEnrichment",
    "oom_killer": "oomKiller",
    "jobs": "jobs",
    "nodes": "nodes",
    "alert_enrichment": "alertEnrichment",
}


def config_key(name: str) -> str | None:
    """`workflows.podEnrichment.restartLoopReporter` for `restart-loop-reporter`, None if not ours."""
    entry = BUILTINS.get(name)
    return None if entry is None else f"workflows.{_GROUP_KEYS[entry.group]}.{entry.key}"


def _config(workflows: WorkflowsConfig, entry: _Entry) -> BuiltinWorkflow:
    section = getattr(workflows, entry.group)
    cfg = getattr(section, entry.attribute)
    assert isinstance(cfg, BuiltinWorkflow)
    return cfg


def builtin_settings(config: HostConfig, name: str) -> BuiltinSettings | None:
    """Settings for the built-in named `name` (its file stem), or None if it is not one of ours.

    The grant carries namespaces, params and triggers; `host.workflows.registry` fills in the
    capabilities and reads from the manifest."""
    entry = BUILTINS.get(name)
    if entry is None:
        return None
    cfg = _config(config.workflows, entry)
    key = config_key(name)
    assert key is not None
    params = entry.params(cfg)
    return BuiltinSettings(
        enabled=cfg.enabled,
        grant=Grant(
            capabilities=frozenset(),
            namespaces=frozenset(cfg.namespaces),
            params=params,
            triggers=tuple(cfg.triggers),
            source=key,
        ),
        params=params,
        config_key=key,
    )


def any_debug_enabled(config: HostConfig) -> bool:
    return any(s.enabled for n in DEBUG_BUILTINS if (s := builtin_settings(config, n)) is not None)
