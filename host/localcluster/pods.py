"""The pod strategy: defaults, validation, and what each kind of pod update may change.

Like the real API server: the client cannot set status on create, ephemeral containers can only
be added through the `ephemeralcontainers` subresource and never changed or removed there, and a
main-resource update may change only a few spec fields (container images, activeDeadlineSeconds,
tolerations, terminationGracePeriodSeconds).
"""

from __future__ import annotations

import copy
from typing import Any

from host.localcluster.selectors import FieldGetter, path_getter
from host.localcluster.strategies import (
    Cause,
    Obj,
    Strategy,
    check_label,
    check_subdomain,
    forbidden,
    go_value,
    invalid_value,
    required,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
_EPHEMERAL_FORBIDDEN = (
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "resizePolicy",
)

POD_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": path_getter("metadata", "name"),
    "metadata.namespace": path_getter("metadata", "namespace"),
    "spec.nodeName": path_getter("spec", "nodeName"),
    "spec.restartPolicy": path_getter("spec", "restartPolicy"),
    "spec.schedulerName": path_getter("spec", "schedulerName"),
    "spec.serviceAccountName": path_getter("spec", "serviceAccountName"),
    "spec.hostNetwork": lambda pod: "true" if pod.get("spec", {}).get("hostNetwork") else "false",
    "status.phase": path_getter("status", "phase"),
    "status.podIP": path_getter("status", "podIP"),
    "status.nominatedNodeName": path_getter("status", "nominatedNodeName"),
}


def _default_container(container: dict[str, Any], *, ephemeral: bool = False) -> None:
    image = container.get("image")
    if "imagePullPolicy" not in container and isinstance(image, str):
        tagless = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
        container["imagePullPolicy"] = "Always" if tagless or image.endswith(":latest") else "IfNotPresent"
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if not ephemeral:
        container.setdefault("resources", {})


