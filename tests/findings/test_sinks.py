"""Sinks against a real local HTTP receiver: delivery, a failing-then-recovering receiver, nothing lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from host.config import WebhookSink
from host.findings import log_sink
from host.findings.files_sink import FilesSink
from host.findings.http_sink import HttpSink, slack_payload
from host.findings.log_sink import LogSink
from host.findings.service import FindingsService
from host.model.events import Subject
from host.model.findings import Attachment, Finding, Table

pytestmark = pytest.mark.timeout(60)
LABELS = {"cause": "OOMKilled", "namespace": "shop", "workload": "Deployment/shop/web"}


class Receiver:
    """A local HTTP endpoint that can be told to fail; records what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.failing = False
        self.attempts = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failing:
            return web.Response(status=503, text="down for maintenance")
        self.accepted.append(await request.json())
        return web.Response(status=200, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def _finding(title: str = "web-1 is slow") -> Finding:
    return Finding(
        workflow="python-profiler", title=title, severity="high", body="**hot**: `checksum_catalogue`",
        subject=Subject(kind="Pod", namespace="shop", name="web-1"),
        tables=[Table(title="Top functions", columns=["function", "share"], rows=[["checksum_catalogue", "41%"]])],
        attachments=[Attachment(name="flamegraph.svg", media_type="image/svg+xml", data=b"<svg/>")],
        labels=LABELS,
    )


async def _until(predicate: Any, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_webhook_posts_the_finding_with_attachment_links(receiver: Receiver, tmp_path: Path) -> None:
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url), spool=tmp_path / "spool",
                    public_url="https://wfhost.example")
    f = _finding()
    await sink.deliver(f)
    await sink.close()
    (doc,) = receiver.accepted
    assert doc["title"] == "web-1 is slow"
    assert doc["workflow"] == "python-profiler"
    assert doc["attachments"][0]["url"] == f"https://wfhost.example/api/v1/findings/{f.id}/attachments/flamegraph.svg"
    assert "data" not in doc["attachments"][0]
    assert doc["labels"] == LABELS


async def test_slack_gets_an_incoming_webhook_payload_with_blocks(receiver: Receiver, tmp_path: Path) -> None:
    sink = HttpSink("slack", WebhookSink(enabled=True, url=receiver.url), spool=tmp_path / "spool",
                    public_url="https://wfhost.example")
    await sink.deliver(_finding())
    await sink.close()
    (doc,) = receiver.accepted
    assert doc["text"] == "[high] web-1 is slow"
    kinds = [b["type"] for b in doc["blocks"]]
    assert kinds[0] == "header"
    assert doc["blocks"][0]["text"]["text"] == "web-1 is slow"
    assert any("checksum_catalogue" in json.dumps(b) for b in doc["blocks"] if b["type"] == "section")
    assert "flamegraph.svg" in json.dumps(doc["blocks"][-1])
    # The labels, right under the header and the severity line.
    assert doc["blocks"][2] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "cause: OOMKilled  ·  namespace: shop  ·  workload: Deployment/shop/web"}]}


def test_slack_labels_cannot_become_links_or_mentions_and_a_finding_without_labels_has_no_label_block() -> None:
    f = _finding().model_copy(update={"labels": {"cause": "Unknown", "note": "<!channel> & <https://evil|click>"}})
    (block,) = [b for b in slack_payload(f, None)["blocks"] if "cause:" in json.dumps(b)]
    assert block["elements"][0]["text"] == (
        "cause: Unknown  ·  note: &lt;!channel&gt; &amp; &lt;https://evil|click&gt;"
    )
    bare = slack_payload(_finding().model_copy(update={"labels": {}}), None)
    assert [b["type"] for b in bare["blocks"]][:3] == ["header", "context", "section"]
    assert "cause:" not in json.dumps(bare)


async def test_the_log_sink_line_carries_the_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    f = _finding()
    captured = structlog.testing.CapturingLogger()
    # The tests' logging is configured at warning level: capture this logger's lines directly.
    monkeypatch.setattr(log_sink, "log", structlog.wrap_logger(captured, processors=[], wrapper_class=structlog.BoundLogger))
    await LogSink().deliver(f)
    (call,) = captured.calls
    line = call.kwargs
    assert (call.method_name, line["event"]) == ("info", "finding.reported")
    assert line["labels"] == LABELS
    assert line["id"] == f.id
    assert line["subject"] == "shop/web-1"


async def test_a_failing_receiver_loses_nothing_and_blocks_no_other_sink(receiver: Receiver, tmp_path: Path) -> None:
    receiver.failing = True
    webhook = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url, max_retries=1, timeout_seconds=2),
                       spool=tmp_path / "spool", public_url=None)
    webhook.retry_interval = 0.2
    files = FilesSink(tmp_path / "files")
    service = FindingsService([webhook, files])
    service.start()
    findings = [_finding(f"finding {i}") for i in range(5)]
    for f in findings:
        await service.publish(f)
    # The files sink is not held up by the failing webhook.
    await _until(lambda: len(list((tmp_path / "files").glob("*/finding.json"))) == 5)
    await _until(lambda: len(list((tmp_path / "spool").glob("*.json"))) == 5)
    assert service.failed["webhook"] == 5
    assert receiver.accepted == []
    receiver.failing = False  # the receiver recovers: the spool drains, nothing is lost
    await _until(lambda: len(receiver.accepted) == 5)
    assert sorted(d["title"] for d in receiver.accepted) == sorted(f.title for f in findings)
    await _until(lambda: not list((tmp_path / "spool").glob("*.json")))
    await service.close()


async def test_spooled_findings_are_delivered_after_a_restart(receiver: Receiver, tmp_path: Path) -> None:
    receiver.failing = True
    cfg = WebhookSink(enabled=True, url=receiver.url, max_retries=0, timeout_seconds=2)
    first = HttpSink("webhook", cfg, spool=tmp_path / "spool", public_url=None)
    with pytest.raises(Exception, match="503"):
        await first.deliver(_finding("survives a restart"))
    await first.close()
    receiver.failing = False
    second = HttpSink("webhook", cfg, spool=tmp_path / "spool", public_url=None)
    second.retry_interval = 0.1
    second.start()
    await _until(lambda: [d["title"] for d in receiver.accepted] == ["survives a restart"])
    await second.close()


async def test_files_sink_writes_one_folder_per_finding(tmp_path: Path) -> None:
    f = _finding()
    await FilesSink(tmp_path).deliver(f)
    folder = tmp_path / f"python-profiler-{f.id}"
    doc = json.loads((folder / "finding.json").read_text())
    assert doc["workflow"] == "python-profiler"
    assert doc["attachments"] == [{"name": "flamegraph.svg", "mediaType": "image/svg+xml", "size": 6}]
    assert doc["labels"] == LABELS
    assert (folder / "flamegraph.svg").read_bytes() == b"<svg/>"


async def test_the_url_can_come_from_a_mounted_secret_file(receiver: Receiver, tmp_path: Path) -> None:
    secret = tmp_path / "webhook-url"
    secret.write_text(receiver.url + "\n")
    sink = HttpSink("webhook", WebhookSink(enabled=True, url_file=secret), spool=tmp_path / "spool", public_url=None)
    await sink.deliver(_finding("from a secret"))
    await sink.close()
    assert [d["title"] for d in receiver.accepted] == ["from a secret"]
