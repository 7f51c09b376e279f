"""`pods/log`: query options, then the container log as one body or, with `follow`, as a chunked stream."""

from __future__ import annotations

import time
from datetime import datetime

from aiohttp import web

from host.localcluster import query, status
from host.localcluster.kubelet.kubelet import Kubelet
from host.localcluster.kubelet.logs import LogOptions
from host.localcluster.store import Stored


def log_options(request: web.Request) -> LogOptions:
    since_seconds = query.integer(request, "sinceSeconds", minimum=1)
    since_time = request.query.get("sinceTime")
    since_epoch: float | None = None
    if since_seconds is not None:
        since_epoch = time.time() - since_seconds
    elif since_time:
        try:
            since_epoch = datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise status.bad_request(f"invalid sinceTime {since_time!r}") from None
    return LogOptions(
        tail_lines=query.integer(request, "tailLines", minimum=0),
        limit_bytes=query.integer(request, "limitBytes", minimum=1),
        timestamps=query.flag(request, "timestamps"),
        since_epoch=since_epoch,
    )


async def serve_log(
    request: web.Request, kubelet: Kubelet, pod: Stored, container: str | None
) -> web.StreamResponse:
    """The log of `container` (None: the pod's only one), with the request's query options."""
    options = log_options(request)
    previous = query.flag(request, "previous")
    container_log = kubelet.container_log(pod, container, previous=previous)
    if not query.flag(request, "follow") or previous:
        return web.Response(body=container_log.render(options), content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    async for chunk in container_log.follow(options):
        await response.write(chunk)
    await response.write_eof()
    return response
