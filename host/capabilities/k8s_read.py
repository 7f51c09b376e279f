"""The `k8s.read` capability: getPod, listPods, podLogs, events — namespace-scoped by policy."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from host.capabilities.context import CallContext
from host.capabilities.params import K8S_NAME, CallParams, PodRef
from host.capabilities.router import CapabilityRouter
from host.errors import KubeError, NotFound
from host.kube.client import KubeClient
from host.rpc import ErrorCode, RpcError
from host.sources.normalize import normalize_k8s_event, normalize_pod

MAX_LOG_BYTES = 512 << 10


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


def upstream(exc: KubeError) -> RpcError:
    """Translate a Kubernetes API error into the error the guest sees."""
    if isinstance(exc, NotFound):
        return RpcError(ErrorCode.NOT_FOUND, str(exc))
    return RpcError(ErrorCode.UPSTREAM_ERROR, f"Kubernetes API: {exc}", {"reason": exc.reason, "status": exc.status})


def register(router: CapabilityRouter, kube: KubeClient) -> None:
    async def get_pod(ctx: CallContext, p: GetPod) -> dict[str, Any]:
        try:
            return normalize_pod(await kube.get_pod(p.pod.namespace, p.pod.name))
        except KubeError as exc:
            raise upstream(exc) from exc

    async def list_pods(ctx: CallContext, p: ListPods) -> dict[str, Any]:
        try:
            pods = await kube.list_pods(p.namespace, label_selector=p.label_selector)
        except KubeError as exc:
            raise upstream(exc) from exc
        return {"items": [normalize_pod(x) for x in pods]}

    async def pod_logs(ctx: CallContext, p: PodLogs) -> dict[str, Any]:
        try:
            text = await kube.pod_logs(
                p.pod.namespace, p.pod.name, container=p.container or p.pod.container, previous=p.previous,
                tail_lines=p.tail_lines, limit_bytes=p.limit_bytes or MAX_LOG_BYTES,
            )
        except KubeError as exc:
            raise upstream(exc) from exc
        return {"text": text}

    async def events(ctx: CallContext, p: Events) -> dict[str, Any]:
        selector = f"involvedObject.name={p.subject.name},involvedObject.kind={p.subject.kind}"
        try:
            items = await kube.list_events(p.subject.namespace, field_selector=selector)
        except KubeError as exc:
            raise upstream(exc) from exc
        return {"items": [normalize_k8s_event(e) for e in items]}

    router.register("k8s.getPod", GetPod, get_pod)
    router.register("k8s.listPods", ListPods, list_pods)
    router.register("k8s.podLogs", PodLogs, pod_logs)
    router.register("k8s.events", Events, events)
