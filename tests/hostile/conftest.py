"""A real host (no cluster) serving its API from a thread of its own, for property tests that send
it hundreds of requests over real HTTP with a plain blocking client: hypothesis drives a sync
test, the host's loop runs beside it, and one host serves every example of a module."""

from __future__ import annotations

import asyncio
import json
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from host.runtime.app import Host
from host.service import Service
from tests.conftest import make_config

T = TypeVar("T")
TOKEN = "hostile-token"

# Reports every alert and manual trigger it gets, echoing the event's shape in the finding's body.
ECHO = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "echo",
  triggers: [{ on: "manual" }, { on: "alert" }],
  capabilities: ["findings.report"],
  params: { word: { type: "string", default: "plain" } },
  async run(ctx, event) {
    const name = event.kind === "alert" ? String(event.alert?.labels?.alertname) : ctx.params.word;
    await ctx.report({ title: `echo ${event.kind} ${name}`, body: JSON.stringify(event).slice(0, 2000) });
  },
});
"""


@dataclass
class Answer:
    status: int
    doc: Any
    content_type: str


@dataclass
class RunningHost:
    url: str
    host: Host
    loop: asyncio.AbstractEventLoop

    def call(self, work: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30) -> T:
        """Run a coroutine on the host's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work(), self.loop).result(timeout)

    def request(self, method: str, path: str, *, body: bytes | None = None, content_type: str | None = "application/json",
                token: str | None = TOKEN, headers: dict[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"{self.url}{path}", data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, raw, ctype = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            status, raw, ctype = exc.code, exc.read(), exc.headers.get_content_type()
        doc: Any = json.loads(raw) if ctype == "application/json" and raw else raw
        return Answer(status, doc, ctype)

    def post_json(self, path: str, value: Any) -> Answer:
        return self.request("POST", path, body=json.dumps(value).encode())

    def healthy(self) -> bool:
        """/healthz answers and the host still takes a valid request (a manual trigger, waited for)."""
        if self.request("GET", "/healthz", token=None).status != 200:
            return False
        answer = self.post_json("/api/v1/trigger", {"workflow": "echo", "target": {"namespace": "a", "pod": "b"},
                                                    "wait": True, "timeout": 30})
        return answer.status == 200 and answer.doc.get("outcome") == "ok"


@pytest.fixture(scope="module")
def running_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHost]:
    root = tmp_path_factory.mktemp("hostile-host")
    custom = root / "custom"
    custom.mkdir()
    (custom / "echo.ts").write_text(textwrap.dedent(ECHO))
    builtin = root / "builtin"
    builtin.mkdir()
    config = make_config(
        root, api={"host": "127.0.0.1", "port": 0, "token": TOKEN}, workflows={"builtinDirectory": str(builtin)},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
        sandbox={"queueSize": 1000}, triggers={"perSubjectIntervalSeconds": 0},
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="hostile-host", daemon=True)
    thread.start()
    host = Host(config, with_cluster=False)
    service = Service(host)
    asyncio.run_coroutine_threadsafe(service.start(watch=False), loop).result(60)
    assert service.url is not None
    try:
        yield RunningHost(url=service.url, host=host, loop=loop)
    finally:
        asyncio.run_coroutine_threadsafe(service.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
