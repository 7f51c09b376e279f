"""The findings store on real SQLite files: findings survive a restart, retention by count, age and
bytes (with its metrics), capped attachments, the outbox's at-least-once redelivery with the finding
id as idempotency key, the old spool taken in, one host per store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from host.config import Backoff, WebhookSink
from host.errors import ConfigError
from host.findings.files_sink import FilesSink
from host.findings.http_sink import HttpSink
from host.findings.service import FindingsService
from host.findings.store import DB_NAME, SCHEMA_VERSION, FindingQuery, FindingsStore, Retention
from host.metrics import Metrics
from host.model.events import Subject
from host.model.findings import Attachment, Finding

pytestmark = pytest.mark.timeout(60)
QUICK = Backoff(initial_seconds=0.05, max_seconds=0.2)
PAGE = 8 << 20


class Receiver:
    """A real HTTP endpoint (aiohttp's test server) that records every POST, headers included."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, Any], str | None]] = []
        self.failing = False
        self.refused = 0
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def handle(self, request: web.Request) -> web.Response:
        if self.failing:
            self.refused += 1
            return web.Response(status=503)
        self.posts.append((await request.json(), request.headers.get("Idempotency-Key")))
        return web.Response(status=204)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))

    def ids(self) -> list[str]:
        return [doc.get("id", key or "") for doc, key in self.posts]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.server.start_server()
    yield r
    await r.server.close()


def _finding(i: int, **extra: Any) -> Finding:
    return Finding(workflow="explainer", title=f"finding {i}", severity="high",
                   subject=Subject(kind="Pod", namespace="shop", name=f"web-{i}"),
                   labels={"cause": "OOMKilled", "n": str(i)}, **extra)


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def _eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.02)):
        got = check()
        if await got if asyncio.iscoroutine(got) else got:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def _none_pending(service: FindingsService, sink: str) -> bool:
    return await service.pending(sink) == 0


async def _titles(service: FindingsService, **query: Any) -> list[str]:
    page = await service.query(FindingQuery(**query), offset=0, limit=500, budget=PAGE)
    return [json.loads(doc)["title"] for doc in page.docs]


async def test_findings_and_their_attachments_survive_a_restart_of_the_service(tmp_path: Path) -> None:
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    first = FindingsService([], store=FindingsStore(tmp_path / "store"))
    await first.start()
    published = [_finding(i, attachments=[Attachment(name="flame.svg", media_type="image/svg+xml", data=svg)])
                 for i in range(12)]
    for f in published:
        await first.publish(f)
    await first.close()
    assert (tmp_path / "store" / DB_NAME).exists()

    second = FindingsService([], store=FindingsStore(tmp_path / "store"))
    await second.start()
    try:
        assert second.recent() == []  # nothing of this run in memory: all of it comes from the file
        assert await _titles(second) == [f"finding {i}" for i in range(11, -1, -1)]
        doc = await second.summary(published[3].id)
        assert doc == published[3].summary()
        assert await second.attachment(published[3].id, "flame.svg") == (True, ("image/svg+xml", svg))
        assert await second.attachment(published[3].id, "nope.svg") == (True, None)
        assert await second.attachment("f-nope", "flame.svg") == (False, None)
        loaded = await second.store.load(published[5].id)
        assert loaded == published[5]
        assert second.store.stats.findings == 12
        with sqlite3.connect(tmp_path / "store" / DB_NAME) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        await second.close()


async def test_publishing_the_same_finding_twice_stores_it_once(tmp_path: Path) -> None:
    service = FindingsService([], store=FindingsStore(tmp_path / "store"))
    f = _finding(1)
    await service.publish(f)
    await service.publish(f)
    assert await _titles(service) == ["finding 1"]
    await service.close()


async def test_retention_by_count_deletes_the_oldest_and_counts_them(tmp_path: Path) -> None:
    metrics = Metrics()
    store = FindingsStore(tmp_path / "store", retention=Retention(max_findings=5), metrics=metrics)
    service = FindingsService([], store=store, metrics=metrics)
    await service.start()
    for i in range(8):
        await service.publish(_finding(i))
    assert await _titles(service) == [f"finding {i}" for i in range(7, 2, -1)]
    assert _sample(metrics, "wfhost_findings_retention_deleted_total", reason="count") == 3
    assert _sample(metrics, "wfhost_findings_stored") == 5
    await service.close()


