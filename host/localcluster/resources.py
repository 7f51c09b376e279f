"""The resource types the local cluster serves, with what discovery, selectors and patches need to know.

Each `ResourceType` is built on the host's one resource model, `host.model.resources.Resource`
(group, version, kind, plural, scope and the REST paths), taken from its `WELL_KNOWN` table, so
the client and the stand-in cannot disagree about a kind. What only a server needs rides along:
the singular name, short names and categories discovery shows, the registry strategy, the
strategic-merge schema, the selectable fields, the verbs and the subresources.

The stand-in runs no controllers: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
CronJobs, HorizontalPodAutoscalers and the rest are stored and served as the API server stores
them (defaults, validation, status and generation rules), and nothing acts on them. Tests
create and update them, status included, directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from host.localcluster import kinds, schemas
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
from host.model import resources as kube
from host.model.resources import Resource

_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# How the real server words a fieldSelector on a field it does not support. Core kinds with
# their own field set use the first; kinds that support only metadata.name/namespace the second.
FIELD_LABEL_NOT_SUPPORTED = "field label not supported: {name}"
NOT_A_KNOWN_FIELD_SELECTOR = (
    '"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"'
)


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]


_STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """A served kind: the shared `Resource` plus what only the server needs."""

    resource: Resource
    singular: str
    strategy: Strategy
    schema: MergeSchema
    fields: Mapping[str, FieldGetter]
    verbs: tuple[str, ...] = _ALL_VERBS
    short_names: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = field(default=())
    # The message of a 400 for an unsupported fieldSelector field; `{name}` is the field.
    field_label_error: str = FIELD_LABEL_NOT_SUPPORTED
    # DELETE answers with the object (the API server's ReturnDeletedObject) instead of a Status.
    returns_deleted_object: bool = False

    @property
    def group(self) -> str:
        return self.resource.group

    @property
    def version(self) -> str:
        return self.resource.version

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def plural(self) -> str:
        return self.resource.plural

    @property
    def namespaced(self) -> bool:
        return self.resource.namespaced

    @property
    def api_version(self) -> str:
        return self.resource.api_version

    @property
    def key(self) -> str:
        """`apps/v1/Deployment`: the shared model's name for the kind."""
        return self.resource.key

    @property
    def list_kind(self) -> str:
        return self.resource.list_kind

    @property
    def store_key(self) -> str:
        """Resource name unique across groups, used as the store's resource key."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path of the collection or of one object (see `Resource.path`)."""
        return self.resource.path(namespace, name, subresource)

    def has_subresource(self, name: str) -> bool:
        return any(sub.name == name for sub in self.subresources)


def _meta_fields(*extra: tuple[str, FieldGetter]) -> dict[str, FieldGetter]:
    fields: dict[str, FieldGetter] = {
        "metadata.name": path_getter("metadata", "name"),
        "metadata.namespace": path_getter("metadata", "namespace"),
    }
    fields.update(extra)
    return fields


def _well_known(key: str) -> Resource:
    return kube.WELL_KNOWN[key]


def _status(kind: str) -> tuple[Subresource, ...]:
    return (Subresource("status", kind, _STATUS_VERBS),)


PODS = ResourceType(
    resource=kube.PODS,
    singular="pod",
    strategy=PodStrategy(),
    schema=schemas.POD,
    fields=POD_FIELDS,
    short_names=("po",),
    categories=("all",),
    subresources=(
        Subresource("status", "Pod", _STATUS_VERBS),
        Subresource("ephemeralcontainers", "Pod", _STATUS_VERBS),
        Subresource("log", "Pod", ("get",)),
        Subresource("exec", "PodExecOptions", ("create", "get")),
    ),
    returns_deleted_object=True,
)

NAMESPACES = ResourceType(
    resource=_well_known("v1/Namespace"),
    singular="namespace",
    strategy=NamespaceStrategy(),
    schema=schemas.NAMESPACE,
    fields={"metadata.name": path_getter("metadata", "name"), "status.phase": path_getter("status", "phase")},
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    short_names=("ns",),
    subresources=_status("Namespace"),
    returns_deleted_object=True,
)

NODES = ResourceType(
    resource=kube.NODES,
    singular="node",
    strategy=NodeStrategy(),
    schema=schemas.NODE,
    fields={
        "metadata.name": path_getter("metadata", "name"),
        "spec.unschedulable": path_getter("spec", "unschedulable"),
    },
    short_names=("no",),
    subresources=_status("Node"),
)

EVENTS = ResourceType(
    resource=kube.EVENTS,
    singular="event",
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
    resource=kube.LEASES,
    singular="lease",
    strategy=LeaseStrategy(),
    schema=schemas.PLAIN,
    fields=_meta_fields(),
    field_label_error=NOT_A_KNOWN_FIELD_SELECTOR,
)

# -- kinds stored as plain objects (no controller acts on them) ------------------------------


def _stored(
    key: str,
    singular: str,
    strategy: Strategy,
    schema: MergeSchema,
    *,
    short_names: tuple[str, ...] = (),
    fields: Mapping[str, FieldGetter] | None = None,
    field_label_error: str = NOT_A_KNOWN_FIELD_SELECTOR,
    all_category: bool = False,
    returns_deleted_object: bool = False,
) -> ResourceType:
    resource = _well_known(key)
    return ResourceType(
        resource=resource,
        singular=singular,
        strategy=strategy,
        schema=schema,
        fields=fields if fields is not None else _meta_fields(),
        short_names=short_names,
        subresources=_status(resource.kind) if strategy.has_status else (),
        categories=("all",) if all_category else (),
        field_label_error=field_label_error,
        returns_deleted_object=returns_deleted_object,
    )


