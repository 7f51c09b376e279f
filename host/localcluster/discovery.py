"""Discovery documents: /version, /api, /api/v1, /apis and each group's resource list.

Built from `host.localcluster.resources.ALL`: every served kind (core/v1, apps/v1, batch/v1,
coordination.k8s.io/v1, networking.k8s.io/v1, policy/v1, autoscaling/v2) with its singular
name, short names, categories, verbs and subresources, as kube-apiserver lists them, so the
official client and kubectl (`api-resources`, `get deploy`, `get all`) find them. Aggregated
discovery (`apidiscovery.k8s.io/v2`) is not offered: the documents are plain JSON, and kubectl
and client-go fall back to these legacy documents when the answer is not the aggregated type.
"""

from __future__ import annotations

import hashlib
import platform
from typing import Any

from host.localcluster import resources

SERVER_MAJOR = "1"
SERVER_MINOR = "37"
GIT_VERSION = f"v{SERVER_MAJOR}.{SERVER_MINOR}.0-localcluster"


def version() -> dict[str, Any]:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {
        "major": SERVER_MAJOR,
        "minor": SERVER_MINOR,
        "emulationMajor": SERVER_MAJOR,
        "emulationMinor": SERVER_MINOR,
        "minCompatibilityMajor": SERVER_MAJOR,
        "minCompatibilityMinor": str(int(SERVER_MINOR) - 1),
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": f"linux/{arch}",
    }


def core_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in sorted(resources.groups().items())],
    }


def group(name: str) -> dict[str, Any] | None:
    versions = resources.groups().get(name)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(group_name: str, version_name: str) -> dict[str, Any] | None:
    entries: list[dict[str, Any]] = []
    for resource in resources.ALL:
        if resource.group != group_name or resource.version != version_name:
            continue
        entry: dict[str, Any] = {
            "name": resource.plural,
            "singularName": resource.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": list(resource.verbs),
            "storageVersionHash": hashlib.sha256(resource.store_key.encode()).hexdigest()[:12],
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        if resource.categories:
            entry["categories"] = list(resource.categories)
        entries.append(entry)
        for sub in resource.subresources:
            entries.append(
                {
                    "name": f"{resource.plural}/{sub.name}",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": sub.kind,
                    "verbs": list(sub.verbs),
                }
            )
    if not entries:
        return None
    group_version = f"{group_name}/{version_name}" if group_name else version_name
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }
