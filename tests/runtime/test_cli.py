"""`wfhost invoke` and `wfhost check` as a user runs them: real processes, exit codes, stdout lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, simple_workflow

pytestmark = pytest.mark.timeout(120)


def wfhost(*args: str, state: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    cfg = state.parent / "cfg.yaml"
    cfg.write_text(f"sandbox:\n  stateDir: {state}\n")
    return subprocess.run(
        [sys.executable, "-m", "host.cli.main", *args, "--config", str(cfg)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )


def test_invoke_prints_each_finding_as_a_json_line(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"kind": "manual", "target": {"namespace": "shop", "pod": "web-1"}}))
    wf = tmp_path / "two.ts"
    wf.write_text(textwrap.dedent(simple_workflow(
        "two", """
        await ctx.report({ title: `first ${event.target?.pod} ${ctx.params.n}`, body: "# body", severity: "high" });
        await ctx.report({ title: "second" });
        """, params='{ n: { type: "number", default: 1 } }')))
    proc = wfhost("invoke", str(wf), "--event", str(event), "--param", "n=7", state=tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["title"] for x in lines] == ["first web-1 7", "second"]
    assert lines[0]["workflow"] == "two"
    assert lines[0]["body"] == "# body"
    assert lines[0]["severity"] == "high"
    assert lines[1]["severity"] == "info"


def test_invoke_of_the_example_workflow_works(tmp_path: Path) -> None:
    proc = wfhost("invoke", str(REPO / "examples/workflows/hello.ts"), "--event",
                  str(REPO / "examples/events/manual.json"), state=tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    finding = json.loads(proc.stdout.splitlines()[0])
    assert {"workflow", "title", "body", "severity"} <= finding.keys()


def test_invoke_exits_1_with_the_message_when_the_workflow_throws(tmp_path: Path) -> None:
    wf = tmp_path / "boom.ts"
    wf.write_text(textwrap.dedent(simple_workflow("boom", "throw new Error('the pod is on fire');")))
    proc = wfhost("invoke", str(wf), state=tmp_path / "s")
    assert proc.returncode == 1
    assert "the pod is on fire" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--param", "nope=1"], "declares no such param"),
        (["--param", "novalue"], "expected NAME=VALUE"),
        (["--event", "/nonexistent/event.json"], "cannot read"),
    ],
)
def test_invoke_exits_2_for_bad_usage(tmp_path: Path, args: list[str], words: str) -> None:
    wf = tmp_path / "ok.ts"
    wf.write_text(textwrap.dedent(simple_workflow("ok")))
    proc = wfhost("invoke", str(wf), *args, state=tmp_path / "s")
    assert proc.returncode == 2, proc
    assert words in proc.stderr


def test_invoke_exits_2_for_a_refused_workflow(tmp_path: Path) -> None:
    wf = tmp_path / "thief.ts"
    wf.write_text('import t from "/etc/passwd" with { type: "text" };\n' + textwrap.dedent(simple_workflow("thief")))
    proc = wfhost("invoke", str(wf), state=tmp_path / "s")
    assert proc.returncode == 2
    assert "workflow refused" in proc.stderr
    assert "outside the workflow directory" in proc.stderr


def test_invoke_exits_2_for_an_invalid_event(tmp_path: Path) -> None:
    wf = tmp_path / "ok.ts"
    wf.write_text(textwrap.dedent(simple_workflow("ok")))
    ev = tmp_path / "ev.json"
    ev.write_text('{"kind": "pod.exploded"}')
    proc = wfhost("invoke", str(wf), "--event", str(ev), state=tmp_path / "s")
    assert proc.returncode == 2
    assert "invalid event: kind" in proc.stderr


def test_a_bad_config_value_names_its_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("workflows:\n  podTroubleshooting:\n    pythonProfiler:\n      defaultDuration: -1\n")
    proc = subprocess.run([sys.executable, "-m", "host.cli.main", "check", str(tmp_path), "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "workflows.podTroubleshooting.pythonProfiler.defaultDuration" in proc.stderr


def test_check_reports_one_line_per_file_and_fails_on_type_errors(tmp_path: Path) -> None:
    d = tmp_path / "wfs"
    d.mkdir()
    (d / "good.ts").write_text(textwrap.dedent(simple_workflow("good")))
    (d / "typo.ts").write_text(textwrap.dedent(simple_workflow("typo", "await ctx.report({ titel: 'x' });")))
    (d / "refused.ts").write_text('import "../x.ts";\n' + textwrap.dedent(simple_workflow("refused")))
    proc = wfhost("check", str(d), state=tmp_path / "s", timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"ok   {d / 'good.ts'}" in out
    assert f"FAIL {d / 'typo.ts'}: type check failed" in out
    assert "titel" in out
    assert str(d / "typo.ts") in out  # diagnostics point at the user's file, not the snapshot
    assert f"FAIL {d / 'refused.ts'}" in out


def test_check_passes_on_the_examples(tmp_path: Path) -> None:
    proc = wfhost("check", str(REPO / "examples/workflows"), state=tmp_path / "s", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
