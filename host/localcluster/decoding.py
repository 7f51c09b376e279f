"""Decoding a request body as the API server does: unknown fields and malformed quantities.

The real server decodes into typed Go structs, so a field it does not know is dropped (and,
under `fieldValidation=Strict`, refused with 400 "strict decoding error: unknown field ...";
under `Warn`, the default, reported in a `Warning: 299` header), and a quantity that is not a
quantity fails the decode (400 "quantities must match the regular expression ..."). We know the
fields from the official client's generated models (`kubernetes.client.models`), which come
from the same OpenAPI schema; `metadata` of every kind is an `ObjectMeta`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import kubernetes.client.models as models

from host.localcluster import status
from host.localcluster.quantity import InvalidQuantity, parse_quantity
from host.localcluster.resources import ResourceType

_MODELS = {
    "Pod": "V1Pod",
    "Namespace": "V1Namespace",
    "Node": "V1Node",
    "Event": "CoreV1Event",
    "Lease": "V1Lease",
}
_LIST = re.compile(r"^[Ll]ist\[(.+)\]$")
_DICT = re.compile(r"^(?:dict\(str, (.+)\)|Dict\[str, (.+)\])$")
_MAX_REPORTED = 50
# Fields holding quantities, by the model that holds them.
_QUANTITY_MAPS = {
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1PodSpec", "overhead"),
}


@dataclass
class Decoded:
    unknown: list[str] = field(default_factory=list)


@cache
def _fields(model: str) -> dict[str, tuple[str, str]]:
    """json name -> (python attribute, openapi type) of a generated model."""
    cls = getattr(models, model)
    return {json_name: (attr, cls.openapi_types[attr]) for attr, json_name in cls.attribute_map.items()}


def _walk(value: Any, type_name: str, path: str, found: Decoded, owner: tuple[str, str] | None) -> None:
    if owner in _QUANTITY_MAPS and isinstance(value, dict):
        for quantity in value.values():
            try:
                parse_quantity(quantity)
            except InvalidQuantity as exc:
                raise _QuantityError(str(exc)) from None
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


class _QuantityError(Exception):
    pass


def decode(rt: ResourceType, body: Any, field_validation: str) -> list[str]:
    """Check (and clean, in place) a body for `rt`; the Warning header values to send back."""
    model = _MODELS.get(rt.kind)
    if model is None or not isinstance(body, dict):
        return []
    found = Decoded()
    try:
        _walk(body, model, "", found, None)
    except _QuantityError as exc:
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
