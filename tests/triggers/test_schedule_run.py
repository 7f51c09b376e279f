"""`wfhost run` fires a schedule on time and never runs it twice at once.

The real CLI as a subprocess, a real sandboxed TypeScript workflow that outlasts its interval
(a `"2s"` schedule with 1 s of work, and a `"1s"` one with 1.5 s, four runs of it allowed at once), and the builtin stand-in
cluster (`wfhost run` wants a kubeconfig; the workflow never touches the cluster). Without
skipping, a tick would start a second run every second while the first is still going.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from host.localcluster import LocalCluster, LocalClusterSettings
from tests.conftest import REPO
from tests.integration.conftest import free_port, wait_for

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

SLOW_TICK = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "slow-tick",
  triggers: [{ on: "schedule", schedule: "SCHEDULE" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    const start = Date.now();
    ctx.log.info("start %d", start);
    await new Promise((resolve) => setTimeout(resolve, WORK_MS));
    const end = Date.now();
    ctx.log.info("end %d", end);
    const schedule = event.kind === "schedule" ? event.schedule : "?";
    await ctx.report({ title: `slow-tick ${schedule}`, body: JSON.stringify({ start, end }) });
  },
});
"""

WINDOW_SECONDS = 10.0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def _runs(findings: Path) -> list[dict[str, Any]]:
    out = []
    for doc in sorted(findings.glob("*/finding.json")):
        if doc.parent.name.startswith("."):
            continue  # still being written (the files sink renames the folder into place)
        finding = json.loads(doc.read_text())
        out.append({"title": finding["title"], **json.loads(finding["body"])})
    return sorted(out, key=lambda run: run["start"])


# A 2 s schedule with 1 s of work: every tick runs. A 1 s schedule with 1.5 s of work: a tick comes
# while a run is going, and only skipping keeps two runs apart.
@pytest.mark.parametrize(("schedule", "work_ms", "min_skipped"), [("2s", 1000, 0), ("1s", 1500, 3)])
def test_wfhost_run_fires_a_schedule_every_interval_and_never_twice_at_once(
    tmp_path: Path, schedule: str, work_ms: int, min_skipped: int
) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    code = textwrap.dedent(SLOW_TICK).replace("SCHEDULE", schedule).replace("WORK_MS", str(work_ms))
    (workflows / "slow-tick.ts").write_text(code)
    builtin = tmp_path / "no-builtins"
    builtin.mkdir()
    findings = tmp_path / "findings"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "host.log"
    with LocalCluster(LocalClusterSettings.for_tests(), kubelet=False) as cluster:
        config = {
            "workflows": {"builtinDirectory": str(builtin)},
            "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(workflows)}}},
            # Four runs of a workflow may go at once: only the schedule's skipping keeps them apart.
            "sandbox": {"stateDir": str(tmp_path / "state"), "concurrencyPerWorkflow": 4},
            "sinks": {"files": {"enabled": True, "directory": str(findings)}, "log": {"enabled": False}},
            "api": {"host": "127.0.0.1", "port": port, "token": "t"},
            "cluster": {"kubeconfig": str(cluster.kubeconfig_path)},
            "logging": {"format": "json", "level": "info"},
        }
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump(config))
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "host.cli.main", "run", "--config", str(cfg)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        try:
            wait_for(
                lambda: _get(f"{url}/readyz")[0] == 200 or proc.poll() is not None, timeout=90, what="readyz"
            )
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(WINDOW_SECONDS)
            status, metrics = _get(f"{url}/metrics")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    host_log = log.read_text()
    assert proc.returncode == 0, host_log[-3000:]
    runs = _runs(findings)
    assert len(runs) >= 4, (runs, host_log[-3000:])  # at least 4 runs in the 10 s window
    assert {run["title"] for run in runs} == {f"slow-tick {schedule}"}
    for earlier, later in itertools.pairwise(runs):
        assert later["start"] >= earlier["end"], f"two scheduled runs overlapped: {earlier} and {later}"
    assert status == 200
    if min_skipped:
        skipped = re.search(r'^wfhost_schedule_skipped_total\{workflow="slow-tick"\} ([0-9.e+]+)$', metrics, re.M)
        assert skipped is not None, metrics
        assert float(skipped.group(1)) >= min_skipped  # the ticks that came while a run was going
        assert '"schedule.skipped"' in host_log
    else:
        assert '"schedule.skipped"' not in host_log
