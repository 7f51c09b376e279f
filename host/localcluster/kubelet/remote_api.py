"""`NodeApi` over HTTPS: the kubelet as a client of a real API server, as the node `system:node:NAME`.

Reads: one list, then a watch, of the pods bound to this node (`fieldSelector=spec.nodeName=NAME`),
kept in a local cache the kubelet reads synchronously; a 410 Gone or a broken stream relists.
Writes go through one ordered writer task, so the kubelet's synchronous callers never wait on
the network: a pod's status writes are coalesced (only the newest is sent, as the real
kubelet's status manager does) and sent as a JSON merge patch of `pods/status` that carries
`metadata.uid`, so a write meant for a deleted pod cannot land on a new one of the same name.
Transient failures (connection errors, 429, 5xx) are retried with a bounded back-off; other
refusals are logged with the server's reason and dropped, as a kubelet does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from host.errors import WfhostError
from host.localcluster.kubelet.local_api import merge_conditions
from host.localcluster.kubelet.node_api import Obj, PodListener
from host.localcluster.store import Key, Stored

log = structlog.get_logger(__name__)

_WATCH_SECONDS = 300  # each watch request asks the server to end it after this long; then re-watch
_MAX_WATCH_LINE = 16 * 1024 * 1024  # one watch event; a longer line means a broken stream
_RETRIES = 5
_FLUSH_SECONDS = 5.0
_TLS_CLOSE_SECONDS = 0.25
_TRANSIENT = frozenset({429, 500, 502, 503, 504})
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class NodeCredentials:
    """Where the API server is and how the node proves who it is (client certificate)."""

    server: str
    ca_file: Path
    cert_file: Path
    key_file: Path

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


class ApiRefused(WfhostError):
    """The API server answered a write with an error that retrying will not fix."""

    def __init__(self, method: str, path: str, code: int, body: str) -> None:
        super().__init__(f"{method} {path}: {code} {body[:500]}")
        self.code = code


class _Transient(WfhostError):
    """A failure worth retrying (connection error, 429, 5xx)."""


def _stored(obj: Obj) -> Stored:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return Stored(obj=obj, raw=raw, rv=int(obj.get("metadata", {}).get("resourceVersion") or 0))


def _key(obj: Obj) -> Key:
    meta = obj.get("metadata", {})
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


def status_patch(before: Obj, after: Obj) -> Obj:
    """A merge patch turning `before`'s status into `after`'s: changed top-level fields, null for removed."""
    old = before.get("status") or {}
    new = after.get("status") or {}
    patch: Obj = {name: value for name, value in new.items() if old.get(name) != value}
    patch.update({name: None for name in old if name not in new})
    return patch


class HttpNodeApi:
    """A real API server, seen by the kubelet. The scheduler runs there, so this never binds."""

    def __init__(self, credentials: NodeCredentials, node_name: str) -> None:
        self._credentials = credentials
        self._node = node_name
        self._pods: dict[Key, Stored] = {}
        self._session: aiohttp.ClientSession | None = None
        self._on_pod: PodListener | None = None
        self._writes: asyncio.Queue[Key | Callable[[], Awaitable[object]]] = asyncio.Queue()
        self._status: dict[Key, tuple[str, Callable[[Obj], None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._resource_version = ""

    @property
    def schedules(self) -> bool:
        return False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, on_pod: PodListener) -> None:
        self._on_pod = on_pod
        self._session = aiohttp.ClientSession(
            base_url=self._credentials.server,
            connector=aiohttp.TCPConnector(ssl=self._credentials.ssl_context()),
            headers={"User-Agent": f"wfhost-kubelet/{self._node}"},
        )
        await self._relist()
        self._tasks = [
            asyncio.create_task(self._follow(), name=f"node {self._node} pod watch"),
            asyncio.create_task(self._write_loop(), name=f"node {self._node} writer"),
        ]

    async def stop(self) -> None:
        """Send what is queued (bounded by a few seconds), then close the connection."""
        follow, writer = self._tasks or (None, None)
        if follow is not None:
            follow.cancel()
        if writer is not None:
            try:
                async with asyncio.timeout(_FLUSH_SECONDS):
                    await self._writes.join()
            except TimeoutError:
                log.warning("kubelet.api_flush_timeout", node=self._node, pending=self._writes.qsize())
            writer.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None
            # aiohttp closes TLS connections in the background; let them finish before the loop
            # goes away, or their sockets are left for the garbage collector (a ResourceWarning).
            await asyncio.sleep(_TLS_CLOSE_SECONDS)

    # -- reads -----------------------------------------------------------------------------

    def pod(self, key: Key) -> Stored | None:
        return self._pods.get(key)

    def pod_keys(self) -> list[Key]:
        return list(self._pods)

    def _pods_path(self) -> str:
        return "/api/v1/pods?fieldSelector=" + quote(f"spec.nodeName={self._node}")

    async def _relist(self) -> None:
        listed = await self._request("GET", self._pods_path())
        fresh = {_key(item): _stored(item) for item in listed.get("items") or []}
        gone = [key for key in self._pods if key not in fresh]
        changed = [key for key, pod in fresh.items() if key not in self._pods or self._pods[key].rv != pod.rv]
        self._pods = fresh
        self._resource_version = str(listed.get("metadata", {}).get("resourceVersion") or "")
        for key in (*gone, *changed):
            self._notify(key)

    def _notify(self, key: Key) -> None:
        if self._on_pod is not None:
            self._on_pod(key)

    async def _follow(self) -> None:
        delay = 0.2
        while True:
            try:
                async with contextlib.aclosing(self._watch()) as events:
                    async for event in events:
                        delay = 0.2
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                await self._relist()
                                break
                            raise _Transient(f"watch error: {obj.get('message')}")
                        self._resource_version = str(obj.get("metadata", {}).get("resourceVersion") or "")
                        if kind == "BOOKMARK":
                            continue
                        key = _key(obj)
                        if kind == "DELETED":
                            self._pods.pop(key, None)
                        else:
                            self._pods[key] = _stored(obj)
                        self._notify(key)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, _Transient, ApiRefused, ValueError, TimeoutError) as exc:
                log.info("kubelet.watch_restart", node=self._node, error=str(exc), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                try:
                    await self._relist()
                except (aiohttp.ClientError, _Transient, ApiRefused, TimeoutError) as relist_error:
                    log.info("kubelet.relist_failed", node=self._node, error=str(relist_error))

    async def _watch(self) -> AsyncGenerator[Obj, None]:
        assert self._session is not None
        path = (
            f"{self._pods_path()}&watch=1&allowWatchBookmarks=true&timeoutSeconds={_WATCH_SECONDS}"
            f"&resourceVersion={quote(self._resource_version)}"
        )
        async with self._session.get(
            path, timeout=aiohttp.ClientTimeout(sock_read=_WATCH_SECONDS + 30)
        ) as answer:
            if answer.status != 200:
                body = await answer.text()
                if answer.status == 410:
                    yield {"type": "ERROR", "object": {"code": 410, "message": body}}
                    return
                raise _Transient(f"watch answered {answer.status}: {body[:300]}")
            pending = b""
            async for chunk in answer.content.iter_any():
                pending += chunk
                while (cut := pending.find(b"\n")) >= 0:
                    line, pending = pending[:cut], pending[cut + 1 :]
                    if line.strip():
                        yield json.loads(line)
                if len(pending) > _MAX_WATCH_LINE:
                    raise ValueError("a watch event longer than the bound")

    # -- writes ----------------------------------------------------------------------------

    def write_pod_status(self, key: Key, uid: str, apply: Callable[[Obj], None]) -> Stored | None:
        if key not in self._status:
            self._writes.put_nowait(key)
        self._status[key] = (uid, apply)
        return None

    def finish_pod_deletion(self, key: Key, uid: str) -> None:
        namespace, name = key
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid},
        }
        self._enqueue(lambda: self._write("DELETE", _pod_path(namespace, name), body, allow=(404, 409)))

    def bind_pod(self, key: Key, stored: Stored, node_name: str) -> Stored | None:
        return None  # kube-scheduler binds

    def create_event(self, namespace: str, event: Obj) -> None:
        body = {"apiVersion": "v1", "kind": "Event", **event}
        self._enqueue(
            lambda: self._write(
                "POST", f"/api/v1/namespaces/{quote(namespace)}/events", body, allow=(404, 409)
            )
        )

    def update_event_count(self, namespace: str, name: str, count: int, stamp: str) -> None:
        path = f"/api/v1/namespaces/{quote(namespace)}/events/{quote(name)}"
        patch = {"count": count, "lastTimestamp": stamp}
        self._enqueue(lambda: self._write("PATCH", path, patch, allow=(403, 404), content_type=MERGE_PATCH))

    def register_node(self, node: Obj) -> None:
        async def register() -> None:
            created = await self._write("POST", "/api/v1/nodes", node, allow=(409,))
            if created is None:  # it exists: a restarted kubelet adopts it and refreshes its status
                path = f"/api/v1/nodes/{quote(self._node)}/status"
                await self._write("PATCH", path, {"status": node["status"]}, content_type=MERGE_PATCH)

        self._enqueue(register)

    def heartbeat(self, node_name: str, lease: Obj, conditions: list[Obj]) -> None:
        async def beat() -> None:
            lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{quote(node_name)}"
            current = await self._write("GET", lease_path, None, allow=(404,))
            if current is None:
                await self._write(
                    "POST",
                    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                    lease,
                    allow=(409,),
                )
            else:
                current["spec"] = {**current.get("spec", {}), **lease["spec"]}
                await self._write("PUT", lease_path, current, allow=(409,))
            node = await self._write("GET", f"/api/v1/nodes/{quote(node_name)}", None, allow=(404,))
            if node is not None:
                merged = merge_conditions(node.get("status", {}).get("conditions") or [], conditions)
                await self._write(
                    "PATCH",
                    f"/api/v1/nodes/{quote(node_name)}/status",
                    {"status": {"conditions": merged}},
                    content_type=MERGE_PATCH,
                )

        self._enqueue(beat)

    def _enqueue(self, write: Callable[[], Awaitable[object]]) -> None:
        self._writes.put_nowait(write)

    async def _write_loop(self) -> None:
        while True:
            item = await self._writes.get()
            try:
                if isinstance(item, tuple):
                    await self._send_status(item)
                else:
                    await item()
            except asyncio.CancelledError:
                raise
            except (ApiRefused, _Transient, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("kubelet.write_failed", node=self._node, error=str(exc))
            finally:
                self._writes.task_done()

    async def _send_status(self, key: Key) -> None:
        uid, apply = self._status.pop(key)
        current = self._pods.get(key)
        if current is None or current.uid != uid:
            return  # the pod is gone (or replaced by a new one of the same name)
        desired = current.copy()
        apply(desired)
        patch = status_patch(current.obj, desired)
        if not patch:
            return
        namespace, name = key
        body = {"metadata": {"uid": uid}, "status": patch}
        written = await self._write(
            "PATCH", _pod_path(namespace, name) + "/status", body, allow=(404, 409), content_type=MERGE_PATCH
        )
        if written is not None:
            stored = _stored(written)
            known = self._pods.get(key)
            if known is not None and known.uid == uid and stored.rv > known.rv:
                self._pods[key] = stored

    async def _write(
        self,
        method: str,
        path: str,
        body: Obj | None,
        *,
        allow: tuple[int, ...] = (),
        content_type: str = "application/json",
    ) -> Obj | None:
        """One request, retried while the failure is transient; None for an allowed error code."""
        delay = 0.2
        for attempt in range(_RETRIES):
            try:
                answer: Obj | None = await self._request(
                    method, path, body, allow=allow, content_type=content_type
                )
                return answer
            except (_Transient, aiohttp.ClientConnectionError, TimeoutError):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
        return None

    async def _request(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        *,
        allow: tuple[int, ...] = (),
        content_type: str = "application/json",
    ) -> Any:
        assert self._session is not None, "the node API is not started"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        async with self._session.request(
            method, path, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as answer:
            text = await answer.text()
            if answer.status < 300:
                return json.loads(text) if text else {}
            if answer.status in allow:
                return None
            if answer.status in _TRANSIENT:
                raise _Transient(f"{method} {path}: {answer.status} {text[:300]}")
            raise ApiRefused(method, path, answer.status, text)


def _pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}"