DEPLOYMENTS = _stored(
    "apps/v1/Deployment",
    "deployment",
    kinds.DeploymentStrategy(),
    schemas.DEPLOYMENT,
    short_names=("deploy",),
    all_category=True,
)
REPLICASETS = _stored(
    "apps/v1/ReplicaSet",
    "replicaset",
    kinds.ReplicaSetStrategy(),
    schemas.REPLICASET,
    short_names=("rs",),
    all_category=True,
)
STATEFULSETS = _stored(
    "apps/v1/StatefulSet",
    "statefulset",
    kinds.StatefulSetStrategy(),
    schemas.STATEFULSET,
    short_names=("sts",),
    all_category=True,
)
DAEMONSETS = _stored(
    "apps/v1/DaemonSet",
    "daemonset",
    kinds.DaemonSetStrategy(),
    schemas.DAEMONSET,
    short_names=("ds",),
    all_category=True,
)
JOBS = _stored(
    "batch/v1/Job",
    "job",
    kinds.JobStrategy(),
    schemas.JOB,
    # The real server renders the int32 `status.succeeded`, so a Job without successes is "0".
    fields=_meta_fields(
        ("status.successful", lambda job: str((job.get("status") or {}).get("succeeded") or 0))
    ),
    field_label_error='field label "{name}" not supported for Job',
    all_category=True,
)
CRONJOBS = _stored(
    "batch/v1/CronJob",
    "cronjob",
    kinds.CronJobStrategy(),
    schemas.CRONJOB,
    short_names=("cj",),
    all_category=True,
)
CONFIGMAPS = _stored(
    "v1/ConfigMap", "configmap", kinds.ConfigMapStrategy(), schemas.PLAIN, short_names=("cm",)
)
SECRETS = _stored(
    "v1/Secret",
    "secret",
    kinds.SecretStrategy(),
    schemas.PLAIN,
    fields=_meta_fields(("type", path_getter("type"))),
    field_label_error=FIELD_LABEL_NOT_SUPPORTED,
)
SERVICES = _stored(
    "v1/Service",
    "service",
    kinds.ServiceStrategy(),
    schemas.SERVICE,
    short_names=("svc",),
    fields=_meta_fields(
        ("spec.clusterIP", path_getter("spec", "clusterIP")),
        ("spec.type", path_getter("spec", "type")),
    ),
    field_label_error=FIELD_LABEL_NOT_SUPPORTED,
    all_category=True,
    returns_deleted_object=True,
)
PERSISTENTVOLUMECLAIMS = _stored(
    "v1/PersistentVolumeClaim",
    "persistentvolumeclaim",
    kinds.PersistentVolumeClaimStrategy(),
    schemas.PERSISTENTVOLUMECLAIM,
    short_names=("pvc",),
    returns_deleted_object=True,
)
SERVICEACCOUNTS = _stored(
    "v1/ServiceAccount",
    "serviceaccount",
    kinds.ServiceAccountStrategy(),
    schemas.SERVICEACCOUNT,
    short_names=("sa",),
)
INGRESSES = _stored(
    "networking.k8s.io/v1/Ingress",
    "ingress",
    kinds.IngressStrategy(),
    schemas.PLAIN,
    short_names=("ing",),
)
NETWORKPOLICIES = _stored(
    "networking.k8s.io/v1/NetworkPolicy",
    "networkpolicy",
    kinds.NetworkPolicyStrategy(),
    schemas.PLAIN,
    short_names=("netpol",),
)
PODDISRUPTIONBUDGETS = _stored(
    "policy/v1/PodDisruptionBudget",
    "poddisruptionbudget",
    kinds.PodDisruptionBudgetStrategy(),
    schemas.WITH_STATUS_CONDITIONS,
    short_names=("pdb",),
)
HORIZONTALPODAUTOSCALERS = _stored(
    "autoscaling/v2/HorizontalPodAutoscaler",
    "horizontalpodautoscaler",
    kinds.HorizontalPodAutoscalerStrategy(),
    schemas.WITH_STATUS_CONDITIONS,
    short_names=("hpa",),
    all_category=True,
)

ALL: tuple[ResourceType, ...] = (
    PODS,
    NAMESPACES,
    NODES,
    EVENTS,
    LEASES,
    CONFIGMAPS,
    SECRETS,
    SERVICES,
    PERSISTENTVOLUMECLAIMS,
    SERVICEACCOUNTS,
    DEPLOYMENTS,
    REPLICASETS,
    STATEFULSETS,
    DAEMONSETS,
    JOBS,
    CRONJOBS,
    INGRESSES,
    NETWORKPOLICIES,
    PODDISRUPTIONBUDGETS,
    HORIZONTALPODAUTOSCALERS,
)

BY_KEY: dict[str, ResourceType] = {rt.key: rt for rt in ALL}
_BY_PATH: dict[tuple[str, str, str], ResourceType] = {(rt.group, rt.version, rt.plural): rt for rt in ALL}


def find(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def served(resource: Resource) -> ResourceType | None:
    """The stand-in's type for a `Resource` of the shared model, if the stand-in serves it."""
    rt = BY_KEY.get(resource.key)
    return rt if rt is not None and rt.resource == resource else None


def groups() -> dict[str, list[str]]:
    """Named API groups and their versions (the core group is served under /api)."""
    found: dict[str, list[str]] = {}
    for resource in ALL:
        if resource.group and resource.version not in found.setdefault(resource.group, []):
            found[resource.group].append(resource.version)
    return found
