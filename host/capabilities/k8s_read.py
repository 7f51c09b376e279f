"""The `k8s.read` capability: get, list and owners of any kind; getPod, listPods, podLogs, events.

`k8s.get` / `k8s.list` return objects as the API server sent them (minus `metadata.managedFields`),
for every kind the workflow may read (`host.capabilities.reads`: declared and granted; never
Secrets; ConfigMap data only by name). `k8s.owners` walks the controller `ownerReferences` up
from an object (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob), checking the read policy
at every hop. Namespaces are scoped by the grant as for every call (`host.capabilities.router`).
Kubernetes API errors and policy refusals propagate as they are; the router turns them into the
guest's error codes (`host.rpc.guest_error`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, model_validator

from host.capabilities.context import CallContext
from host.capabilities.params import K8S_NAME, CallParams, PodRef
from host.capabilities.router import CapabilityRouter
from host.errors import CapabilityDenied, NotFound
from host.kube.client import KubeClient
from host.kube.discovery import KindResolver, UnknownKind
from host.model.resources import BadKind, Resource, kind_of
from host.rpc import ErrorCode, RpcError
from host.sources.normalize import normalize_k8s_event, normalize_pod
from host.sources.objects import without_managed_fields

MAX_LOG_BYTES = 512 << 10
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 500
# A list reply stops growing past this many bytes of objects (the guest reads one JSON line).
LIST_REPLY_BUDGET = 768 << 10
MAX_OWNER_DEPTH = 8
API_VERSION = r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"
KIND = r"^[A-Z][A-Za-z0-9]{0,62}$"


class ObjectRef(CallParams):
    """`{apiVersion, kind, namespace?, name}`; a whole object is accepted too (its metadata is read)."""

    api_version: str = Field(pattern=API_VERSION, max_length=320)
    kind: str = Field(pattern=KIND)
    namespace: str | None = Field(default=None, pattern=K8S_NAME, max_length=63)
    name: str = Field(pattern=K8S_NAME, max_length=253)

    @model_validator(mode="before")
    @classmethod
    def _from_object(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "name" not in raw and isinstance(raw.get("metadata"), dict):
            meta = raw["metadata"]
            return {"apiVersion": raw.get("apiVersion"), "kind": raw.get("kind"),
                    "namespace": meta.get("namespace"), "name": meta.get("name")}
        return raw

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.kind


class ListObjects(CallParams):
    api_version: str = Field(pattern=API_VERSION, max_length=320)
    kind: str = Field(pattern=KIND)
    namespace: str | None = Field(default=None, pattern=K8S_NAME, max_length=63)
    label_selector: str | None = Field(default=None, max_length=1024)
    field_selector: str | None = Field(default=None, max_length=1024)
    limit: int = Field(default=DEFAULT_LIST_LIMIT, ge=1, le=MAX_LIST_LIMIT)

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.kind


class Owners(CallParams):
    object: ObjectRef

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.object.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.object.kind


class GetPod(CallParams):
    pod: PodRef

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.pod.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.pod.kind or "Pod"


class ListPods(CallParams):
    namespace: str = Field(pattern=K8S_NAME, max_length=63)
    label_selector: str | None = Field(default=None, max_length=1024)

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.namespace


class PodLogs(CallParams):
    pod: PodRef
    container: str | None = Field(default=None, pattern=K8S_NAME, max_length=63)
    previous: bool = False
    tail_lines: int | None = Field(default=None, ge=1, le=100_000)
    limit_bytes: int | None = Field(default=None, ge=1, le=MAX_LOG_BYTES)

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.pod.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.pod.kind or "Pod"


class Subject(PodRef):
    kind: str = "Pod"


class Events(CallParams):
    subject: Subject

    def subject_namespace(self, ctx: CallContext) -> str | None:
        return self.subject.namespace

    def subject_kind(self, ctx: CallContext) -> str | None:
        return self.subject.kind


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with `controller: true`, if any."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


class ObjectReader:
    """Policy-checked reads of any kind for one call context."""

    def __init__(self, kube: KubeClient, resolver: KindResolver) -> None:
        self.kube = kube
        self.resolver = resolver

    async def resource(self, ctx: CallContext, method: str, api_version: str, kind: str,
                       namespace: str | None) -> Resource:
        try:
            ref = kind_of(api_version, kind)
        except BadKind as exc:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"{method}: {exc}") from exc
        ctx.policy.reads.check(ref.key, method=method)
        try:
            resource = await self.resolver.resolve(ref)
        except UnknownKind as exc:
            raise RpcError(ErrorCode.NOT_FOUND, f"{method}: {exc}") from exc
        if not resource.namespaced and ctx.policy.granted.namespaces:
            raise CapabilityDenied(
                f"{ctx.workflow} may act only in namespaces {sorted(ctx.policy.granted.namespaces)}; "
                f"a {ref.key} is cluster-scoped",
                {"capability": "k8s.read", "reason": "namespace", "kind": ref.key},
            )
        return resource

    async def get(self, ctx: CallContext, method: str, resource: Resource, namespace: str | None,
                  name: str) -> dict[str, Any]:
        if resource.namespaced and not namespace:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"{method}: {resource.key} is namespaced: give a namespace")
        obj = await self.kube.get_object(resource, namespace if resource.namespaced else None, name)
        return ctx.policy.reads.visible(resource.key, without_managed_fields(obj))


def register(router: CapabilityRouter, kube: KubeClient, resolver: KindResolver | None = None) -> None:
    reader = ObjectReader(kube, resolver if resolver is not None else KindResolver(kube))

    async def get(ctx: CallContext, p: ObjectRef) -> dict[str, Any]:
        resource = await reader.resource(ctx, "k8s.get", p.api_version, p.kind, p.namespace)
        return await reader.get(ctx, "k8s.get", resource, p.namespace, p.name)

    async def list_objects(ctx: CallContext, p: ListObjects) -> dict[str, Any]:
        resource = await reader.resource(ctx, "k8s.list", p.api_version, p.kind, p.namespace)
        page = await kube.list_page(
            resource, p.namespace if resource.namespaced else None, limit=p.limit,
            label_selector=p.label_selector, field_selector=p.field_selector,
        )
        items: list[dict[str, Any]] = []
        budget = LIST_REPLY_BUDGET
        truncated = bool((page.get("metadata") or {}).get("continue"))
        for raw in page.get("items") or []:
            if not isinstance(raw, dict):
                continue
            obj = ctx.policy.reads.visible(resource.key, without_managed_fields(raw))
            budget -= len(json.dumps(obj, separators=(",", ":")))
            if budget < 0:
                truncated = True
                break
            # A List's items carry no apiVersion/kind; a workflow gets whole objects.
            items.append({"apiVersion": resource.api_version, "kind": resource.kind, **obj})
        return {"items": items, "truncated": truncated}

    async def owners(ctx: CallContext, p: Owners) -> dict[str, Any]:
        start = p.object
        resource = await reader.resource(ctx, "k8s.owners", start.api_version, start.kind, start.namespace)
        obj = await reader.get(ctx, "k8s.owners", resource, start.namespace, start.name)
        namespace = start.namespace
        chain: list[dict[str, Any]] = []
        for _ in range(MAX_OWNER_DEPTH):
            ref = controller_of(obj)
            if ref is None:
                break
            owner_resource = await reader.resource(
                ctx, "k8s.owners", str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), namespace
            )
            try:
                owner = await reader.get(ctx, "k8s.owners", owner_resource, namespace, str(ref.get("name") or ""))
            except NotFound:
                break  # the owner is gone (being garbage collected): the chain ends here
            if ref.get("uid") and (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
                break  # a different object now has the owner's name
            chain.append(owner)
            obj = owner
        return {"items": chain}

    async def get_pod(ctx: CallContext, p: GetPod) -> dict[str, Any]:
        return normalize_pod(await kube.get_pod(p.pod.namespace, p.pod.name))

    async def list_pods(ctx: CallContext, p: ListPods) -> dict[str, Any]:
        pods = await kube.list_pods(p.namespace, label_selector=p.label_selector)
        return {"items": [normalize_pod(x) for x in pods]}

    async def pod_logs(ctx: CallContext, p: PodLogs) -> dict[str, Any]:
        text = await kube.pod_logs(
            p.pod.namespace, p.pod.name, container=p.container or p.pod.container, previous=p.previous,
            tail_lines=p.tail_lines, limit_bytes=p.limit_bytes or MAX_LOG_BYTES,
        )
        return {"text": text}

    async def events(ctx: CallContext, p: Events) -> dict[str, Any]:
        selector = f"involvedObject.name={p.subject.name},involvedObject.kind={p.subject.kind}"
        items = await kube.list_events(p.subject.namespace, field_selector=selector)
        return {"items": [normalize_k8s_event(e) for e in items]}

    router.register("k8s.get", ObjectRef, get)
    router.register("k8s.list", ListObjects, list_objects)
    router.register("k8s.owners", Owners, owners)
    router.register("k8s.getPod", GetPod, get_pod)
    router.register("k8s.listPods", ListPods, list_pods)
    router.register("k8s.podLogs", PodLogs, pod_logs)
    router.register("k8s.events", Events, events)
