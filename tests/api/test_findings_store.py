"""The API reads the findings store: what a host reported is there after a restart (listing, one
finding, its attachment, the page in Chromium), and the listing filters by namespace, severity and
time (with 400s that name the bad value) as well as by workflow and labels."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from host.api.server import ApiServer
from host.config import HostConfig
from host.findings.service import FindingsService
from host.findings.store import FindingsStore
from host.model.events import Event, Subject, Target
from host.model.findings import Finding
from host.runtime.app import Host
from host.service import Service
from tests.api.browser import CHROMIUM, LOADED, signed_in_page
from tests.api.test_api import REPORTER
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(180)
NOW = datetime.now(UTC).replace(microsecond=0)


def _config(tmp_path: Path) -> HostConfig:
    custom = tmp_path / "custom"
    custom.mkdir(exist_ok=True)
    (custom / "reporter.ts").write_text(textwrap.dedent(REPORTER))
    (tmp_path / "builtin").mkdir(exist_ok=True)
    return make_config(
        tmp_path, api={"host": "127.0.0.1", "port": 0, "token": "t"},
        workflows={"builtinDirectory": str(tmp_path / "builtin")},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )


async def _report(service: Service, pod: str, word: str) -> Finding:
    event = Event(kind="manual", target=Target(namespace="shop", pod=pod))
    _, fut = service.host.dispatcher.trigger("reporter", event, {"word": word}, wait=True)
    assert fut is not None
    result = await fut
    assert result.outcome == "ok", result.error
    (finding,) = result.findings
    return finding


@pytest.fixture
async def restarted(tmp_path: Path) -> AsyncIterator[tuple[Service, list[Finding]]]:
    """A host that reported two findings and stopped, and a new host on the same config."""
    config = _config(tmp_path)
    before = Service(Host(config, with_cluster=False))
    await before.start(watch=False)
    try:
        reported = [await _report(before, "web-1", "first"), await _report(before, "web-2", "second")]
    finally:
        await before.stop()
    after = Service(Host(config, with_cluster=False))
    try:
        await after.start(watch=False)
        yield after, reported
    finally:
        await after.stop()


async def test_after_a_restart_the_api_lists_and_serves_what_the_host_reported_before(
    restarted: tuple[Service, list[Finding]],
) -> None:
    service, (first, second) = restarted
    assert service.host.findings.recent() == []  # not from memory: from the store
    auth = {"Authorization": "Bearer t"}
    async with TestClient(TestServer(service.api.app), headers=auth) as client:  # type: ignore[union-attr]
        listing = await (await client.get("/api/v1/findings")).json()
        assert [f["id"] for f in listing["items"]] == [second.id, first.id]
        assert [f["title"] for f in listing["items"]] == ["second report for shop/web-2", "first report for shop/web-1"]
        assert listing["items"][0]["attachments"] == [{
            "name": "picture.svg", "mediaType": "image/svg+xml", "size": second.attachments[0].size,
            "url": f"/api/v1/findings/{second.id}/attachments/picture.svg"}]
        one = await (await client.get(f"/api/v1/findings/{first.id}")).json()
        assert one["labels"] == {"word": "first", "trigger": "manual"}
        assert one["tables"] == first.summary()["tables"]
        svg = await client.get(f"/api/v1/findings/{first.id}/attachments/picture.svg")
        assert svg.status == 200 and svg.content_type == "image/svg+xml"
        assert await svg.read() == first.attachments[0].data
        metrics = await (await client.get("/metrics")).text()
        assert "wfhost_findings_stored 2.0" in metrics
        assert 'wfhost_findings_outbox_pending{sink="log"} 0.0' in metrics


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
async def test_after_a_restart_the_page_shows_what_the_host_reported_before(
    restarted: tuple[Service, list[Finding]], tmp_path: Path,
) -> None:
    service, (first, _) = restarted
    html = await asyncio.to_thread(signed_in_page, f"{service.url}/#{first.id}", "t", profile=tmp_path / "p",
                                   until=LOADED + " && document.querySelector('#detail img[src^=\"blob:\"]') !== null")
    assert html.index("second report for shop/web-2") < html.index("first report for shop/web-1")
    assert "2 findings" in html
    assert f'<img data-src="/api/v1/findings/{first.id}/attachments/picture.svg"' in html  # the opened one


def _at(minutes_ago: int, title: str, *, pod_in: str | None, severity: str, **labels: str) -> Finding:
    subject = Subject(kind="Pod", namespace=pod_in, name="p") if pod_in else None
    return Finding(workflow="explainer", title=title, severity=severity, subject=subject, labels=labels,  # type: ignore[arg-type]
                   time=NOW - timedelta(minutes=minutes_ago))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    service = FindingsService([], store=FindingsStore(tmp_path / "store"))
    for f in (
        _at(300, "old oom in shop", pod_in="shop", severity="high", cause="OOMKilled"),
        _at(90, "crash in pay", pod_in="pay", severity="critical", cause="ApplicationError"),
        _at(30, "info in shop", pod_in="shop", severity="info"),
        _at(10, "node note", pod_in=None, severity="medium", namespace_label="x"),
        _at(5, "labelled pay", pod_in=None, severity="low", namespace="pay"),  # no subject: the label counts
        _at(1, "oom in shop", pod_in="shop", severity="high", cause="OOMKilled"),
    ):
        await service.publish(f)
    host: Any = SimpleNamespace(findings=service)
    api = ApiServer(host, make_config(tmp_path, api={"token": "t"}).api, wait_seconds=30)
    async with TestClient(TestServer(api.app), headers={"Authorization": "Bearer t"}) as c:
        yield c
    await service.close()


async def _titles(client: TestClient[Any, Any], query: str) -> list[str]:
    resp = await client.get(f"/api/v1/findings?{query}")
    assert resp.status == 200, await resp.text()
    return [f["title"] for f in (await resp.json())["items"]]


async def test_the_listing_filters_by_namespace_severity_and_time(client: TestClient[Any, Any]) -> None:
    assert await _titles(client, "namespace=shop") == ["oom in shop", "info in shop", "old oom in shop"]
    assert await _titles(client, "namespace=pay") == ["labelled pay", "crash in pay"]
    assert await _titles(client, "namespace=nowhere") == []
    assert await _titles(client, "severity=high") == ["oom in shop", "old oom in shop"]
    assert await _titles(client, "severity=high,critical") == ["oom in shop", "crash in pay", "old oom in shop"]
    assert await _titles(client, "severity=low&severity=info") == ["labelled pay", "info in shop"]
    assert await _titles(client, "since=60m") == ["oom in shop", "labelled pay", "node note", "info in shop"]
    assert await _titles(client, "since=2h&until=20m") == ["info in shop", "crash in pay"]
    since = (NOW - timedelta(minutes=31)).isoformat().replace("+00:00", "Z")
    until = (NOW - timedelta(minutes=5)).isoformat()  # until is exclusive: the one 5 minutes ago is out
    assert await _titles(client, f"since={since}&until={until.replace('+', '%2B')}") == ["node note", "info in shop"]
    # with the filters that were there before, all of them together
    assert await _titles(client, "namespace=shop&severity=high&label=cause=OOMKilled&workflow=explainer&since=1d") == [
        "oom in shop", "old oom in shop"]
    assert await _titles(client, "namespace=shop&severity=high&since=1h") == ["oom in shop"]


async def test_a_filtered_listing_is_paged(client: TestClient[Any, Any]) -> None:
    first = await (await client.get("/api/v1/findings?namespace=shop&limit=2")).json()
    assert [f["title"] for f in first["items"]] == ["oom in shop", "info in shop"]
    assert first["next"] == 2
    second = await (await client.get("/api/v1/findings?namespace=shop&limit=2&offset=2")).json()
    assert [f["title"] for f in second["items"]] == ["old oom in shop"]
    assert second["next"] is None


@pytest.mark.parametrize(("query", "words"), [
    ("namespace=Shop_1", "namespace: expected a Kubernetes namespace name such as shop, got 'Shop_1'"),
    ("namespace=", "namespace: expected a Kubernetes namespace name such as shop, got ''"),
    ("severity=urgent", "severity: 'urgent' is not one of info, low, medium, high, critical"),
    ("severity=high,", "severity: '' is not one of"),
    ("since=yesterday", "since: expected an RFC 3339 time such as 2026-11-23T10:00:00Z or a duration such as 30m, "
                        "2h or 7d, got 'yesterday'"),
    ("until=2026-11-23T10:00:00", "until: expected an RFC 3339 time"),  # no offset: which zone?
    ("since=5w", "since: expected an RFC 3339 time"),
    ("since=1h&until=2h", "since ('1h') must be before until ('2h')"),
], ids=["namespace", "empty-namespace", "severity", "empty-severity", "since", "until-no-zone", "unit", "order"])
async def test_a_bad_filter_is_a_400_that_names_the_value(client: TestClient[Any, Any], query: str, words: str) -> None:
    resp = await client.get(f"/api/v1/findings?{query}")
    assert resp.status == 400
    doc = await resp.json()
    assert words in doc["error"], doc


def _dump(url: str, profile: Path) -> str:
    return signed_in_page(url, "t", profile=profile)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
async def test_the_page_filters_by_namespace_severity_and_time_and_pages_through_the_store(tmp_path: Path) -> None:
    service = FindingsService([], store=FindingsStore(tmp_path / "store"))
    for i in range(201):
        await service.publish(_at(400, f"bulk {i}", pod_in="bulk", severity="info"))
    for f in (
        _at(180, "old high in shop", pod_in="shop", severity="high"),
        _at(3, "info in shop", pod_in="shop", severity="info"),
        _at(2, "crash in shop", pod_in="shop", severity="critical"),
        _at(1, "oom in shop", pod_in="shop", severity="high"),
    ):
        await service.publish(f)
    host: Any = SimpleNamespace(findings=service)
    api = make_config(tmp_path, api={"token": "t"}).api
    server = TestServer(ApiServer(host, api, wait_seconds=30).app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("/"))
        html = await asyncio.to_thread(_dump, f"{base}?namespace=shop&severity=high,critical&since=1h", tmp_path / "a")
        listed = html.split('id="findings"', 1)[1].split("</ol>", 1)[0]
        assert listed.index("oom in shop") < listed.index("crash in shop")
        assert "old high in shop" not in listed and "info in shop" not in listed and "bulk" not in listed
        assert "2 findings" in html
        assert '<button id="older" type="button" hidden="">' in html  # one page holds them
        html = await asyncio.to_thread(_dump, f"{base}?namespace=nowhere", tmp_path / "b")
        assert "No findings match these filters." in html
        # All of them: the first page of 200, and a button for the rest.
        html = await asyncio.to_thread(_dump, base, tmp_path / "c")
        assert "200+ findings" in html
        assert '<button id="older" type="button">Older findings</button>' in html
        assert "bulk 5<" in html and "bulk 4<" not in html  # the five oldest are on the next page
    finally:
        await server.close()
        await service.close()