def default_template_spec(spec: dict[str, Any]) -> None:
    """The defaults every pod spec gets, a workload's pod template included."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _default_container(container)
    for container in spec.get("ephemeralContainers") or []:
        if isinstance(container, dict):
            _default_container(container, ephemeral=True)


def default_spec(spec: dict[str, Any]) -> None:
    """Apply the server's defaults to a pod spec in place (a pod's, with what admission adds)."""
    default_template_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _qos_class(spec: dict[str, Any]) -> str:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if all(not r.get("requests") and not r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits = r.get("limits") or {}
        requests = r.get("requests") or {}
        if "cpu" not in limits or "memory" not in limits:
            return "Burstable"
        if any(requests.get(k, limits[k]) != limits[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


_PROTOCOLS = ("TCP", "UDP", "SCTP")


def _check_ports(where: str, ports: Any) -> list[Cause]:
    causes: list[Cause] = []
    for index, port in enumerate(ports if isinstance(ports, list) else []):
        if not isinstance(port, dict):
            continue
        at = f"{where}.ports[{index}]"
        number = port.get("containerPort")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (
                    f"{at}.containerPort",
                    "FieldValueInvalid",
                    f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                )
            )
        host_port = port.get("hostPort")
        if host_port is not None and (not isinstance(host_port, int) or not 0 <= host_port <= 65535):
            causes.append(
                (
                    f"{at}.hostPort",
                    "FieldValueInvalid",
                    f"Invalid value: {host_port}: must be between 1 and 65535, inclusive",
                )
            )
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            causes.append(
                (
                    f"{at}.protocol",
                    "FieldValueNotSupported",
                    f'Unsupported value: "{protocol}": supported values: "SCTP", "TCP", "UDP"',
                )
            )
    return causes


def _check_env(where: str, env: Any) -> list[Cause]:
    causes: list[Cause] = []
    for index, variable in enumerate(env if isinstance(env, list) else []):
        name = variable.get("name") if isinstance(variable, dict) else None
        at = f"{where}.env[{index}].name"
        if not isinstance(name, str) or not name:
            causes.append(required(at))
        elif "=" in name or not all(32 <= ord(ch) < 127 for ch in name):
            causes.append(
                (
                    at,
                    "FieldValueInvalid",
                    f"Invalid value: \"{name}\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                )
            )
    return causes


def _check_containers(spec: dict[str, Any], key: str, names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get(key) or []
    if not isinstance(containers, list):
        return [invalid_value(f"spec.{key}", containers, "must be a list")]
    for index, container in enumerate(containers):
        where = f"spec.{key}[{index}]"
        if not isinstance(container, dict):
            causes.append(invalid_value(where, container, "must be an object"))
            continue
        name = container.get("name")
        causes += check_label(f"{where}.name", name)
        if isinstance(name, str) and name in names:
            causes.append((f"{where}.name", "FieldValueDuplicate", f"Duplicate value: {go_value(name)}"))
        if isinstance(name, str):
            names.add(name)
        if not container.get("image"):
            causes.append(required(f"{where}.image"))
        for list_field in ("command", "args"):
            value = container.get(list_field)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                causes.append(invalid_value(f"{where}.{list_field}", value, "must be a list of strings"))
        causes += _check_ports(where, container.get("ports"))
        causes += _check_env(where, container.get("env"))
        if key == "ephemeralContainers":
            for field in _EPHEMERAL_FORBIDDEN:
                if container.get(field):
                    causes.append(forbidden(f"{where}.{field}", "cannot be set for an Ephemeral Container"))
            if (container.get("resources") or {}) != {}:
                causes.append(forbidden(f"{where}.resources", "cannot be set for an Ephemeral Container"))
    return causes


class PodStrategy(Strategy):
    has_status = True
    tracks_generation = True

    def prepare_create(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            default_spec(spec)
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}

    def validate(self, obj: Obj) -> list[Cause]:
        causes = check_subdomain("metadata.name", obj.get("metadata", {}).get("name"))
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [*causes, required("spec")]
        if not spec.get("containers"):
            causes.append(required("spec.containers"))
        names: set[str] = set()
        causes += _check_containers(spec, "containers", names)
        causes += _check_containers(spec, "initContainers", names)
        causes += _check_containers(spec, "ephemeralContainers", names)
        regular = {c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)}
        regular |= {c.get("name") for c in spec.get("initContainers") or [] if isinstance(c, dict)}
        for index, container in enumerate(spec.get("ephemeralContainers") or []):
            target = container.get("targetContainerName") if isinstance(container, dict) else None
            if target and target not in regular:
                causes.append(
                    (
                        f"spec.ephemeralContainers[{index}].targetContainerName",
                        "FieldValueNotFound",
                        f"Not found: {go_value(target)}",
                    )
                )
        policy = spec.get("restartPolicy")
        if policy not in RESTART_POLICIES:
            causes.append(
                (
                    "spec.restartPolicy",
                    "FieldValueNotSupported",
                    f'Unsupported value: {policy!r}: supported values: "Always", "OnFailure", "Never"',
                )
            )
        return causes

    def validate_create(self, obj: Obj) -> list[Cause]:
        causes = self.validate(obj)
        if obj.get("spec", {}).get("ephemeralContainers"):
            causes.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        return causes

    def prepare_update(self, new: Obj, old: Obj) -> None:
        super().prepare_update(new, old)
        spec = new.get("spec")
        if isinstance(spec, dict):
            old_ephemeral = old.get("spec", {}).get("ephemeralContainers")
            if old_ephemeral is None:
                spec.pop("ephemeralContainers", None)
            else:
                spec["ephemeralContainers"] = copy.deepcopy(old_ephemeral)
            default_spec(spec)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if causes:
            return causes
        if _masked_spec(new) != _masked_spec(old):
            causes.append(
                forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                    "(allow it to be set to 1 if it was previously negative)",
                )
            )
        old_tolerations = old.get("spec", {}).get("tolerations") or []
        new_tolerations = new.get("spec", {}).get("tolerations") or []
        if any(t not in new_tolerations for t in old_tolerations):
            causes.append(
                forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            )
        return causes

    def prepare_ephemeral_update(self, new: Obj, old: Obj) -> Obj:
        """The object an `ephemeralcontainers` update stores: the old pod with the new ephemeral list."""
        result = copy.deepcopy(old)
        ephemeral = copy.deepcopy(new.get("spec", {}).get("ephemeralContainers") or [])
        for container in ephemeral:
            if isinstance(container, dict):
                _default_container(container, ephemeral=True)
        result.setdefault("spec", {})["ephemeralContainers"] = ephemeral
        if not ephemeral:
            result["spec"].pop("ephemeralContainers", None)
        return result

    def validate_ephemeral_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        new_by_name = {
            c.get("name"): c
            for c in new.get("spec", {}).get("ephemeralContainers") or []
            if isinstance(c, dict)
        }
        for index, container in enumerate(old.get("spec", {}).get("ephemeralContainers") or []):
            name = container.get("name")
            if name not in new_by_name:
                causes.append(
                    forbidden(
                        "spec.ephemeralContainers",
                        f'existing ephemeral containers "{name}" may not be removed',
                    )
                )
            elif new_by_name[name] != container:
                causes.append(
                    forbidden(
                        f"spec.ephemeralContainers[{index}]",
                        f'existing ephemeral containers "{name}" may not be changed',
                    )
                )
        return causes


def _masked_spec(pod: Obj) -> dict[str, Any]:
    spec = copy.deepcopy(pod.get("spec") or {})
    for key in (
        "activeDeadlineSeconds",
        "tolerations",
        "terminationGracePeriodSeconds",
        "ephemeralContainers",
    ):
        spec.pop(key, None)
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                container.pop("image", None)
    return spec
