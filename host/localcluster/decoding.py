"""Decoding a request body as the API server does: unknown fields, quantities, base64 bytes.

The real server decodes into typed Go structs, so a field it does not know is dropped (and,
under `fieldValidation=Strict`, refused with 400 "strict decoding error: unknown field ...";
under `Warn`, the default, reported in a `Warning: 299` header), a quantity that is not a
quantity fails the decode (400 "quantities must match the regular expression ..."), and so does
a `[]byte` field (a Secret's `data`, a ConfigMap's `binaryData`) that is not standard base64
(400 "illegal base64 data at input byte N", N as Go's decoder counts it). We know the fields
from the official client's generated models (`kubernetes.client.models`), which come from the
same OpenAPI schema; `metadata` of every kind is an `ObjectMeta`. Patches are decoded too: the
patched object, as the real server decodes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import kubernetes.client.models as models

from host.errors import WfhostError
from host.localcluster import status
from host.localcluster.quantity import InvalidQuantity, parse_quantity
from host.localcluster.resources import ResourceType

# The generated model of each served kind, by the shared model's key (`apps/v1/Deployment`).
_MODELS = {
    "v1/Pod": "V1Pod",
    "v1/Namespace": "V1Namespace",
    "v1/Node": "V1Node",
    "v1/Event": "CoreV1Event",
    "coordination.k8s.io/v1/Lease": "V1Lease",
    "v1/ConfigMap": "V1ConfigMap",
    "v1/Secret": "V1Secret",
    "v1/Service": "V1Service",
    "v1/PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "v1/ServiceAccount": "V1ServiceAccount",
    "apps/v1/Deployment": "V1Deployment",
    "apps/v1/ReplicaSet": "V1ReplicaSet",
    "apps/v1/StatefulSet": "V1StatefulSet",
    "apps/v1/DaemonSet": "V1DaemonSet",
    "batch/v1/Job": "V1Job",
    "batch/v1/CronJob": "V1CronJob",
    "networking.k8s.io/v1/Ingress": "V1Ingress",
    "networking.k8s.io/v1/NetworkPolicy": "V1NetworkPolicy",
    "policy/v1/PodDisruptionBudget": "V1PodDisruptionBudget",
    "autoscaling/v2/HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
}
_LIST = re.compile(r"^[Ll]ist\[(.+)\]$")
_DICT = re.compile(r"^(?:dict\(str, (.+)\)|Dict\[str, (.+)\])$")
_MAX_REPORTED = 50
# Fields holding quantities, by the model that holds them: maps of quantities, and quantities.
_QUANTITY_MAPS = {
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1PodSpec", "overhead"),
    ("V1VolumeResourceRequirements", "limits"),
    ("V1VolumeResourceRequirements", "requests"),
    ("V1PersistentVolumeClaimStatus", "capacity"),
    ("V1PersistentVolumeClaimStatus", "allocatedResources"),
}
_QUANTITIES = {
    ("V2MetricTarget", "averageValue"),
    ("V2MetricTarget", "value"),
    ("V2MetricValueStatus", "averageValue"),
    ("V2MetricValueStatus", "value"),
}
# The generated models' type of a map of `[]byte` (base64 in JSON).
_BYTES_MAP = "Dict[str, bytes]"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_JSON_TYPES = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}


@dataclass
class Decoded:
    kind: str = ""
    unknown: list[str] = field(default_factory=list)


@cache
def _fields(model: str) -> dict[str, tuple[str, str]]:
    """json name -> (python attribute, openapi type) of a generated model."""
    cls = getattr(models, model)
    return {json_name: (attr, cls.openapi_types[attr]) for attr, json_name in cls.attribute_map.items()}


def base64_error(text: str) -> str | None:
    """Why Go's `base64.StdEncoding` refuses `text` ("illegal base64 data at input byte N"), or None.

    A port of `encoding/base64`'s quantum decoder: padding required, newlines skipped."""
    size = len(text)
    si = 0
    while True:
        j = 0
        while j < 4:
            if si == size:
                if j == 0:
                    return None
                return f"illegal base64 data at input byte {si - j}"
            char = text[si]
            si += 1
            if char in _B64:
                j += 1
                continue
            if char in "\n\r":
                continue
            if char != "=":
                return f"illegal base64 data at input byte {si - 1}"
            if j in (0, 1):
                return f"illegal base64 data at input byte {si - 1}"
            if j == 2:
                while si < size and text[si] in "\n\r":
                    si += 1
                if si == size:
                    return f"illegal base64 data at input byte {size}"
                if text[si] != "=":
                    return f"illegal base64 data at input byte {si - 1}"
                si += 1
            while si < size and text[si] in "\n\r":
                si += 1
            if si < size:
                return f"illegal base64 data at input byte {si}"
            return None


def _check_bytes(values: dict[Any, Any], where: str) -> None:
    for item in values.values():
        if item is None:
            continue
        if not isinstance(item, str):
            json_type = _JSON_TYPES.get(type(item), "value")
            raise _DecodeError(
                f"json: cannot unmarshal {json_type} into Go struct field {where} of type []uint8"
            )
        problem = base64_error(item)
        if problem is not None:
            raise _DecodeError(problem)


def _walk(value: Any, type_name: str, path: str, found: Decoded, owner: tuple[str, str] | None) -> None:
    if owner in _QUANTITY_MAPS and isinstance(value, dict):
        for quantity in value.values():
            _check_quantity(quantity)
        return
    if owner in _QUANTITIES and value is not None:
        _check_quantity(value)
        return
    if type_name == _BYTES_MAP and isinstance(value, dict):
        _check_bytes(value, f"{found.kind}.{path}")
        return
    if (match := _LIST.match(type_name)) is not None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                _walk(item, match.group(1), f"{path}[{index}]", found, None)
        return
    if (match := _DICT.match(type_name)) is not None:
        if isinstance(value, dict):
            for key, item in value.items():
                _walk(item, match.group(1) or match.group(2), f"{path}[{key}]", found, None)
        return
    if not hasattr(models, type_name) or not isinstance(value, dict):
        return
    fields = _fields(type_name)
    for key in list(value):
        child = f"{path}.{key}" if path else key
        if key not in fields:
            found.unknown.append(child)
            del value[key]  # the typed decode drops it
            continue
        _walk(value[key], fields[key][1], child, found, (type_name, key))


def _check_quantity(quantity: Any) -> None:
    try:
        parse_quantity(quantity)
    except InvalidQuantity as exc:
        raise _DecodeError(str(exc)) from None


class _DecodeError(WfhostError):
    """The body does not decode into the kind's typed form (a 400, like the real server's)."""


def decode(rt: ResourceType, body: Any, field_validation: str) -> list[str]:
    """Check (and clean, in place) a body for `rt`; the Warning header values to send back."""
    model = _MODELS.get(rt.key)
    if model is None or not isinstance(body, dict):
        return []
    found = Decoded(kind=rt.kind)
    try:
        _walk(body, model, "", found, None)
    except _DecodeError as exc:
        raise status.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {exc}'
        ) from None
    for top in ("apiVersion", "kind"):
        if top in found.unknown:
            found.unknown.remove(top)
    if not found.unknown or field_validation == "Ignore":
        return []
    unknown = [f'unknown field "{name}"' for name in found.unknown[:_MAX_REPORTED]]
    if field_validation == "Strict":
        raise status.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: '
            + ", ".join(unknown)
        )
    return [f'299 - "{text.replace(chr(34), chr(92) + chr(34))}"' for text in unknown]