async def test_retention_by_age_deletes_what_is_older_than_max_age(tmp_path: Path) -> None:
    now = [1_000_000.0]
    metrics = Metrics()
    store = FindingsStore(tmp_path / "store", retention=Retention(max_age_seconds=3600), metrics=metrics,
                          clock=lambda: now[0])
    service = FindingsService([], store=store, metrics=metrics)
    for i in range(3):
        await service.publish(_finding(i))
    now[0] += 1800
    await service.publish(_finding(3))
    now[0] += 2000  # the first three are 3800 s old, the fourth 2000 s
    await store.sweep()
    assert await _titles(service) == ["finding 3"]
    assert _sample(metrics, "wfhost_findings_retention_deleted_total", reason="age") == 3
    now[0] += 5000  # the newest finding always stays
    await store.sweep()
    assert await _titles(service) == ["finding 3"]
    await service.close()


async def test_retention_by_bytes_keeps_the_store_under_max_bytes(tmp_path: Path) -> None:
    metrics = Metrics()
    store = FindingsStore(tmp_path / "store", retention=Retention(max_bytes=1 << 20), metrics=metrics)
    service = FindingsService([], store=store, metrics=metrics)
    blob = Attachment(name="heap.bin", media_type="application/octet-stream", data=b"\x00" * (300 << 10))
    for i in range(10):
        await service.publish(_finding(i, attachments=[blob]))
    titles = await _titles(service)
    assert titles == ["finding 9", "finding 8", "finding 7"]  # three of 300 KiB fit in 1 MiB, four do not
    assert store.stats.bytes <= 1 << 20
    assert _sample(metrics, "wfhost_findings_store_bytes") == store.stats.bytes
    assert _sample(metrics, "wfhost_findings_retention_deleted_total", reason="bytes") == 7
    assert _sample(metrics, "wfhost_findings_store_file_bytes") > 0
    await service.close()
    # The file gave the space back (incremental vacuum): about what is kept, not all ten.
    db = tmp_path / "store" / DB_NAME
    assert db.stat().st_size < 2 << 20


async def test_retention_counts_the_deliveries_it_gives_up(receiver: Receiver, tmp_path: Path) -> None:
    receiver.failing = True
    metrics = Metrics()
    store = FindingsStore(tmp_path / "store", retention=Retention(max_findings=2), metrics=metrics)
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url, max_retries=0), public_url=None)
    service = FindingsService([sink], store=store, metrics=metrics, retry_backoff=Backoff(initial_seconds=30))
    await service.start()
    for i in range(5):
        await service.publish(_finding(i))
    assert _sample(metrics, "wfhost_findings_deliveries_dropped_total", sink="webhook", reason="retention") == 3
    assert await service.pending("webhook") == 2
    assert _sample(metrics, "wfhost_findings_outbox_pending", sink="webhook") == 2
    await service.close()


async def test_attachments_above_the_cap_are_cut_or_left_out_with_a_note(tmp_path: Path) -> None:
    metrics = Metrics()
    service = FindingsService([], store=FindingsStore(tmp_path / "store", metrics=metrics), metrics=metrics,
                              max_attachment_bytes=4096)
    log = ("é" * 3000).encode()  # 6000 bytes, two per character
    f = _finding(1, body="The container ran out of memory.", attachments=[
        Attachment(name="previous.log", media_type="text/plain; charset=utf-8", data=log),
        Attachment(name="heap.bin", media_type="application/octet-stream", data=b"\x01" * 5000),
        Attachment(name="small.txt", media_type="text/plain", data=b"fits"),
    ])
    await service.publish(f)
    doc = await service.summary(f.id)
    assert doc is not None
    assert [a["name"] for a in doc["attachments"]] == ["previous.log", "small.txt"]
    assert doc["body"].startswith("The container ran out of memory.\n\n")
    assert "**Attachment `previous.log` truncated:** it had 6,000 bytes; the first" in doc["body"]
    assert "(`findings.store.maxAttachmentBytes` is 4,096)" in doc["body"]
    assert ("**Attachment `heap.bin` not stored:** it had 5,000 bytes of application/octet-stream, more than the "
            "4,096 that `findings.store.maxAttachmentBytes` allows.") in doc["body"]
    found, att = await service.attachment(f.id, "previous.log")
    assert found and att is not None
    media_type, data = att
    assert media_type == "text/plain; charset=utf-8"
    assert len(data) <= 4096
    text = data.decode("utf-8")  # cut between characters, never inside one
    assert text.startswith("é" * 100)
    assert text.endswith("of 6000 bytes are kept (findings.store.maxAttachmentBytes)]\n")
    assert await service.attachment(f.id, "heap.bin") == (True, None)
    assert await service.attachment(f.id, "small.txt") == (True, ("text/plain", b"fits"))
    assert _sample(metrics, "wfhost_findings_attachments_capped_total", action="truncated") == 1
    assert _sample(metrics, "wfhost_findings_attachments_capped_total", action="dropped") == 1
    await service.close()


