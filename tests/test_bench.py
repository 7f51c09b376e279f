"""The benchmark suite's plumbing (`python -m bench`): what it writes and how it pairs results. No timing targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench._counter import Counter
from bench.e2e_throughput import summarize
from bench.report import Row, table
from bench.soak import Sample, verdict
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(180)

ROW_KEYS = {"measurement", "size", "value", "unit", "ratio", "ratio_of", "target", "met", "detail"}
MACHINE_KEYS = {"date", "cpu_count", "cpu_model", "kernel", "python", "deno", "kopf", "commit",
                "load_average_at_start", "load_average_at_end"}


def test_the_cheapest_measurement_writes_results_json_with_the_machine_and_rows(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "runtime", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=170, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert doc["command"] == f"python -m bench --quick --only runtime --out {out}"
    assert doc["errors"] == {}
    assert set(doc["machine"]) >= MACHINE_KEYS
    assert doc["machine"]["cpu_count"] == os.cpu_count()
    assert doc["machine"]["deno"].startswith("deno ")
    rows = doc["results"]
    assert len(rows) == 3
    for row in rows:
        assert set(row) == ROW_KEYS
        assert isinstance(row["value"], int | float) and row["value"] > 0
        assert row["detail"]["measurement_group"] == "runtime"
    warm = next(r for r in rows if r["measurement"].startswith("warm invocation"))
    assert warm["ratio_of"] == "floor" and warm["ratio"] > 0 and isinstance(warm["met"], bool)
    # The table printed is the rows of the file.
    for row in rows:
        assert row["measurement"] in proc.stdout


def test_update_replaces_only_the_rows_of_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    kept = {"measurement": "e2e row", "size": "", "value": 1, "unit": "", "ratio": None, "ratio_of": None,
            "target": None, "met": None, "detail": {"measurement_group": "e2e"}}
    stale = {**kept, "measurement": "old runtime row", "detail": {"measurement_group": "runtime"}}
    out.write_text(json.dumps({"command": "python -m bench --quick", "quick": True, "machine": {"date": "then"},
                               "results": [kept, stale], "errors": {}}))
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "runtime", "--update", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=170, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    names = [r["measurement"] for r in doc["results"]]
    assert names[-1] == "e2e row" and "old runtime row" not in names and len(names) == 4  # in the suite's order
    assert [run["measurements"] for run in doc["runs"]] == [["e2e", "runtime"], ["runtime"]]
    assert doc["runs"][0]["date"] == "then"


def test_an_unknown_measurement_is_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "nonesuch"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_the_table_has_one_line_per_row_and_says_whether_a_target_was_met() -> None:
    rows = [Row("a", "10", 1234.5, "ms", target="< 300 ms", met=False), Row("b", "", 0.5, "x", ratio=1.5, ratio_of="kopf")]
    lines = table(rows).splitlines()
    assert len(lines) == 4
    assert "1,234" in lines[2] and "NOT met" in lines[2]
    assert "1.50x kopf" in lines[3]


def _run(kind: str, size: int, rnd: int, rate: float, cpu: float) -> dict[str, object]:
    return {"kind": kind, "size": size, "round": rnd, "catchup_events_per_s": rate, "first_to_last_events_per_s": rate * 2,
            "cpu_us_per_event": cpu, "cpu_us_per_event_process": cpu / 2, "handled": 5000, "lost": 0, "duplicated": 0}


def test_e2e_ratios_pair_each_wfhost_run_with_kopf_of_the_same_round() -> None:
    results = [
        _run("wfhost", 0, 0, 2000, 600), _run("kopf", 0, 0, 4000, 300), _run("wfhost", 10, 0, 1000, 900),
        _run("wfhost", 0, 1, 3000, 500), _run("kopf", 0, 1, 2000, 250), _run("wfhost", 10, 1, 1500, 800),
        _run("wfhost", 0, 2, 2500, 550), _run("kopf", 0, 2, 2500, 275), _run("wfhost", 10, 2, 1200, 850),
    ]
    summary = summarize(results)
    # Per round 0.5x, 1.5x, 1.0x: the median of the paired ratios, not the ratio of the medians.
    assert summary["wfhost:0"]["catchup_ratio"] == pytest.approx(1.0)
    assert summary["wfhost:0"]["first_to_last_ratio"] == pytest.approx(1.0)
    assert summary["wfhost:0"]["cpu_ratio"] == pytest.approx(2.0)
    assert summary["wfhost:0"]["cpu_process_ratio"] == pytest.approx(1.0)
    assert summary["wfhost:0"]["catchup_events_per_s"] == 2500
    assert summary["kopf:0"]["catchup_events_per_s"] == 2500
    assert "catchup_ratio" not in summary["kopf:0"]
    assert summary["wfhost:10"]["catchup_ratio"] == pytest.approx(0.48)


def test_a_consumer_that_failed_has_no_rate_and_no_ratio() -> None:
    summary = summarize([{"kind": "wfhost", "size": 0, "round": 0, "error": "boom"}, _run("kopf", 0, 0, 4000, 300)])
    assert "catchup_events_per_s" not in summary["wfhost:0"]
    assert summary["kopf:0"]["catchup_events_per_s"] == 4000


def test_the_counter_answers_arm_stat_and_done_on_its_report_pipe() -> None:
    read_fd, write_fd = os.pipe()
    counter = Counter(write_fd)
    counter._serve(iter(["arm 2\n"]))  # type: ignore[arg-type]
    counter.note()
    counter.note(ok=False)
    counter.note()
    counter._serve(iter(["stat\n"]))  # type: ignore[arg-type]
    counter._out.close()
    with os.fdopen(read_fd, encoding="utf-8") as replies:
        docs = [json.loads(line) for line in replies]
    assert [d["reply"] for d in docs] == ["armed", "done", "stat"]
    assert docs[1]["count"] == 2 and docs[1]["failed"] == 1 and docs[1]["first"] <= docs[1]["last"]
    assert docs[2]["count"] == 3


SOAK_SAMPLE_KEYS = {"t", "rss_mb", "fds", "tasks", "queue_depth", "workers_warm", "findings_stored", "invocations",
                    "events_seen", "deno_children", "deno_pss_mb"}


def _samples(rss: list[float], fds: list[int]) -> list[Sample]:
    return [Sample(t=5.0 * i, rss_mb=r, fds=f, tasks=20, queue_depth=0, workers_warm=2, findings_stored=0,
                   invocations=i, events_seen=i, deno_children=2, deno_pss_mb=60.0)
            for i, (r, f) in enumerate(zip(rss, fds, strict=True))]


def test_the_soak_verdict_sees_growth_only_past_its_tolerance_over_the_last_two_thirds() -> None:
    # Growth in the first third (warming up) does not count; a rise across the window does.
    warm = [80.0 + i for i in range(10)] + [100.0] * 20
    assert verdict(_samples(warm, [20] * 30))["growth"] is False
    rising = [100.0 + 0.5 * i for i in range(30)]
    found = verdict(_samples(rising, [20] * 30))
    assert found["growth"] is True and found["rss_slope_mb_per_min"] == pytest.approx(6.0)
    leaking_fds = verdict(_samples([100.0] * 30, [20 + i // 3 for i in range(30)]))
    assert leaking_fds["growth"] is True and leaking_fds["fd_change"] > 2


def test_the_recorded_soak_has_every_sample_and_the_verdict_its_samples_give() -> None:
    doc = json.loads((REPO / "bench" / "soak.json").read_text())
    assert set(doc["machine"]) >= MACHINE_KEYS - {"kopf"}
    assert doc["settings"]["minutes"] >= 10  # the acceptance: a soak of minutes
    samples = doc["samples"]
    assert len(samples) >= doc["settings"]["minutes"] * 60 / doc["settings"]["interval_s"] * 0.9
    for sample in samples:
        assert set(sample) == SOAK_SAMPLE_KEYS
    assert samples[-1]["invocations"] > 1000 and samples[-1]["findings_stored"] > 0
    assert verdict([Sample(**s) for s in samples]) == doc["verdict"]
