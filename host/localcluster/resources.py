"""The resource types the local cluster serves, with what discovery, selectors and patches need to know."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from host.localcluster import schemas
from host.localcluster.patch import MergeSchema
from host.localcluster.pods import POD_FIELDS, PodStrategy
from host.localcluster.selectors import FieldGetter, path_getter
from host.localcluster.strategies import (
    EventStrategy,
    LeaseStrategy,
    NamespaceStrategy,
    NodeStrategy,
    Strategy,
)

_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    strategy: Strategy
    schema: MergeSchema
    fields: Mapping[str, FieldGetter]
    verbs: tuple[str, ...] = _ALL_VERBS
    short_names: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> str:
        """Resource name unique across groups, used as the store's resource key."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _meta_fields(*extra: tuple[str, FieldGetter]) -> dict[str, FieldGetter]:
    fields: dict[str, FieldGetter] = {
        "metadata.name": path_getter("metadata", "name"),
        "metadata.namespace": path_getter("metadata", "namespace"),
    }
    fields.update(extra)
    return fields


PODS = ResourceType(
    group="",
    version="v1",
    plural="pods",
    singular="pod",
    kind="Pod",
    namespaced=True,
    strategy=PodStrategy(),
    schema=schemas.POD,
    fields=POD_FIELDS,
    short_names=("po",),
    categories=("all",),
    subresources=(
        Subresource("status", "Pod", ("get", "patch", "update")),
        Subresource("ephemeralcontainers", "Pod", ("get", "patch", "update")),
        Subresource("log", "Pod", ("get",)),
        Subresource("exec", "PodExecOptions", ("create", "get")),
    ),
)

NAMESPACES = ResourceType(
    group="",
    version="v1",
    plural="namespaces",
    singular="namespace",
    kind="Namespace",
    namespaced=False,
    strategy=NamespaceStrategy(),
    schema=schemas.NAMESPACE,
    fields={"metadata.name": path_getter("metadata", "name"), "status.phase": path_getter("status", "phase")},
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    short_names=("ns",),
    subresources=(Subresource("status", "Namespace", ("get", "patch", "update")),),
)

NODES = ResourceType(
    group="",
    version="v1",
    plural="nodes",
    singular="node",
    kind="Node",
    namespaced=False,
    strategy=NodeStrategy(),
    schema=schemas.NODE,
    fields={
        "metadata.name": path_getter("metadata", "name"),
        "spec.unschedulable": path_getter("spec", "unschedulable"),
    },
    short_names=("no",),
    subresources=(Subresource("status", "Node", ("get", "patch", "update")),),
)

EVENTS = ResourceType(
    group="",
    version="v1",
    plural="events",
    singular="event",
    kind="Event",
    namespaced=True,
    strategy=EventStrategy(),
    schema=schemas.PLAIN,
    fields=_meta_fields(
        ("involvedObject.kind", path_getter("involvedObject", "kind")),
        ("involvedObject.namespace", path_getter("involvedObject", "namespace")),
        ("involvedObject.name", path_getter("involvedObject", "name")),
        ("involvedObject.uid", path_getter("involvedObject", "uid")),
        ("involvedObject.apiVersion", path_getter("involvedObject", "apiVersion")),
        ("involvedObject.resourceVersion", path_getter("involvedObject", "resourceVersion")),
        ("involvedObject.fieldPath", path_getter("involvedObject", "fieldPath")),
        ("reason", path_getter("reason")),
        ("reportingComponent", path_getter("reportingComponent")),
        ("source", path_getter("source", "component")),
        ("type", path_getter("type")),
    ),
    short_names=("ev",),
)

LEASES = ResourceType(
    group="coordination.k8s.io",
    version="v1",
    plural="leases",
    singular="lease",
    kind="Lease",
    namespaced=True,
    strategy=LeaseStrategy(),
    schema=schemas.PLAIN,
    fields=_meta_fields(),
)

ALL: tuple[ResourceType, ...] = (PODS, NAMESPACES, NODES, EVENTS, LEASES)


def find(group: str, version: str, plural: str) -> ResourceType | None:
    for resource in ALL:
        if resource.group == group and resource.version == version and resource.plural == plural:
            return resource
    return None


def groups() -> dict[str, list[str]]:
    """Named API groups and their versions (the core group is served under /api)."""
    found: dict[str, list[str]] = {}
    for resource in ALL:
        if resource.group and resource.version not in found.setdefault(resource.group, []):
            found[resource.group].append(resource.version)
    return found