async def test_the_webhook_gets_the_finding_id_in_the_body_and_as_idempotency_key(
    receiver: Receiver, tmp_path: Path
) -> None:
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url), public_url=None)
    service = FindingsService([sink], store=FindingsStore(tmp_path / "store"))
    await service.start()
    f = _finding(1)
    await service.publish(f)
    await service.flush(timeout=10)
    assert receiver.posts == [(receiver.posts[0][0], f.id)]
    assert receiver.posts[0][0]["id"] == f.id
    assert await service.pending("webhook") == 0
    await service.close()


async def test_a_delivery_cut_short_is_delivered_again_after_a_restart(receiver: Receiver, tmp_path: Path) -> None:
    """At least once: the receiver got the POST, but the host stopped before recording it (the ack)."""
    gate = asyncio.Event()
    took = asyncio.Event()

    class SlowToAnswer(HttpSink):
        async def deliver(self, finding: Finding) -> None:
            await super().deliver(finding)
            took.set()
            await gate.wait()  # the host dies here: delivered, not acknowledged

    config = WebhookSink(enabled=True, url=receiver.url)
    first = FindingsService([SlowToAnswer("webhook", config, public_url=None)], store=FindingsStore(tmp_path / "s"))
    await first.start()
    f = _finding(7)
    await first.publish(f)
    await asyncio.wait_for(took.wait(), 10)
    await first.close()  # cancels the delivery before its ack
    second = FindingsService([HttpSink("webhook", config, public_url=None)], store=FindingsStore(tmp_path / "s"))
    await second.start()
    await _eventually(lambda: len(receiver.posts) == 2)
    assert receiver.ids() == [f.id, f.id]  # twice, and the same id both times: the receiver can drop one
    assert [key for _, key in receiver.posts] == [f.id, f.id]
    await _eventually(lambda: _none_pending(second, "webhook"))
    await second.close()


async def test_once_the_receiver_is_back_every_waiting_delivery_goes_at_once(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.failing = True
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url, max_retries=0), public_url=None)
    metrics = Metrics()
    service = FindingsService([sink], store=FindingsStore(tmp_path / "store", metrics=metrics), metrics=metrics,
                              retry_backoff=Backoff(initial_seconds=0.05, max_seconds=60))
    await service.start()
    for i in range(20):
        await service.publish(_finding(i))
    await _eventually(lambda: service.failed["webhook"] == 20)
    await asyncio.sleep(1)  # retries back off, each row on its own clock, up to a minute apart
    receiver.failing = False
    began = asyncio.get_running_loop().time()
    await _eventually(lambda: len(set(receiver.ids())) == 20, timeout=30)
    assert asyncio.get_running_loop().time() - began < 10  # not each at its own next attempt
    assert _sample(metrics, "wfhost_findings_delivery_attempts_total", sink="webhook", outcome="failed") >= 20
    assert _sample(metrics, "wfhost_findings_delivery_attempts_total", sink="webhook", outcome="delivered") == 20
    await service.close()


async def test_a_receiver_that_stays_down_is_retried_ever_more_slowly(receiver: Receiver, tmp_path: Path) -> None:
    receiver.failing = True
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url, max_retries=0), public_url=None)
    service = FindingsService([sink], store=FindingsStore(tmp_path / "store"),
                              retry_backoff=Backoff(initial_seconds=0.05, max_seconds=0.2))
    await service.start()
    for i in range(50):
        await service.publish(_finding(i))
    await _eventually(lambda: service.failed["webhook"] == 50)  # each new one tried at once
    first_tries = receiver.refused
    await asyncio.sleep(2)
    # One retry at a time, pausing 0.05, 0.1, then 0.1-0.2 s: at most about 20 in 2 s, not one per
    # waiting delivery per pause (which would be hundreds).
    retries = receiver.refused - first_tries
    assert 3 <= retries <= 25, retries
    assert await service.pending("webhook") == 50
    await service.close()


