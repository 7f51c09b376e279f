"""The HTTP API against a real host (no cluster): auth, bad bodies, triggers with wait, alerts, reads."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from host.api.server import ApiServer
from host.findings.service import FindingsService
from host.model.findings import Finding
from host.runtime.app import Host
from host.service import Service
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(120)
TOKEN = "s3cret-token"

REPORTER = """
import { defineWorkflow } from "@wfhost/sdk";
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
export default defineWorkflow({
  name: "reporter",
  triggers: [{ on: "manual" }, { on: "alert" }],
  capabilities: ["findings.report"],
  params: { word: { type: "string", default: "plain" } },
  async run(ctx, event) {
    const where = event.kind === "manual" ? `${event.target.namespace}/${event.target.pod}` : `alert ${event.alert.labels.alertname}`;
    await ctx.report({
      title: `${ctx.params.word} report for ${where}`,
      body: "# Heading\\n| a | b |\\n|---|---|\\n| 1 | 2 |",
      severity: "medium",
      tables: [{ title: "numbers", columns: ["n", "square"], rows: [[2, 4], [3, 9]] }],
      attachments: [{ name: "picture.svg", mediaType: "image/svg+xml", text: SVG }],
      labels: { word: ctx.params.word, trigger: event.kind },
    });
  },
});
"""


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[str, Host]]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "reporter.ts").write_text(textwrap.dedent(REPORTER))
    (custom / "broken.ts").write_text("export default 42;")
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    config = make_config(
        tmp_path,
        api={"host": "127.0.0.1", "port": 0, "token": TOKEN},
        workflows={"builtinDirectory": str(builtin)},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )
    host = Host(config, with_cluster=False)
    service = Service(host)
    try:
        await service.start(watch=False)
        assert service.url is not None
        yield service.url, host
    finally:
        await service.stop()


async def _post(url: str, body: Any, *, token: str | None = TOKEN, raw: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as s:
        data = raw if raw is not None else __import__("json").dumps(body).encode()
        async with s.post(url, data=data, headers=headers) as r:
            return r.status, await r.json()


async def _get(url: str, *, token: str | None = TOKEN) -> tuple[int, Any, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        body = await r.read()
        return r.status, body, r.headers.get("Content-Type", "")


TRIGGER = {"workflow": "reporter", "target": {"namespace": "shop", "pod": "web-1"}, "wait": True}


async def test_trigger_with_wait_returns_the_findings_of_that_invocation(api: Any) -> None:
    url, _ = api
    status, doc = await _post(f"{url}/api/v1/trigger", {**TRIGGER, "params": {"word": "fancy"}})
    assert status == 200, doc
    assert doc["outcome"] == "ok"
    (finding,) = doc["findings"]
    assert finding["title"] == "fancy report for shop/web-1"
    assert finding["workflow"] == "reporter"
    assert finding["attachments"][0]["url"].endswith("/attachments/picture.svg")
    assert finding["labels"] == {"word": "fancy", "trigger": "manual"}


async def test_trigger_without_wait_is_accepted_and_queued(api: Any) -> None:
    url, _ = api
    status, doc = await _post(f"{url}/api/v1/trigger", {**TRIGGER, "wait": False})
    assert status == 202
    assert doc["status"] == "queued"
    assert doc["invocationId"].startswith("inv-")


@pytest.mark.parametrize(
    ("token", "reason"), [(None, "missing bearer token"), ("wrong", "wrong bearer token")]
)
async def test_every_data_route_refuses_a_missing_or_wrong_token(api: Any, token: str | None, reason: str) -> None:
    url, host = api
    for path in ("/api/v1/trigger", "/api/v1/alerts", "/api/v1/invocations/inv-x/cancel"):
        status, doc = await _post(f"{url}{path}", TRIGGER, token=token)
        assert status == 401
        assert doc["error"] == reason
    finding = Finding(workflow="reporter", title="secret stack trace")
    await host.findings.publish(finding)
    for path in ("/api/v1/workflows", "/api/v1/findings", f"/api/v1/findings/{finding.id}",
                 f"/api/v1/findings/{finding.id}/attachments/x"):
        status, body, _ = await _get(f"{url}{path}", token=token)
        assert status == 401, path
        assert b"secret stack trace" not in body
        assert __import__("json").loads(body)["error"] == reason


@pytest.mark.parametrize(
    ("body", "raw", "ctype", "status", "words"),
    [
        (None, b"{not json", "application/json", 400, "not valid JSON"),
        ({"target": {"namespace": "a", "pod": "b"}}, None, "application/json", 400, "workflow: Field required"),
        ({**TRIGGER, "target": {"namespace": "a"}}, None, "application/json", 400, "target.pod"),
        ({**TRIGGER, "surprise": 1}, None, "application/json", 400, "surprise"),
        ({**TRIGGER, "workflow": "nope"}, None, "application/json", 404, "no loaded workflow named 'nope'"),
        ({**TRIGGER, "params": {"word": 5}}, None, "application/json", 400, "expected a string"),
        (TRIGGER, None, "text/plain", 415, "application/json"),
    ],
    ids=["not-json", "no-workflow", "no-pod", "unknown-field", "unknown-workflow", "bad-param", "content-type"],
)
async def test_bad_trigger_requests_get_a_4xx_with_a_reason(
    api: Any, body: Any, raw: bytes | None, ctype: str, status: int, words: str
) -> None:
    url, host = api
    got, doc = await _post(f"{url}/api/v1/trigger", body, raw=raw, content_type=ctype)
    assert got == status, doc
    assert words in (doc.get("error") or ""), doc
    assert host.started  # and the host is still fine:
    assert (await _post(f"{url}/api/v1/trigger", TRIGGER))[0] == 200


async def test_alertmanager_webhook_turns_alerts_into_alert_events(api: Any) -> None:
    url, host = api
    payload = {
        "version": "4", "status": "firing", "receiver": "wfhost", "groupLabels": {}, "commonLabels": {},
        "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "namespace": "shop", "pod": "web-1"},
                    "annotations": {"summary": "p99 over 2s"}, "startsAt": "2026-11-23T10:00:00Z",
                    "fingerprint": "abc"}],
    }
    status, doc = await _post(f"{url}/api/v1/alerts", payload)
    assert status == 202
    assert doc["events"][0]["workflows"] == ["reporter"]
    for _ in range(200):
        if any(f.title == "plain report for alert HighLatency" for f in host.findings.recent()):
            break
        await __import__("asyncio").sleep(0.05)
    else:
        raise AssertionError("the alert did not produce a finding")
    bad, err = await _post(f"{url}/api/v1/alerts", {"alerts": "nope"})
    assert bad == 400
    assert "alerts" in err["error"]


async def test_workflows_lists_loaded_ones_and_load_errors(api: Any) -> None:
    url, _ = api
    status, body, _ = await _get(f"{url}/api/v1/workflows")
    assert status == 200
    items = {Path(i["file"]).name: i for i in __import__("json").loads(body)["items"]}
    assert items["reporter.ts"]["state"] == "loaded"
    assert items["reporter.ts"]["capabilities"] == ["findings.report"]
    assert [t["on"] for t in items["reporter.ts"]["triggers"]] == ["manual", "alert"]
    assert items["broken.ts"]["state"] == "error"
    assert items["broken.ts"]["error"]


async def test_findings_can_be_listed_read_and_their_attachments_served_with_the_media_type(api: Any) -> None:
    url, _ = api
    await _post(f"{url}/api/v1/trigger", TRIGGER)
    await _post(f"{url}/api/v1/trigger", {**TRIGGER, "params": {"word": "second"}})
    status, body, _ = await _get(f"{url}/api/v1/findings")
    items = __import__("json").loads(body)["items"]
    assert [i["title"] for i in items[:2]] == ["second report for shop/web-1", "plain report for shop/web-1"]
    assert [i["labels"] for i in items[:2]] == [
        {"word": "second", "trigger": "manual"}, {"word": "plain", "trigger": "manual"}
    ]
    fid = items[0]["id"]
    status, body, _ = await _get(f"{url}/api/v1/findings/{fid}")
    assert status == 200
    assert __import__("json").loads(body)["tables"][0]["rows"] == [["2", "4"], ["3", "9"]]
    assert __import__("json").loads(body)["labels"] == {"word": "second", "trigger": "manual"}
    status, body, ctype = await _get(f"{url}/api/v1/findings/{fid}/attachments/picture.svg")
    assert status == 200
    assert ctype.startswith("image/svg+xml")
    assert body.startswith(b"<svg")
    assert (await _get(f"{url}/api/v1/findings/f-nope"))[0] == 404
    assert (await _get(f"{url}/api/v1/findings/{fid}/attachments/nope.svg"))[0] == 404
    assert (await _get(f"{url}/api/v1/findings?limit=abc"))[0] == 400


async def test_health_readiness_metrics_and_page(api: Any) -> None:
    url, _ = api
    assert (await _get(f"{url}/healthz", token=None))[0] == 200
    assert (await _get(f"{url}/readyz", token=None))[0] == 200
    await _post(f"{url}/api/v1/trigger", TRIGGER)
    status, body, _ = await _get(f"{url}/metrics", token=None)
    text = body.decode()
    assert status == 200
    assert 'wfhost_invocations_total{outcome="ok",workflow="reporter"} 1.0' in text
    assert 'wfhost_events_seen_total{kind="manual"}' in text
    assert "wfhost_queue_depth" in text
    assert "wfhost_worker_restarts" in text
    status, body, ctype = await _get(f"{url}/", token=None)  # the page holds no data: it asks for a token
    assert status == 200
    assert ctype.startswith("text/html")
    assert b"findings.js" in body


def _wfhost_trigger(*args: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "host.cli.main", "trigger", *args],
                          capture_output=True, text=True, timeout=60)


async def test_the_trigger_command_asks_a_running_host(api: Any) -> None:
    import asyncio
    import json

    url, _ = api
    ok = await asyncio.to_thread(_wfhost_trigger, "reporter", "--pod", "shop/web-2", "--param", "word=cli",
                                 "--wait", "--url", url, "--token", TOKEN)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["findings"][0]["title"] == "cli report for shop/web-2"
    bad = await asyncio.to_thread(_wfhost_trigger, "reporter", "--pod", "shop/web-2", "--url", url, "--token", "nope")
    assert bad.returncode == 1
    assert "wrong bearer token" in bad.stderr
    usage = await asyncio.to_thread(_wfhost_trigger, "reporter", "--pod", "no-slash", "--url", url, "--token", TOKEN)
    assert usage.returncode == 2
    assert "NAMESPACE/NAME" in usage.stderr


def _labelled(title: str, **labels: str) -> Finding:
    return Finding(workflow="explainer", title=title, labels=labels)


async def test_findings_can_be_filtered_by_labels_all_of_them(tmp_path: Path) -> None:
    service = FindingsService([])
    for f in (
        _labelled("oom in shop", cause="OOMKilled", namespace="shop", workload="Deployment/shop/web"),
        _labelled("oom in pay", cause="OOMKilled", namespace="pay", workload="Deployment/pay/api"),
        _labelled("crash in shop", cause="ApplicationError", namespace="shop"),
        _labelled("no labels"),
        _labelled("odd value", note="a=b & <c>"),
    ):
        await service.publish(f)
    host: Any = SimpleNamespace(config=make_config(tmp_path, api={"token": TOKEN}), findings=service)
    server = TestServer(ApiServer(host, host.config.api, wait_seconds=30).app)
    async with TestClient(server, headers={"Authorization": f"Bearer {TOKEN}"}) as client:

        async def titles(query: str) -> list[str]:
            resp = await client.get(f"/api/v1/findings{query}")
            assert resp.status == 200, await resp.text()
            return [f["title"] for f in (await resp.json())["items"]]

        assert await titles("?label=cause=OOMKilled") == ["oom in pay", "oom in shop"]
        assert await titles("?label=cause=OOMKilled&label=namespace=shop") == ["oom in shop"]
        assert await titles("?label=namespace=shop&workflow=explainer") == ["crash in shop", "oom in shop"]
        assert await titles("?label=namespace=shop&workflow=other") == []
        assert await titles("?label=cause=OOMKilled&label=cause=ApplicationError") == []
        assert await titles("?label=workload=Deployment/shop/web") == ["oom in shop"]
        assert await titles("?label=cause=Unknown") == []
        # The value is everything after the first "=", matched exactly (URL-encoded as needed).
        assert await titles("?label=note=a%3Db%20%26%20%3Cc%3E") == ["odd value"]
        assert await titles("?label=note=a") == []
        listed = await (await client.get("/api/v1/findings?label=namespace=pay")).json()
        assert listed["items"][0]["labels"] == {
            "cause": "OOMKilled", "namespace": "pay", "workload": "Deployment/pay/api"
        }
        for bad in ("cause", "=OOMKilled", "bad key=x", "-x=y", "cause=" + "v" * 257):
            resp = await client.get("/api/v1/findings", params=[("label", "cause=OOMKilled"), ("label", bad)])
            assert resp.status == 400, bad
            doc = await resp.json()
            assert doc["error"].startswith("label: expected KEY=VALUE"), doc
            assert repr(bad) in doc["error"]
