"""One model of a Kubernetes resource type, shared by the host's client and the builtin stand-in.

A `Resource` knows its group, version, kind, plural and whether it is namespaced, and builds its
own REST paths (`/api/v1/...` for the core group, `/apis/{group}/{version}/...` for the others).
`WELL_KNOWN` names the built-in kinds workflows read and trigger on most; any other kind (a CRD)
is resolved through the API server's discovery (`host.kube.discovery`).

A kind is written the way workflows declare it: `apiVersion/Kind`, e.g. `"apps/v1/Deployment"`
or `"v1/Node"` (the core group has no group part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from host.errors import WfhostError

_KIND_KEY = re.compile(
    r"^(?:(?P<group>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)/)?"
    r"(?P<version>v[0-9]+(?:(?:alpha|beta)[0-9]+)?)/(?P<kind>[A-Z][A-Za-z0-9]{0,62})$"
)


class BadKind(WfhostError, ValueError):
    """Not a kind in the form `apiVersion/Kind` (e.g. `apps/v1/Deployment`, `v1/Node`)."""


@dataclass(frozen=True, slots=True)
class KindRef:
    """A kind by group, version and kind name, before its plural is known."""

    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """`apps/v1/Deployment`, `v1/Node`: how manifests and grants name the kind."""
        return f"{self.api_version}/{self.kind}"

    def __str__(self) -> str:
        return self.key


def parse_kind(text: str) -> KindRef:
    """`parse_kind("apps/v1/Deployment") == KindRef("apps", "v1", "Deployment")`; BadKind otherwise."""
    match = _KIND_KEY.fullmatch(text) if isinstance(text, str) and len(text) <= 330 else None
    if match is None:
        raise BadKind(
            f"{text!r} is not a kind: write apiVersion/Kind, such as 'apps/v1/Deployment' or 'v1/Node'"
        )
    return KindRef(match["group"] or "", match["version"], match["kind"])


def kind_of(api_version: str, kind: str) -> KindRef:
    """The `KindRef` of an object's `apiVersion` and `kind` fields; BadKind when they are malformed."""
    return parse_kind(f"{api_version}/{kind}")


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource type: what the REST paths, RBAC rules and watch loops need to know."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def ref(self) -> KindRef:
        return KindRef(self.group, self.version, self.kind)

    @property
    def api_version(self) -> str:
        return self.ref.api_version

    @property
    def key(self) -> str:
        """`apps/v1/Deployment`: the kind as manifests, grants and triggers name it."""
        return self.ref.key

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def base_path(self) -> str:
        """`/api/v1` for the core group, `/apis/{group}/{version}` for the others."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The collection (no name) or object path, in one namespace or (no namespace) all of them.

        A cluster-scoped resource ignores `namespace`.
        """
        parts = [self.base_path()]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    @property
    def noun(self) -> str:
        """How messages name one object: `pod` for the core group, `apps/v1/Deployment` otherwise."""
        return self.kind.lower() if not self.group else self.key

    def describe(self, namespace: str | None) -> str:
        if not self.namespaced:
            return self.plural
        return f"{self.plural} in {namespace}" if namespace else f"{self.plural} in all namespaces"


def _r(api_version: str, kind: str, plural: str, *, namespaced: bool = True) -> Resource:
    group, _, version = api_version.rpartition("/")
    return Resource(group=group, version=version, kind=kind, plural=plural, namespaced=namespaced)


PODS = _r("v1", "Pod", "pods")
EVENTS = _r("v1", "Event", "events")
NODES = _r("v1", "Node", "nodes", namespaced=False)
SECRETS = _r("v1", "Secret", "secrets")
CONFIGMAPS = _r("v1", "ConfigMap", "configmaps")
LEASES = _r("coordination.k8s.io/v1", "Lease", "leases")
DEPLOYMENTS = _r("apps/v1", "Deployment", "deployments")
REPLICASETS = _r("apps/v1", "ReplicaSet", "replicasets")
JOBS = _r("batch/v1", "Job", "jobs")
CRONJOBS = _r("batch/v1", "CronJob", "cronjobs")

WELL_KNOWN: dict[str, Resource] = {
    r.key: r
    for r in (
        PODS,
        EVENTS,
        NODES,
        SECRETS,
        CONFIGMAPS,
        LEASES,
        DEPLOYMENTS,
        REPLICASETS,
        JOBS,
        CRONJOBS,
        _r("v1", "Namespace", "namespaces", namespaced=False),
        _r("v1", "Service", "services"),
        _r("v1", "Endpoints", "endpoints"),
        _r("v1", "ServiceAccount", "serviceaccounts"),
        _r("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        _r("v1", "PersistentVolume", "persistentvolumes", namespaced=False),
        _r("v1", "ResourceQuota", "resourcequotas"),
        _r("v1", "LimitRange", "limitranges"),
        _r("v1", "ReplicationController", "replicationcontrollers"),
        _r("apps/v1", "StatefulSet", "statefulsets"),
        _r("apps/v1", "DaemonSet", "daemonsets"),
        _r("apps/v1", "ControllerRevision", "controllerrevisions"),
        _r("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        _r("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        _r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        _r("networking.k8s.io/v1", "Ingress", "ingresses"),
        _r("networking.k8s.io/v1", "IngressClass", "ingressclasses", namespaced=False),
        _r("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        _r("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
        _r("events.k8s.io/v1", "Event", "events"),
        _r("storage.k8s.io/v1", "StorageClass", "storageclasses", namespaced=False),
        _r("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", namespaced=False),
        _r(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            namespaced=False,
        ),
    )
}
