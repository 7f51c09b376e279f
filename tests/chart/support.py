"""Renders the wfhost chart with Helm's own engine and gives tests a view of the result.

Rendering goes through `helm_python` (Helm's Go SDK behind a C ABI), so templates,
values coalescing and values.schema.json checks behave exactly as in `helm install`.
Values files are parsed by Helm's YAML reader too, so YAML 1.1 quirks (an unquoted `on:`
key becoming `true`) show up here as they would for an operator.
Renders are cached per scenario: each test module asks for the same few.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from host.config import HostConfig, parse_config

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "charts" / "wfhost"
CI_DIR = CHART_DIR / "ci"
RELEASE = "tools"
NAMESPACE = "observability"
KUBE_VERSION = "1.33.0"

SCENARIOS = ["default", *sorted(p.name.removesuffix("-values.yaml") for p in CI_DIR.glob("*-values.yaml"))]

CLUSTER_SCOPED_KINDS = {"ClusterRole", "ClusterRoleBinding"}


@functools.cache
def chart() -> helm.Chart:
    """The chart, loaded once per test session."""
    return helm.Chart.load(CHART_DIR)


def scenario_values(scenario: str) -> dict[str, Any]:
    """The values of a scenario, read from its ci file the way `helm -f` reads it."""
    if scenario == "default":
        return {}
    return helm.values_from_yaml((CI_DIR / f"{scenario}-values.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Rendered:
    """The manifests of one render, parsed."""

    files: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [obj for obj in self.of_kind(kind) if name is None or obj["metadata"]["name"] == name]
        assert len(found) == 1, (
            f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
        )
        return found[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        return found[0] if found else None

    @property
    def deployment(self) -> dict[str, Any]:
        return self.one("Deployment")

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> dict[str, Any]:
        containers: list[dict[str, Any]] = self.pod_spec["containers"]
        assert len(containers) == 1
        return containers[0]

    def volume(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.pod_spec.get("volumes", []) if v["name"] == name), None)

    def mount(self, name: str) -> dict[str, Any] | None:
        return next((m for m in self.container.get("volumeMounts", []) if m["name"] == name), None)

    @property
    def config_text(self) -> str:
        """The host's config.yaml as the chart renders it."""
        config_map = self.one("ConfigMap", fullname())
        text: str = config_map["data"]["config.yaml"]
        return text

    @property
    def host_config(self) -> HostConfig:
        """The rendered config.yaml, parsed by the host's own config model."""
        return parse_config(yaml.safe_load(self.config_text), source="rendered config.yaml")

    def rbac_rules(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(role, rule) for every rule of every Role and ClusterRole."""
        for role in [*self.of_kind("ClusterRole"), *self.of_kind("Role")]:
            for rule in role.get("rules", []):
                yield role, rule

    def granted(self, resource: str, verb: str) -> list[tuple[str, str | None, str]]:
        """(kind, namespace, name) of every role granting `verb` on `resource`."""
        return [
            (role["kind"], role["metadata"].get("namespace"), role["metadata"]["name"])
            for role, rule in self.rbac_rules()
            if resource in rule.get("resources", []) and verb in rule.get("verbs", [])
        ]

    def bindings_to(self, role_kind: str, role_name: str) -> list[dict[str, Any]]:
        return [
            binding
            for binding in [*self.of_kind("ClusterRoleBinding"), *self.of_kind("RoleBinding")]
            if binding["roleRef"]
            == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}
        ]


def fullname(release: str = RELEASE) -> str:
    return f"{release}-wfhost"


def render(
    values: dict[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
) -> Rendered:
    """Render the chart offline; raises helm_python.HelmError when values or templates fail."""
    return _render_cached(json.dumps(values or {}, sort_keys=True), release, namespace)


@functools.cache
def _render_cached(values_json: str, release: str, namespace: str) -> Rendered:
    files = chart().render(json.loads(values_json), name=release, namespace=namespace, is_install=True)
    objects = [
        doc
        for path, text in sorted(files.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return Rendered(files=files, objects=objects)


def render_scenario(scenario: str) -> Rendered:
    return render(scenario_values(scenario))


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge values layers, later ones winning (as several `-f` files do)."""
    result: dict[str, Any] = {}
    for layer in layers:
        result = _merge(result, layer)
    return result


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
