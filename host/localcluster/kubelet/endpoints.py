"""The process kubelet's private HTTP endpoints, behind `controlplane kubelet-server`.

kube-apiserver reaches a node's kubelet over HTTPS for `pods/log` and `pods/exec`. The Go front
end (`tools/controlplane`, `kubelet-server`) terminates that TLS and kubectl's SPDY, and relays
here over plain HTTP on 127.0.0.1 with a bearer token only it knows:

- `GET /containerLogs/{namespace}/{pod}/{container}` with the kubelet's log query options;
- `GET /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=` as a
  WebSocket in the `v5.channel.k8s.io` / `v4.channel.k8s.io` protocols (what client-go's
  WebSocket executor speaks);
- `GET /healthz`.

Errors are `Status` objects with the code a kubelet would answer.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from host.localcluster import podexec, podlog, status
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.kubelet.node_api import NodeApi
from host.localcluster.store import Stored, encode

# The API server routes a request for a pod bound to us as soon as it is bound; our watch may
# deliver the pod a moment later. A real kubelet's pod manager is as quick: wait, then 404.
UNSEEN_POD_WAIT_SECONDS = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def kubelet_app(kubelet: Kubelet, api: NodeApi, token: str) -> web.Application:
    """The aiohttp application serving `kubelet`'s endpoints to whoever presents `token`."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        presented = request.headers.get("Authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            return web.Response(status=401, text="Unauthorized")
        try:
            return await handler(request)
        except status.ApiError as error:
            return web.Response(
                body=encode(error.status()), status=error.code, content_type="application/json"
            )

    async def pod_of(request: web.Request) -> Stored:
        """The pod, waiting a moment for one the API server bound to us before our watch saw it."""
        namespace, name = request.match_info["namespace"], request.match_info["pod"]
        deadline = time.monotonic() + UNSEEN_POD_WAIT_SECONDS
        while (pod := api.pod((namespace, name))) is None:
            if time.monotonic() >= deadline:
                raise status.not_found("pods", name)
            await asyncio.sleep(0.05)
        return pod

    async def container_logs(request: web.Request) -> web.StreamResponse:
        return await podlog.serve_log(request, kubelet, await pod_of(request), request.match_info["container"])

    async def exec_(request: web.Request) -> web.StreamResponse:
        target = kubelet.exec_target(await pod_of(request), request.match_info["container"])
        return await podexec.serve_exec(request, target)

    async def healthz(_: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    app = web.Application(middlewares=[guard])
    app.add_routes(
        [
            web.get("/containerLogs/{namespace}/{pod}/{container}", container_logs),
            web.get("/exec/{namespace}/{pod}/{container}", exec_),
            web.get("/healthz", healthz),
        ]
    )
    return app
