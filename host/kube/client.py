"""`KubeClient`: the host's asyncio facade over the official (synchronous) `kubernetes` client.

Why a facade: the official client blocks, and its model objects are slow to build for every pod
of a large list. Every call here runs in a thread of the client's own pool (so long calls such as
exec cannot starve the event loop's default executor), asks for the raw response
(`_preload_content=False`) and parses the JSON itself, so callers get plain camelCase dicts exactly
as the API server sent them. Every error leaves through `host.kube.translate.translate`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import kubernetes.client
import kubernetes.config
import structlog
import urllib3
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from host.errors import ConfigError, KubeError
from host.kube.podexec import ExecResult, run_exec
from host.kube.translate import translate
from host.model.resources import EVENTS, PODS, Resource

__all__ = ["ExecResult", "KubeClient"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Errors the client library raises for a failed request; anything else is a bug and propagates.
CLIENT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)

DEFAULT_REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0


class KubeClient:
    """Raw-dict access to the API server; one instance per host, shared by every component."""

    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_threads: int = 16,
    ) -> None:
        self.api_client = api_client
        self.request_timeout = request_timeout
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.coordination = kubernetes.client.CoordinationV1Api(api_client)
        self.authentication = kubernetes.client.AuthenticationV1Api(api_client)
        self.authorization = kubernetes.client.AuthorizationV1Api(api_client)
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="kube")
        self._closed = False

    @classmethod
    def from_config(cls, kubeconfig: Path | None) -> KubeClient:
        """A client for the cluster in `kubeconfig`; when None, the cluster this pod runs in, or,
        outside a pod, the kubeconfig named by `KUBECONFIG` (else ~/.kube/config) as kubectl would."""
        configuration = kubernetes.client.Configuration()
        if kubeconfig is None and "KUBERNETES_SERVICE_HOST" not in os.environ:
            kubeconfig = Path(
                os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config"
            )
        try:
            if kubeconfig is None:
                kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(kubeconfig), client_configuration=configuration
                )
        except (ConfigException, OSError) as exc:
            source = str(kubeconfig) if kubeconfig is not None else "in-cluster service account"
            raise ConfigError(f"cannot load Kubernetes client configuration from {source}: {exc}") from exc
        # Several watch streams and concurrent calls share the pool: keep enough connections.
        configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, 32)
        # urllib3 would otherwise retry a 429 or 503 by itself, sleeping out Retry-After inside a
        # thread where nobody sees it; callers get `Throttled` and decide (the watch loop waits).
        configuration.retries = urllib3.util.Retry(
            total=3, connect=3, read=0, status=0, status_forcelist=(), respect_retry_after_header=False
        )
        return cls(kubernetes.client.ApiClient(configuration))

    # -- plumbing ----------------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise KubeError("the Kubernetes client is closed", reason="Closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _request(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        """Run one API method in a thread and return the raw body; errors translated."""
        call = functools.partial(self._request_sync, what, method, *args, **kwargs)
        return await self._in_thread(call)

    def _request_sync(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        try:
            response: urllib3.BaseHTTPResponse = method(
                *args,
                _preload_content=False,
                _request_timeout=(CONNECT_TIMEOUT, self.request_timeout),
                **kwargs,
            )
        except CLIENT_ERRORS as exc:
            raise translate(exc, what=what) from exc
        return _read_body(response, what=what)

    async def _json(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        body = await self._request(what, method, *args, **kwargs)
        return parse_json_object(body, what=what)

    # -- pods --------------------------------------------------------------------------------

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.get_object(PODS, namespace, name)

    async def list_objects(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The items of one list (at most `limit` of them: no further pages are fetched)."""
        page = await self.list_page(
            resource, namespace, label_selector=label_selector, field_selector=field_selector, limit=limit
        )
        return _items(page)

    async def list_pods(
        self,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        return await self.list_objects(
            PODS, namespace, label_selector=label_selector, field_selector=field_selector
        )

    async def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        previous: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        options: dict[str, Any] = {"previous": previous}
        if container is not None:
            options["container"] = container
        if tail_lines is not None:
            options["tail_lines"] = tail_lines
        if limit_bytes is not None:
            options["limit_bytes"] = limit_bytes
        what = f"read logs of pod {namespace}/{name}" + (f" container {container}" if container else "")
        body = await self._request(what, self.core.read_namespaced_pod_log, name, namespace, **options)
        return body.decode("utf-8", "replace")

    async def patch_pod_ephemeral_containers(
        self, namespace: str, name: str, ephemeral_containers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        body = {"spec": {"ephemeralContainers": ephemeral_containers}}
        return await self._json(
            f"add ephemeral containers to pod {namespace}/{name}",
            self.core.patch_namespaced_pod_ephemeralcontainers,
            name,
            namespace,
            body,
        )

    async def create_pod(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("metadata", {}).get("name") or body.get("metadata", {}).get("generateName", "?")
        return await self._json(f"create pod {namespace}/{name}", self.core.create_namespaced_pod, namespace, body)

    async def delete_pod(self, namespace: str, name: str, *, grace_period_seconds: int | None = None) -> None:
        options: dict[str, Any] = {}
        if grace_period_seconds is not None:
            options["grace_period_seconds"] = grace_period_seconds
        await self._request(f"delete pod {namespace}/{name}", self.core.delete_namespaced_pod, name, namespace, **options)

    async def exec(
        self, namespace: str, name: str, container: str, command: list[str], *, timeout: float
    ) -> ExecResult:
        """Run `command` in a container; stdout/stderr as bytes and the exit code.

        Raises `KubeError(reason="ExecTimeout")` when it runs past `timeout` seconds (the stream is
        closed), a translated error when the exec cannot start, and stops the stream promptly when
        the awaiting task is cancelled.
        """
        stop = threading.Event()
        call = functools.partial(
            run_exec,
            self.api_client.configuration,
            namespace=namespace,
            name=name,
            container=container,
            command=command,
            timeout=timeout,
            stop=stop,
        )
        try:
            return await self._in_thread(call)
        except asyncio.CancelledError:
            stop.set()
            raise

    # -- events ------------------------------------------------------------------------------

    async def list_events(
        self, namespace: str | None, *, field_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return await self.list_objects(EVENTS, namespace, field_selector=field_selector)

    # -- leases ------------------------------------------------------------------------------

    async def get_lease(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._json(
            f"get lease {namespace}/{name}", self.coordination.read_namespaced_lease, name, namespace
        )

    async def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("metadata", {}).get("name", "?")
        return await self._json(
            f"create lease {namespace}/{name}", self.coordination.create_namespaced_lease, namespace, body
        )

    async def replace_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json(
            f"replace lease {namespace}/{name}",
            self.coordination.replace_namespaced_lease,
            name,
            namespace,
            body,
        )

    # -- reviews (the API's Kubernetes identities: host.api.auth) -----------------------------

    async def create_token_review(self, token: str, *, audiences: list[str] | None = None) -> dict[str, Any]:
        """Ask the API server who holds `token` (authentication.k8s.io/v1 TokenReview); the review
        as it answered, `status.authenticated` and `status.user` filled in."""
        spec: dict[str, Any] = {"token": token}
        if audiences:
            spec["audiences"] = audiences
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
        return await self._json("create a TokenReview", self.authentication.create_token_review, body)

    async def create_subject_access_review(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Ask the API server whether a user may do something (authorization.k8s.io/v1
        SubjectAccessReview); the review as it answered, `status.allowed` filled in."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        return await self._json(
            "create a SubjectAccessReview", self.authorization.create_subject_access_review, body
        )

    # -- any resource (used by host.kube.watch, the k8s.read capability, discovery) ------------

    def _call_sync(
        self, what: str, path: str, query: list[tuple[str, Any]], *, read_timeout: float | None = None
    ) -> urllib3.BaseHTTPResponse:
        """One GET by path through the official client's serializer and auth; raw response, 2xx only."""
        try:
            request = self.api_client.param_serialize(
                method="GET",
                resource_path=path,
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                *request, _request_timeout=(CONNECT_TIMEOUT, read_timeout or self.request_timeout)
            )
            if not 200 <= response.status <= 299:
                response.read()  # type: ignore[no-untyped-call]
                raise ApiException.from_response(http_resp=response, body=None, data=None)
        except CLIENT_ERRORS as exc:
            raise translate(exc, what=what) from exc
        raw: urllib3.BaseHTTPResponse = response.response
        return raw

    async def get_path(self, path: str, *, what: str) -> dict[str, Any]:
        """GET an API path (discovery documents, for instance) as a JSON object."""

        def call() -> bytes:
            return _read_body(self._call_sync(what, path, []), what=what)

        return parse_json_object(await self._in_thread(call), what=what)

    async def get_object(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        """One object exactly as the API server returns it."""
        where = f"{namespace}/{name}" if resource.namespaced and namespace else name
        return await self.get_path(resource.path(namespace, name), what=f"get {resource.noun} {where}")

    async def list_page(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        """One page of a list, as the raw List object (`items`, `metadata.resourceVersion/continue`)."""
        query = _query(label_selector, field_selector)
        if limit is not None:
            query.append(("limit", limit))
        if continue_token:
            query.append(("continue", continue_token))
        what = f"list {resource.describe(namespace)}"

        def call() -> bytes:
            return _read_body(self._call_sync(what, resource.path(namespace), query), what=what)

        return parse_json_object(await self._in_thread(call), what=what)

    def open_watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str | None,
        timeout_seconds: int,
        read_timeout: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Open a watch stream (blocking; call it from a thread). The caller owns the response."""
        query = _query(label_selector, field_selector)
        query += [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", timeout_seconds)]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        what = f"watch {resource.describe(namespace)} from version {resource_version or '(latest)'}"
        return self._call_sync(what, resource.path(namespace), query, read_timeout=read_timeout)

    def close(self) -> None:
        """Release connections and threads; later calls raise `KubeError(reason="Closed")`."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.api_client.close()  # type: ignore[no-untyped-call]


def parse_json_object(body: bytes, *, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise KubeError(f"{what}: the API server sent invalid JSON: {exc}", reason="InvalidResponse") from exc
    if not isinstance(parsed, dict):
        raise KubeError(
            f"{what}: expected a JSON object, got {type(parsed).__name__}", reason="InvalidResponse"
        )
    return parsed


def _read_body(response: urllib3.BaseHTTPResponse, *, what: str) -> bytes:
    try:
        data = response.data
    except CLIENT_ERRORS as exc:
        response.close()
        raise translate(exc, what=what) from exc
    response.release_conn()
    return bytes(data)


def _query(label_selector: str | None, field_selector: str | None) -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return query


def _items(listing: dict[str, Any]) -> list[dict[str, Any]]:
    items = listing.get("items") or []
    return [item for item in items if isinstance(item, dict)]
