"""The in-memory findings cache is bounded by bytes as well as count; listings are paged."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from host.api.server import ApiServer
from host.findings.service import FindingsService, finding_bytes
from host.model.findings import Attachment, Finding, Table
from tests.conftest import make_config

BLOB = b"x" * (2 << 20)


def _big(i: int) -> Finding:
    return Finding(workflow="big", title=f"big {i}", attachments=[Attachment(name="a.bin", media_type="application/octet-stream", data=BLOB)])


async def test_large_findings_are_kept_within_the_byte_budget_not_just_the_count() -> None:
    service = FindingsService([], keep=500, keep_bytes=16 << 20)
    for i in range(100):
        await service.publish(_big(i))
    kept = service.recent()
    assert 1 <= len(kept) <= 8
    assert service.kept_bytes <= 16 << 20
    assert sum(finding_bytes(f) for f in kept) == service.kept_bytes
    assert kept[0].title == "big 99"  # the newest stay


def test_labels_count_towards_a_findings_size() -> None:
    bare = Finding(workflow="t", title="t")
    labelled = bare.model_copy(update={"labels": {f"key{i}": "v" * 256 for i in range(32)}})
    assert finding_bytes(labelled) - finding_bytes(bare) >= 32 * 256


async def test_a_table_heavy_finding_counts_its_cells() -> None:
    rows: list[list[str | int | float | bool | None]] = [["cell"] * 50 for _ in range(5000)]
    heavy = Finding(workflow="t", title="t", tables=[Table(columns=["c"] * 50, rows=rows)])
    assert finding_bytes(heavy) > 15_000_000
    service = FindingsService([], keep=500, keep_bytes=8 << 20)
    await service.publish(heavy)  # larger than the whole budget: delivered, not kept
    assert service.recent() == []


async def test_the_findings_listing_is_paged(tmp_path: Path) -> None:
    service = FindingsService([], keep=500, keep_bytes=64 << 20)
    for i in range(30):
        await service.publish(Finding(workflow="w", title=f"f{i}"))
    host: Any = SimpleNamespace(config=make_config(tmp_path, api={"token": "t"}), findings=service)
    api = ApiServer(host, host.config.api, wait_seconds=30)
    async with TestClient(TestServer(api.app), headers={"Authorization": "Bearer t"}) as client:
        first = await (await client.get("/api/v1/findings?limit=20")).json()
        second = await (await client.get(f"/api/v1/findings?limit=20&offset={first['next']}")).json()
        bad = await client.get("/api/v1/findings?offset=-1")
    assert [f["title"] for f in first["items"]] == [f"f{i}" for i in range(29, 9, -1)]
    assert first["next"] == 20
    assert [f["title"] for f in second["items"]] == [f"f{i}" for i in range(9, -1, -1)]
    assert second["next"] is None
    assert bad.status == 400
