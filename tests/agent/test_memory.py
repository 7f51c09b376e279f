"""`memory`: a leaking list shows up as the top allocation site, with memray or tracemalloc."""

from __future__ import annotations

import base64

import pytest

from tests.agent.conftest import SpawnTarget, run_agent

pytestmark = pytest.mark.gdb_call

LEAKING_LINE = 10  # targets/leaky.py: LEAKED.append(bytearray(4096))


def test_leaking_list_is_the_top_allocation_site_with_memray(spawn_target: SpawnTarget) -> None:
    target = spawn_target("leaky.py")

    run = run_agent("memory", "--pid", str(target.pid), "--duration", "2")

    result = run.result
    assert result["method"] == "memray"
    assert result["fallbackReason"] is None
    top = result["topAllocationSites"][0]
    assert (top["function"], top["line"]) == ("leak_some", LEAKING_LINE)
    assert top["file"].endswith("targets/leaky.py")
    assert top["count"] > 100
    leak = result["leakCandidates"][0]
    assert (leak["function"], leak["line"]) == ("leak_some", LEAKING_LINE)
    assert leak["bytes"] > 100 * 4096
    assert any("<module>" in frame for frame in leak["stack"])
    assert result["totalAllocatedBytes"] >= result["stillAllocatedBytes"] >= leak["bytes"]
    assert result["peakBytes"] >= leak["bytes"]
    assert not any("payload" in site["file"] for site in result["topAllocationSites"])
    (artifact,) = result["artifacts"]
    assert artifact["mediaType"] == "text/html"
    assert b"leak_some" in base64.b64decode(artifact["data"])


def test_falls_back_to_tracemalloc_when_the_target_cannot_import_memray(spawn_target: SpawnTarget) -> None:
    # -I -S: no site-packages, like a slim image without memray; the stdlib is still there.
    target = spawn_target("leaky.py", python_flags=["-I", "-S"])

    run = run_agent("memory", "--pid", str(target.pid), "--duration", "2")

    result = run.result
    assert result["method"] == "tracemalloc"
    assert "No module named 'memray'" in result["fallbackReason"]
    top = result["topAllocationSites"][0]
    assert (top["file"].rsplit("/", 1)[-1], top["line"]) == ("leaky.py", LEAKING_LINE)
    assert top["count"] > 10
    assert result["leakCandidates"][0]["line"] == LEAKING_LINE
    assert result["totalAllocatedBytes"] is None
    assert result["peakBytes"] >= result["stillAllocatedBytes"] > 10 * 4096
    assert result["artifacts"] == []
    assert result["notes"]


def test_tracemalloc_can_be_asked_for_even_when_memray_would_work(spawn_target: SpawnTarget) -> None:
    target = spawn_target("leaky.py")  # same interpreter as the tests, which import memray fine

    run = run_agent("memory", "--pid", str(target.pid), "--duration", "1", "--method", "tracemalloc")

    assert run.result["method"] == "tracemalloc"
    assert run.result["fallbackReason"] == "tracemalloc was requested"
    assert run.result["topAllocationSites"][0]["line"] == LEAKING_LINE
