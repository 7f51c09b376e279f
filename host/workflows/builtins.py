"""How the Helm values under `workflows.podTroubleshooting` switch on and tune the built-in workflows.

Each built-in gets exactly the capabilities it needs (no more), its params from config, and any
extra triggers the operator bound to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from host.capabilities.policy import Grant
from host.config import BuiltinWorkflow, HostConfig

_BASE = ("k8s.read", "findings.report", "debug.processList")


@dataclass(frozen=True)
class BuiltinSettings:
    enabled: bool
    grant: Grant
    params: dict[str, Any]
    config_key: str


def _settings(key: str, cfg: BuiltinWorkflow, caps: tuple[str, ...], params: dict[str, Any]) -> BuiltinSettings:
    return BuiltinSettings(
        enabled=cfg.enabled,
        grant=Grant(
            capabilities=frozenset((*_BASE, *caps)),
            namespaces=frozenset(cfg.namespaces),
            params=params,
            triggers=tuple(cfg.triggers),
            source=f"workflows.podTroubleshooting.{key}",
        ),
        params=params,
        config_key=f"workflows.podTroubleshooting.{key}",
    )


def builtin_settings(config: HostConfig, name: str) -> BuiltinSettings | None:
    """Settings for the built-in named `name` (its file stem), or None if it is not one of ours."""
    pt = config.workflows.pod_troubleshooting
    if name == "python-profiler":
        c = pt.python_profiler
        return _settings("pythonProfiler", c, ("debug.pythonProfile",),
                         {"duration": c.default_duration, "includeIdle": c.include_idle})
    if name == "pod-process-list":
        return _settings("podProcessList", pt.pod_process_list, (), {})
    if name == "python-memory-analysis":
        m = pt.python_memory_analysis
        return _settings("pythonMemoryAnalysis", m, ("debug.pythonMemory",), {"duration": m.default_duration})
    if name == "debugger-stack-trace":
        d = pt.debugger_stack_trace
        return _settings("debuggerStackTrace", d, ("debug.pythonStackTrace",),
                         {"count": d.traces_amount, "interval": d.sleep_duration})
    if name == "python-process-inspector":
        return _settings("pythonProcessInspector", pt.python_process_inspector, ("debug.pythonInspect",), {})
    if name == "python-debugger":
        g = pt.python_debugger
        return _settings("pythonDebugger", g, ("debug.pythonDebugger",), {"port": g.default_port})
    return None


BUILTIN_NAMES = (
    "python-profiler", "pod-process-list", "python-memory-analysis",
    "debugger-stack-trace", "python-process-inspector", "python-debugger",
)


def any_debug_enabled(config: HostConfig) -> bool:
    return any(s.enabled for n in BUILTIN_NAMES if (s := builtin_settings(config, n)) is not None)
