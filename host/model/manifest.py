"""A workflow's manifest, as the guest declares it in answer to `initialize`."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from host.model.base import WireModel
from host.model.resources import BadKind, parse_kind
from host.model.vocabulary import Capability, EventKind

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


GENERIC_TRIGGERS = frozenset({"k8s.create", "k8s.update", "k8s.delete"})
MAX_READS = 64


def check_kind(text: str) -> str:
    """The kind in canonical `apiVersion/Kind` form, or ValueError saying how to write one."""
    try:
        return parse_kind(text).key
    except BadKind as exc:
        raise ValueError(str(exc)) from None


class TriggerSpec(WireModel):
    on: EventKind
    namespaces: list[str] = Field(default_factory=list)
    label_selector: str | None = None
    name_pattern: str | None = None
    schedule: str | None = None
    resource: str | None = Field(default=None, description="For k8s.create/update/delete: apiVersion/Kind.")

    @model_validator(mode="after")
    def _resource_only_for_changes(self) -> TriggerSpec:
        if self.on in GENERIC_TRIGGERS:
            if not self.resource:
                raise ValueError(f"a {self.on} trigger needs resource, e.g. 'apps/v1/Deployment'")
            self.resource = check_kind(self.resource)
        elif self.resource is not None:
            raise ValueError(f"only k8s.create/update/delete triggers take resource, not {self.on}")
        return self


class ParamSpec(WireModel):
    type: Literal["string", "number", "integer", "boolean"]
    default: Any = None
    description: str | None = None
    enum: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None


class Manifest(WireModel):
    name: str = Field(description="1-63 letters, digits and ._-, unique across loaded workflows.")
    description: str | None = None
    triggers: list[TriggerSpec] = Field(default_factory=list)
    capabilities: list[Capability] = Field(default_factory=list)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    reads: list[str] = Field(
        default_factory=list, max_length=MAX_READS,
        description="Kinds beyond pods and events that k8s.get/list/owners may read, as apiVersion/Kind.",
    )

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        if not NAME_RE.fullmatch(self.name):
            raise ValueError(f"name {self.name!r} must be 1-63 letters, digits, '.', '_' or '-'")
        self.reads = list(dict.fromkeys(check_kind(kind) for kind in self.reads))
        for pname, spec in self.params.items():
            if spec.default is not None:
                coerce_param(pname, spec, spec.default)
        return self


def coerce_param(name: str, spec: ParamSpec, value: Any) -> Any:
    """Turn a value (from config, the API or `--param k=v` text) into the declared type, or raise ValueError."""
    if isinstance(value, str) and spec.type != "string":
        text = value.strip()
        try:
            if spec.type == "boolean":
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = text.lower() in ("true", "1", "yes")
            elif spec.type == "integer":
                value = int(text)
            else:
                value = float(text)
        except ValueError as exc:
            raise ValueError(f"param {name}: {value!r} is not a {spec.type}") from exc
    if spec.type == "boolean" and not isinstance(value, bool):
        raise ValueError(f"param {name}: expected a boolean, got {value!r}")
    if spec.type == "string" and not isinstance(value, str):
        raise ValueError(f"param {name}: expected a string, got {value!r}")
    if spec.type in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"param {name}: expected a {spec.type}, got {value!r}")
        if spec.type == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"param {name}: expected an integer, got {value!r}")
            value = int(value)
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"param {name}: {value} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"param {name}: {value} is above the maximum {spec.maximum:g}")
    if spec.enum is not None and value not in spec.enum:
        raise ValueError(f"param {name}: {value!r} is not one of {spec.enum}")
    return value


def resolve_params(manifest: Manifest, *layers: dict[str, Any]) -> dict[str, Any]:
    """Defaults from the manifest, overridden by each layer in turn; unknown names are refused."""
    values = {k: s.default for k, s in manifest.params.items() if s.default is not None}
    for layer in layers:
        for key, raw in layer.items():
            spec = manifest.params.get(key)
            if spec is None:
                known = ", ".join(sorted(manifest.params)) or "none"
                raise ValueError(f"param {key}: {manifest.name} declares no such param (known: {known})")
            values[key] = coerce_param(key, spec, raw)
    return values
