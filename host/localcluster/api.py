"""The REST surface: routes, request parsing, and responses in the API server's JSON shapes.

Paths follow the real layout: `/api/v1/...` for the core group, `/apis/<group>/<version>/...`
for named groups, `namespaces/<ns>/<plural>[/<name>[/<subresource>]]` for namespaced kinds,
`<plural>` alone for lists across namespaces, and the legacy `/watch/` prefix. Every failure is
an `ApiError`, turned into a `Status` body by the server's middleware.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from host.localcluster import decoding, discovery, patch, podexec, podlog, query, resources, status
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.options import write_options
from host.localcluster.registry import DeleteOptions, ListQuery, Registry, parse_rv
from host.localcluster.resources import ResourceType
from host.localcluster.settings import LocalClusterSettings
from host.localcluster.store import Stored, encode
from host.localcluster.watch import WatchHub, WatchParams

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _json_response(body: bytes, code: int = 200) -> web.Response:
    return web.Response(body=body, status=code, content_type=JSON)


def _object_response(stored: Stored, code: int = 200) -> web.Response:
    return _json_response(stored.raw, code)


def _with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for warning in warnings:
        response.headers.add("Warning", warning)
    return response


# Media types the real server decodes and the stand-in does not (it answers 415 for them).
_NOT_DECODED = frozenset(
    {"application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf;stream=watch"}
)


def resolve(group: str, version: str, segments: list[str]) -> Target:
    """Map path segments after the group/version to a resource, namespace, name and subresource."""
    if not segments or any(part == "" for part in segments):
        raise status.no_such_resource()
    if segments[0] == "namespaces" and len(segments) >= 3:
        rt = resources.find(group, version, segments[2])
        if rt is not None and rt.namespaced:
            if len(segments) > 5:
                raise status.no_such_resource()
            name = segments[3] if len(segments) > 3 else None
            sub = segments[4] if len(segments) > 4 else None
            return Target(rt, segments[1], name, sub)
    rt = resources.find(group, version, segments[0])
    if rt is None or len(segments) > 3:
        raise status.no_such_resource()
    if rt.namespaced:
        if len(segments) != 1:
            raise status.no_such_resource()
        return Target(rt, None, None, None)
    return Target(
        rt, None, segments[1] if len(segments) > 1 else None, segments[2] if len(segments) > 2 else None
    )


class ApiHandlers:
    def __init__(
        self,
        registry: Registry,
        hub: WatchHub,
        settings: LocalClusterSettings,
        kubelet: Callable[[], Kubelet | None],
    ) -> None:
        self._registry = registry
        self._hub = hub
        self._settings = settings
        self._kubelet = kubelet

    def routes(self) -> list[web.RouteDef]:
        discovery_routes = [
            ("/version", self.version),
            ("/api", self.core_versions),
            ("/api/v1", self.core_resources),
            ("/apis", self.group_list),
            ("/apis/{group}", self.group),
            ("/apis/{group}/{version}", self.group_resources),
        ]
        return [
            *(web.get(path, handler) for path, handler in discovery_routes),
            *(web.get(path + "/", handler) for path, handler in discovery_routes),
            web.get("/healthz", self.healthy),
            web.get("/livez", self.healthy),
            web.get("/readyz", self.healthy),
            web.route("*", "/api/v1/{tail:.+}", self.core),
            web.route("*", "/apis/{group}/{version}/{tail:.+}", self.grouped),
        ]

    # -- discovery -------------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        return _json_response(encode(discovery.version()))

    async def healthy(self, request: web.Request) -> web.Response:
        return web.Response(text="ok", content_type="text/plain")

    async def core_versions(self, request: web.Request) -> web.Response:
        return _json_response(encode(discovery.core_versions(request.host)))

    async def core_resources(self, request: web.Request) -> web.Response:
        found = discovery.resource_list("", "v1")
        assert found is not None
        return _json_response(encode(found))

    async def group_list(self, request: web.Request) -> web.Response:
        return _json_response(encode(discovery.group_list()))

    async def group(self, request: web.Request) -> web.Response:
        found = discovery.group(request.match_info["group"])
        if found is None:
            raise status.no_such_resource()
        return _json_response(encode(found))

    async def group_resources(self, request: web.Request) -> web.Response:
        found = discovery.resource_list(request.match_info["group"], request.match_info["version"])
        if found is None:
            raise status.no_such_resource()
        return _json_response(encode(found))

    # -- resources -------------------------------------------------------------------------

    async def core(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, "", "v1", request.match_info["tail"])

    async def grouped(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return await self._dispatch(request, info["group"], info["version"], info["tail"])

    async def _dispatch(
        self, request: web.Request, group: str, version: str, tail: str
    ) -> web.StreamResponse:
        segments = tail.split("/")
        watch_path = segments[0] == "watch"
        if watch_path:
            segments = segments[1:]
        target = resolve(group, version, segments)
        method = request.method
        if target.name is None:
            if method == "GET":
                if watch_path or query.flag(request, "watch"):
                    return await self._watch(request, target)
                return await self._list(request, target)
            if method == "POST" and (target.namespace is not None or not target.rt.namespaced):
                options = write_options(request, "CreateOptions")
                body = await self._body(request)
                warnings = decoding.decode(target.rt, body, options.field_validation)
                with self._registry.dry_run(options.dry_run):
                    created = self._registry.create(target.rt, target.namespace, body)
                return _with_warnings(_object_response(created, 201), warnings)
            if method == "DELETE":
                return await self._delete_collection(request, target)
            raise status.method_not_allowed(method)
        if watch_path:
            return await self._watch(request, target)
        sub = target.subresource
        if sub is None or (sub == "status" and target.rt.has_subresource("status")):
            return await self._object(request, target)
        if target.rt is resources.PODS and sub == "ephemeralcontainers":
            if not self._settings.allow_ephemeral_containers and method in ("PUT", "PATCH"):
                raise status.forbidden(
                    "pods",
                    target.name,
                    "ephemeral containers are not allowed on this cluster (local cluster setting)",
                )
            return await self._object(request, target)
        if target.rt is resources.PODS and sub == "log" and method == "GET":
            pod = self._registry.get(target.rt, target.namespace, target.name)
            kubelet = self._require_kubelet(target.name)
            return await podlog.serve_log(request, kubelet, pod, request.query.get("container"))
        if target.rt is resources.PODS and sub == "exec" and method in ("GET", "POST"):
            pod = self._registry.get(target.rt, target.namespace, target.name)
            kubelet = self._require_kubelet(target.name)
            return await podexec.serve_exec(request, kubelet.exec_target(pod, request.query.get("container")))
        raise status.no_such_resource()

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if raw and request.content_type in _NOT_DECODED:
            # The real server decodes protobuf; the stand-in speaks JSON only, and says so.
            raise status.unsupported_media_type(request.content_type)
        try:
            return json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise status.bad_request(f"the request body is not valid JSON: {exc}") from None

    async def _object(self, request: web.Request, target: Target) -> web.Response:
        assert target.name is not None
        rt, namespace, name, sub = target.rt, target.namespace, target.name, target.subresource
        method = request.method
        if method == "GET":
            return _object_response(self._registry.get(rt, namespace, name))
        if method == "PUT":
            options = write_options(request, "UpdateOptions")
            body = await self._body(request)
            warnings = decoding.decode(rt, body, options.field_validation)
            with self._registry.dry_run(options.dry_run):
                updated = self._registry.update(rt, namespace, name, body, sub)
            return _with_warnings(_object_response(updated), warnings)
        if method == "PATCH":
            content_type = request.content_type
            if content_type not in patch.PATCH_TYPES:
                raise status.unsupported_media_type(content_type)
            options = write_options(request, "PatchOptions")
            body = await self._body(request)
            patch_warnings: list[str] = []

            def decode(patched: dict[str, Any]) -> None:
                patch_warnings.extend(decoding.decode(rt, patched, options.field_validation))

            with self._registry.dry_run(options.dry_run):
                stored = self._registry.patch(rt, namespace, name, content_type, body, sub, decode)
            return _with_warnings(_object_response(stored), patch_warnings)
        if method == "DELETE" and sub is None:
            body = await self._body(request)
            options = write_options(request, "DeleteOptions", body)
            with self._registry.dry_run(options.dry_run):
                deleted = self._registry.delete(rt, namespace, name, self._delete_options(request, body))
            if rt.returns_deleted_object:
                return _object_response(deleted)
            meta = deleted.obj["metadata"]
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": meta.get("uid")},
            }
            return _json_response(encode(body))
        raise status.method_not_allowed(method)

    def _delete_options(self, request: web.Request, body: Any) -> DeleteOptions:
        body = body if isinstance(body, dict) else {}
        grace = query.integer(request, "gracePeriodSeconds", minimum=0)
        if grace is None and isinstance(body.get("gracePeriodSeconds"), int):
            grace = int(body["gracePeriodSeconds"])
        preconditions = body.get("preconditions") or {}
        return DeleteOptions(
            grace_period_seconds=grace,
            precondition_uid=preconditions.get("uid"),
            precondition_rv=preconditions.get("resourceVersion"),
        )

    def _list_query(self, request: web.Request) -> ListQuery:
        return ListQuery(
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
            limit=query.integer(request, "limit", minimum=0),
            continue_token=request.query.get("continue") or None,
            resource_version=request.query.get("resourceVersion"),
            resource_version_match=request.query.get("resourceVersionMatch"),
        )

    async def _list(self, request: web.Request, target: Target) -> web.Response:
        requested = parse_rv(request.query.get("resourceVersion"))
        if requested is not None and requested > self._registry.store.current_rv:
            # As the real server's watch cache does: wait a little for that version, then 504.
            deadline = (
                asyncio.get_running_loop().time() + self._settings.too_large_resource_version_wait_seconds
            )
            while self._registry.store.current_rv < requested:
                if asyncio.get_running_loop().time() >= deadline:
                    raise status.too_large_resource_version(requested, self._registry.store.current_rv)
                await asyncio.sleep(0.05)
        page = self._registry.list_objects(target.rt, target.namespace, self._list_query(request))
        meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        rt = target.rt
        body = b"".join(
            [
                b'{"kind":"',
                rt.list_kind.encode(),
                b'","apiVersion":"',
                rt.api_version.encode(),
                b'","metadata":',
                encode(meta),
                b',"items":[',
                b",".join(stored.raw for stored in page.items),
                b"]}",
            ]
        )
        return _json_response(body)

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        body = await self._body(request)
        options = write_options(request, "DeleteOptions", body)
        with self._registry.dry_run(options.dry_run):
            deleted = self._registry.delete_collection(
                target.rt, target.namespace, self._list_query(request), self._delete_options(request, body)
            )
        rt = target.rt
        body = b"".join(
            [
                b'{"kind":"',
                rt.list_kind.encode(),
                b'","apiVersion":"',
                rt.api_version.encode(),
                b'","metadata":',
                encode({"resourceVersion": str(self._registry.store.current_rv)}),
                b',"items":[',
                b",".join(stored.raw for stored in deleted),
                b"]}",
            ]
        )
        return _json_response(body)

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt = target.rt
        field_selector = request.query.get("fieldSelector")
        if target.name is not None:
            own = f"metadata.name={target.name}"
            field_selector = f"{field_selector},{own}" if field_selector else own
        label, field = self._registry.selectors(rt, request.query.get("labelSelector"), field_selector)
        requested = parse_rv(request.query.get("resourceVersion"))
        send_initial = query.optional_flag(request, "sendInitialEvents")
        timeout = query.integer(request, "timeoutSeconds", minimum=0)
        if requested == 0 or send_initial:
            requested = None
        elif requested is None and send_initial is False:
            requested = self._registry.store.current_rv
        params = WatchParams(
            rt=rt,
            namespace=target.namespace,
            label=label,
            field=field,
            resource_version=requested,
            allow_bookmarks=query.flag(request, "allowWatchBookmarks"),
            send_initial_events=bool(send_initial),
            timeout=float(timeout) if timeout else self._settings.default_watch_timeout_seconds,
        )
        return await self._hub.serve(request, params)

    # -- node-backed subresources ----------------------------------------------------------

    def _require_kubelet(self, pod_name: str | None) -> Kubelet:
        kubelet = self._kubelet()
        if kubelet is None:
            raise status.bad_request(
                f"pod {pod_name} does not have a host assigned (the local cluster runs no kubelet)"
            )
        return kubelet
