"""What a workflow may call: the intersection of what it declares and what the operator grants.

Checked in the host on every call. The guest's own checks are a courtesy and count for nothing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from host.capabilities.reads import ReadGrant, ReadPolicy, read_grant
from host.config import Capability, HostConfig
from host.errors import CapabilityDenied
from host.model import vocabulary
from host.model.manifest import Manifest
from host.rpc import ErrorCode, RpcError

# Which capability each guest → host method needs, and the audited ones: see host.model.vocabulary.
METHOD_CAPABILITY = vocabulary.METHOD_CAPABILITY
PRIVILEGED = vocabulary.PRIVILEGED

# Kinds that live outside any namespace: a grant limited to namespaces never covers them.
CLUSTER_SCOPED_KINDS = frozenset(k.lower() for k in (
    "Node", "Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "RuntimeClass", "APIService", "CSIDriver", "CSINode",
    "VolumeAttachment", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "IngressClass",
    "CertificateSigningRequest", "ComponentStatus", "FlowSchema", "PriorityLevelConfiguration",
))


@dataclass(frozen=True)
class Grant:
    """What the operator allows one workflow: capabilities, namespaces (empty = all), params, extra triggers."""

    capabilities: frozenset[str]
    namespaces: frozenset[str] = frozenset()
    params: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[Any, ...] = ()
    source: str = "default"
    reads: ReadGrant = field(default_factory=ReadGrant)


@dataclass(frozen=True)
class Policy:
    workflow: str
    declared: frozenset[str]
    granted: Grant
    declared_reads: frozenset[str] = frozenset()

    @property
    def reads(self) -> ReadPolicy:
        """Which kinds this workflow may read (`host.capabilities.reads`)."""
        return ReadPolicy(self.workflow, self.declared_reads, self.granted.reads)

    @property
    def effective(self) -> frozenset[str]:
        return self.declared & self.granted.capabilities

    def allows_namespace(self, namespace: str | None) -> bool:
        return not self.granted.namespaces or namespace in self.granted.namespaces

    def check(self, method: str, *, namespace: str | None) -> Capability:
        """Return the capability `method` needs, or raise `CapabilityDenied` saying why."""
        cap = METHOD_CAPABILITY.get(method)
        if cap is None:
            raise RpcError(ErrorCode.METHOD_NOT_FOUND, f"no such capability method: {method}")
        if cap not in self.declared:
            raise CapabilityDenied(
                f"{method} needs capability {cap}, which {self.workflow} does not declare",
                {"capability": cap, "reason": "not_declared"},
            )
        if cap not in self.granted.capabilities:
            raise CapabilityDenied(
                f"{method} needs capability {cap}, which the operator has not granted to {self.workflow}",
                {"capability": cap, "reason": "not_granted"},
            )
        if namespace is not None and not self.allows_namespace(namespace):
            raise CapabilityDenied(
                f"{self.workflow} may not act in namespace {namespace!r}",
                {"capability": cap, "reason": "namespace", "namespace": namespace},
            )
        return cap

    def check_target(self, method: str, *, namespace: str | None, kind: str | None) -> None:
        """Fail closed: under a grant limited to namespaces, a call must name a namespaced target in one
        of them. A missing, null or empty namespace, or a cluster-scoped kind, is denied."""
        if not self.granted.namespaces:
            return
        cap = METHOD_CAPABILITY.get(method, method)
        if kind is not None and kind.lower() in CLUSTER_SCOPED_KINDS:
            raise CapabilityDenied(
                f"{self.workflow} may act only in namespaces {sorted(self.granted.namespaces)}; "
                f"a {kind} is cluster-scoped",
                {"capability": cap, "reason": "namespace", "namespace": namespace, "kind": kind},
            )
        if not namespace:
            raise CapabilityDenied(
                f"{self.workflow} may act only in namespaces {sorted(self.granted.namespaces)}; "
                f"{method} names no namespace",
                {"capability": cap, "reason": "namespace", "namespace": namespace},
            )
        self.check(method, namespace=namespace)


def declared_grant(manifest: Manifest, *, source: str) -> Grant:
    """Grant exactly what a workflow declares: the author's own loop (`invoke`, `check`) and built-ins
    without a settings entry."""
    return Grant(
        capabilities=frozenset(manifest.capabilities), source=source,
        reads=read_grant(manifest.reads, source=source),
    )


def custom_grant(config: HostConfig, workflow: str, *, file: str | None = None) -> Grant:
    """The grant for a custom workflow: the first `grants` entry whose name glob and (if it has one)
    file glob both match, else the default. `file` is the path relative to the custom directory."""
    ts = config.custom_workflows.typescript
    for g in ts.grants:
        if g.file is not None and (file is None or not fnmatch.fnmatchcase(file, g.file)):
            continue
        if fnmatch.fnmatchcase(workflow, g.workflow):
            source = f"grant {g.workflow}" + (f" file {g.file}" if g.file else "")
            return Grant(
                capabilities=frozenset(g.capabilities),
                namespaces=frozenset(g.namespaces),
                params=dict(g.params),
                triggers=tuple(g.triggers),
                source=source,
                reads=read_grant(
                    g.reads if g.reads is not None else ts.default_reads, g.config_map_data,
                    source=source + (" reads" if g.reads is not None else " (customWorkflows.typescript.defaultReads)"),
                ),
            )
    return Grant(
        capabilities=frozenset(ts.default_capabilities), source="customWorkflows.typescript.defaultCapabilities",
        reads=read_grant(ts.default_reads, source="customWorkflows.typescript.defaultReads"),
    )
