"""`profile`: py-spy record gives the hottest functions and an SVG flamegraph."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.agent.conftest import SpawnTarget, run_agent

SVG = "{http://www.w3.org/2000/svg}"


def test_cpu_bound_function_is_the_hottest_frame_and_in_the_flamegraph(spawn_target: SpawnTarget) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("profile", "--pid", str(target.pid), "--duration", "2", "--rate", "200")

    result = run.result
    hottest = result["topFunctions"][0]
    assert hottest["function"] == "burn_cpu"
    assert hottest["file"].endswith("targets/cpu_bound.py")
    assert hottest["line"] in (8, 9)
    assert hottest["selfShare"] > 0.5
    assert result["samples"] > 100
    assert result["rate"] == 200
    (artifact,) = result["artifacts"]
    assert (artifact["name"], artifact["mediaType"], artifact["encoding"]) == (
        "flamegraph.svg",
        "image/svg+xml",
        "base64",
    )
    svg = ET.fromstring(base64.b64decode(artifact["data"]))
    titles = [title.text or "" for title in svg.iter(f"{SVG}title")]
    burn_shares = [
        float(title.rsplit(", ", 1)[1].rstrip("%)")) for title in titles if title.startswith("burn_cpu (")
    ]
    assert sum(burn_shares) > 50.0, titles


def test_writes_the_flamegraph_under_out_dir_instead_of_embedding_it(
    spawn_target: SpawnTarget, tmp_path: Path
) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("profile", "--pid", str(target.pid), "--duration", "1", "--out", str(tmp_path / "out"))

    (artifact,) = run.result["artifacts"]
    assert artifact["data"] is None and artifact["encoding"] is None
    written = Path(artifact["path"])
    assert written.parent == tmp_path / "out"
    assert written.stat().st_size == artifact["sizeBytes"]
    assert b"burn_cpu" in written.read_bytes()
