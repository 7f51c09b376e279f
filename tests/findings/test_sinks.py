"""Sinks against a real local HTTP receiver: delivery, a failing-then-recovering receiver, nothing lost."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from host.config import Backoff, WebhookSink
from host.findings import log_sink
from host.findings.files_sink import FilesSink
from host.findings.http_sink import HttpSink, slack_payload
from host.findings.log_sink import LogSink
from host.findings.service import FindingsService
from host.findings.store import FindingsStore
from host.model.events import Subject
from host.model.findings import Attachment, Finding, Table
from host.sandbox.deno import find_deno
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(60)
QUICK = Backoff(initial_seconds=0.2, max_seconds=0.4)  # the outbox's retries, at test speed
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


async def _eventually(count: Callable[[], Awaitable[int]], wanted: int, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if await count() == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {wanted}: {await count()}")


async def _until(predicate: Any, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_webhook_posts_the_finding_with_attachment_links(receiver: Receiver, tmp_path: Path) -> None:
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url),
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
    sink = HttpSink("slack", WebhookSink(enabled=True, url=receiver.url),
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
                       public_url=None)
    files = FilesSink(tmp_path / "files")
    service = FindingsService([webhook, files], store=FindingsStore(tmp_path / "store"), retry_backoff=QUICK)
    await service.start()
    findings = [_finding(f"finding {i}") for i in range(5)]
    for f in findings:
        await service.publish(f)
    # The files sink is not held up by the failing webhook.
    await _until(lambda: len(list((tmp_path / "files").glob("*/finding.json"))) == 5)
    # The five failed deliveries wait in the outbox (the spool of old).
    await _eventually(lambda: service.pending("webhook", failed_only=True), 5)
    assert service.failed["webhook"] == 5
    assert receiver.accepted == []
    receiver.failing = False  # the receiver recovers: the outbox drains, nothing is lost
    await _until(lambda: len(receiver.accepted) == 5)
    assert sorted(d["title"] for d in receiver.accepted) == sorted(f.title for f in findings)
    await _eventually(lambda: service.pending("webhook"), 0)
    await service.close()


async def test_spooled_findings_are_delivered_after_a_restart(receiver: Receiver, tmp_path: Path) -> None:
    receiver.failing = True
    cfg = WebhookSink(enabled=True, url=receiver.url, max_retries=0, timeout_seconds=2)
    first = HttpSink("webhook", cfg, public_url=None)
    with pytest.raises(Exception, match="503"):
        await first.deliver(_finding("survives a restart"))
    # What the host does with it: the undelivered finding waits in the store's outbox ...
    before = FindingsService([first], store=FindingsStore(tmp_path / "store"), retry_backoff=QUICK)
    await before.start()
    await before.publish(_finding("survives a restart"))
    await _eventually(lambda: before.pending("webhook", failed_only=True), 1)
    await before.close()
    receiver.failing = False
    # ... and the next run, on the same store, delivers it.
    second = HttpSink("webhook", cfg, public_url=None)
    after = FindingsService([second], store=FindingsStore(tmp_path / "store"), retry_backoff=QUICK)
    await after.start()
    await _until(lambda: [d["title"] for d in receiver.accepted] == ["survives a restart"])
    await after.close()


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
    sink = HttpSink("webhook", WebhookSink(enabled=True, url_file=secret), public_url=None)
    await sink.deliver(_finding("from a secret"))
    await sink.close()
    assert [d["title"] for d in receiver.accepted] == ["from a secret"]


# An explainer's finding, made by the SDK's own `explanationFinding` (as a built-in reports it):
# the summary first, a text item, a Markdown table, a fenced log, the fix, the labels.
EXPLAIN = """
import { explanationFinding } from "%s";
console.log(JSON.stringify(explanationFinding({
  cause: "MissingPackage",
  summary: "shop/web-1 (container app) is crash-looping: `yaml` is missing from the image: "
    + "ModuleNotFoundError: No module named 'yaml'",
  evidence: [
    { kind: "text", title: "Last termination", text: "exit code 1: exited with code 1; reason Error" },
    { kind: "table", table: { title: "Restart timeline of container app",
      columns: ["run", "state", "exit code", "reason / message"],
      rows: [["#4 (next)", "waiting: CrashLoopBackOff", "", "back-off 40s | restarting failed container=app"],
             ["#3 (previous)", "terminated", 1, "Error"]] } },
    { kind: "log", title: "Previous run, last 20 lines",
      text: "Traceback (most recent call last):\\n  File \\"/app/main.py\\", line 1, in <module>\\n"
        + "    import yaml\\nModuleNotFoundError: No module named 'yaml'" },
  ],
  fix: ["Add the package to the image (requirements.txt) and rebuild."],
}, { namespace: "shop", workload: "Deployment/shop/web", labels: { container: "app" },
     subject: { kind: "Pod", namespace: "shop", name: "web-1" } })));
