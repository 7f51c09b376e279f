"""A container's environment, command line and working directory, as the kubelet would build them.

Variables come from `env` in order, with `$(VAR)` references expanded against those defined
before (and `$$` for a literal `$`), `valueFrom.fieldRef` resolved from the pod. The base
environment is minimal (PATH, HOME, locale) unless the settings ask to inherit the server's;
the directory of the running interpreter is put first on PATH so `python` and the project's
console scripts resolve. Sources the local cluster has no objects for (ConfigMaps, Secrets)
fail like a missing key: CreateContainerConfigError.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from host.errors import WfhostError
from host.localcluster.settings import LocalClusterSettings

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_BASE_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
_IDLE = "import signal\nwhile True:\n    signal.pause()\n"


class ContainerConfigError(WfhostError):
    """The container's configuration cannot be resolved (CreateContainerConfigError)."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: unknown references stay as written, `$$` is a literal `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def _field_ref(pod: Mapping[str, Any], path: str) -> str:
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    pod_status = pod.get("status", {})
    bracket = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if bracket:
        return str((meta.get(bracket.group(1)) or {}).get(bracket.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
    }
    if path not in simple:
        raise ContainerConfigError(f'unsupported fieldRef fieldPath "{path}"')
    value = simple[path]
    if path.startswith("status.") and pod_status.get(path.split(".", 1)[1]):
        value = pod_status[path.split(".", 1)[1]]
        if isinstance(value, list):
            value = ",".join(str(v.get("ip", "")) for v in value)
    return "" if value is None else str(value)


def base_environment(settings: LocalClusterSettings) -> dict[str, str]:
    if settings.inherit_environment:
        env = dict(os.environ)
    else:
        env = {name: os.environ[name] for name in _BASE_VARIABLES if name in os.environ}
    interpreter_dir = os.path.dirname(sys.executable)
    path = env.get("PATH", os.defpath)
    env["PATH"] = interpreter_dir + os.pathsep + path if path else interpreter_dir
    env.update(settings.extra_environment)
    return env


def container_environment(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    settings: LocalClusterSettings,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = base_environment(settings)
    env["HOSTNAME"] = str(pod.get("metadata", {}).get("name", ""))
    if extra:
        env.update(extra)
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if item.get("valueFrom"):
            source = item["valueFrom"]
            if "fieldRef" in source:
                env[name] = _field_ref(pod, str(source["fieldRef"].get("fieldPath", "")))
                continue
            optional = any(isinstance(v, dict) and v.get("optional") for v in source.values())
            if optional:
                continue
            kind = next(iter(source), "valueFrom")
            raise ContainerConfigError(f'couldn\'t find key for {kind} in environment variable "{name}"')
        env[name] = expand(str(item.get("value", "")), env)
    return env


def command_line(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """`command` + `args` expanded; args alone run as the command (the image entrypoint is unknown here);
    neither runs an idle process, the stand-in for an image's own long-running entrypoint."""
    command = [expand(str(part), env) for part in container.get("command") or []]
    args = [expand(str(part), env) for part in container.get("args") or []]
    argv = command + args
    if not argv:
        return [sys.executable, "-c", _IDLE]
    return argv


def working_dir(container: Mapping[str, Any], fallback: str) -> str:
    wanted = container.get("workingDir")
    if isinstance(wanted, str) and wanted and os.path.isdir(wanted):
        return wanted
    return fallback