async def test_a_slow_sink_does_not_hold_up_a_fast_one_and_flush_waits_for_the_first_try(tmp_path: Path) -> None:
    release = asyncio.Event()

    class Stuck:
        name = "stuck"

        async def deliver(self, finding: Finding) -> None:
            await release.wait()

    files = FilesSink(tmp_path / "files")
    service = FindingsService([Stuck(), files], store=FindingsStore(tmp_path / "store"))
    await service.start()
    await service.publish(_finding(1))
    await _eventually(lambda: len(list((tmp_path / "files").glob("*/finding.json"))) == 1)
    with pytest.raises(TimeoutError):
        await service.flush(timeout=0.3)
    release.set()
    await service.flush(timeout=10)
    await service.close()


async def test_what_an_older_wfhost_spooled_is_taken_into_the_outbox_and_delivered(
    receiver: Receiver, tmp_path: Path
) -> None:
    spool = tmp_path / "spool" / "webhook"
    spool.mkdir(parents=True)
    (spool / "f-0123456789ab.json").write_text(json.dumps({"id": "f-0123456789ab", "title": "from the old spool"}))
    (spool / "f-broken.json").write_text("{not json")
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url), public_url=None)
    service = FindingsService([sink], store=FindingsStore(tmp_path / "store"), legacy_spools={"webhook": spool})
    await service.start()
    await _eventually(lambda: len(receiver.posts) == 1)
    assert receiver.posts == [({"id": "f-0123456789ab", "title": "from the old spool"}, "f-0123456789ab")]
    assert sorted(p.name for p in spool.iterdir()) == ["f-broken.bad"]
    await service.close()


async def test_a_second_host_on_the_same_store_is_refused(tmp_path: Path) -> None:
    first = FindingsStore(tmp_path / "store")
    await first.open()
    second = FindingsStore(tmp_path / "store")
    with pytest.raises(ConfigError, match=r"findings.store.directory .*store is in use by another wfhost process \(pid"):
        await second.open()
    await second.close()
    await first.close()
    third = FindingsStore(tmp_path / "store")  # once the first let go
    await third.open()
    await third.close()


async def test_a_store_written_by_a_newer_wfhost_is_refused(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    with sqlite3.connect(tmp_path / "store" / DB_NAME) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = FindingsStore(tmp_path / "store")
    with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this wfhost knows"):
        await store.open()
    await store.close()


async def test_text_a_guest_wrote_with_a_lone_surrogate_is_stored_and_read_back(tmp_path: Path) -> None:
    service = FindingsService([], store=FindingsStore(tmp_path / "store"))
    # Pydantic refuses such text when it validates; a copy does not validate, as the files sink's test found.
    f = _finding(1).model_copy(update={"body": "bad \ud800 text", "labels": {"note": "odd \udfff"}})
    await service.publish(f)
    doc = await service.summary(f.id)
    assert doc is not None and doc["body"] == "bad \ud800 text" and doc["labels"] == {"note": "odd \udfff"}
    await service.close()


async def test_a_finding_the_store_cannot_take_is_still_delivered_once_and_counted(
    receiver: Receiver, tmp_path: Path
) -> None:
    metrics = Metrics()
    store = FindingsStore(tmp_path / "store", metrics=metrics)
    sink = HttpSink("webhook", WebhookSink(enabled=True, url=receiver.url), public_url=None)
    service = FindingsService([sink], store=store, metrics=metrics)
    await service.start()
    # A full disk, as SQLite itself reports it (SQLITE_FULL): the database may not grow past its size now.
    pages = await store.write(lambda conn: conn.execute("PRAGMA page_count").fetchone()[0])
    await store.write(lambda conn: conn.execute(f"PRAGMA max_page_count = {pages + 8}"))
    big = _finding(1, attachments=[Attachment(name="heap.bin", media_type="application/octet-stream",
                                              data=b"\x02" * (64 << 10))])
    await service.publish(big)  # does not raise: the workflow's report still succeeds
    await service.flush(timeout=10)
    assert _sample(metrics, "wfhost_findings_store_errors_total") == 1
    assert receiver.ids() == [big.id]  # delivered once, from memory
    assert await _titles(service) == []  # not in the store ...
    assert (await service.summary(big.id) or {})["title"] == "finding 1"  # ... but served while the host runs
    assert await service.attachment(big.id, "heap.bin") == (True, ("application/octet-stream", b"\x02" * (64 << 10)))
    await service.publish(_finding(2))  # a small one still fits: the store goes on
    await service.flush(timeout=10)
    assert await _titles(service) == ["finding 2"]
    await service.close()