"""


def _explainer_finding(tmp_path: Path) -> Finding:
    script = tmp_path / "explain.ts"
    script.write_text(EXPLAIN % (REPO / "sdk-ts" / "explain.ts"))
    out = subprocess.run([str(find_deno()), "run", "--no-config", "--no-lock", "--quiet", str(script)],
                         capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(out.stdout)
    return Finding(
        workflow="restart-loop-reporter", title=doc["title"], severity=doc["severity"], body=doc["body"],
        subject=Subject(**doc["subject"]), tables=[Table(**t) for t in doc["tables"]], labels=doc["labels"],
    )


def test_an_explainer_finding_in_slack_has_its_summary_first_labels_and_tables_as_preformatted_text(
    tmp_path: Path,
) -> None:
    finding = _explainer_finding(tmp_path)
    assert "| run | state | exit code | reason / message |" in finding.body  # Markdown, as the page gets it
    payload = slack_payload(finding, None)
    blocks = payload["blocks"]
    assert payload["text"] == f"[high] {finding.title}"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": finding.title}}
    labels = blocks[2]["elements"][0]["text"]
    assert labels == "container: app  ·  cause: MissingPackage  ·  workload: Deployment/shop/web  ·  namespace: shop"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    text = "\n\n".join(sections)
    # the summary opens the body; bold is Slack's single asterisk
    assert sections[0].startswith("shop/web-1 (container app) is crash-looping: `yaml` is missing from the image")
    assert "*Last termination:* exit code 1" in text and "**" not in text
    # the table is laid out in columns inside a preformatted block: no Markdown pipes or rule
    assert "|---|" not in text and "| run |" not in text
    assert (
        "```run            state                      exit code  reason / message\n"
        "#4 (next)      waiting: CrashLoopBackOff             back-off 40s | restarting failed container=app\n"
        "#3 (previous)  terminated                 1          Error```"
    ) in text, text
    # ... and is not repeated as a table block (the body already has it)
    assert text.count("reason / message") == 1
    # the log: preformatted, escaped for mrkdwn, its fence closed
    assert ("```Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in &lt;module&gt;\n"
            "    import yaml\nModuleNotFoundError: No module named 'yaml'```") in text, text
    assert text.count("```") % 2 == 0
    assert "*Likely fix*\n\n• Add the package to the image (requirements.txt) and rebuild." in text
    assert all(len(t) <= 3000 for t in sections)


def test_a_long_slack_body_is_split_into_sections_and_a_cut_log_keeps_its_fence_closed() -> None:
    log = "\n".join(f"line {i} " + "x" * 60 for i in range(200))
    finding = _finding().model_copy(update={"body": f"summary\n\n**Log**\n\n```\n{log}\n```\n\nafter", "tables": []})
    sections = [b["text"]["text"] for b in slack_payload(finding, None)["blocks"] if b["type"] == "section"]
    assert sections[0] == "summary\n\n*Log*"
    assert sections[1].startswith("```line 0 ") and sections[1].endswith("…```") and len(sections[1]) <= 3000
    assert sections[2] == "after"
