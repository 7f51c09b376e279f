"""A scripted HTTP API server for the few answers the local cluster never gives on purpose.

The local cluster behaves like a modern API server (an expired version is an ERROR event inside
a 200 stream). Older servers answer a watch with HTTP 410, and real ones fail with 500s; this
server replays canned answers for the pods collection so those paths run over real HTTP too.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

POD_LIST = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"}, "items": []}


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def pod(name: str, version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": version}
    }


@dataclass
class Answer:
    """One scripted watch answer: an HTTP error, or a 200 stream of lines (kept open if `hold`)."""

    status: int = 200
    body: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    hold: bool = False


class FakeApi:
    def __init__(self, watch_answers: list[Answer]) -> None:
        self.watch_answers = list(watch_answers)
        self.watch_requests: list[tuple[float, str | None]] = []  # (monotonic time, resourceVersion)
        self.list_requests = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeApi:
        app = web.Application()
        app.router.add_get("/api/v1/pods", self._pods)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") not in ("true", "1"):
            self.list_requests += 1
            return web.json_response(POD_LIST)
        self.watch_requests.append((time.monotonic(), request.query.get("resourceVersion")))
        answer = self.watch_answers.pop(0) if self.watch_answers else Answer(hold=True)
        if answer.status != 200:
            return web.json_response(answer.body, status=answer.status)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for line in answer.lines:
            await response.write(json.dumps(line).encode() + b"\n")
        if answer.hold:
            await asyncio.sleep(3600)
        await response.write_eof()
        return response
