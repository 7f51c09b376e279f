"""Collapsed-stack parsing, top-function ranking and SVG rendering (pure functions, no processes)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from host.agent.flamegraph import parse_collapsed, parse_frame, render_svg, top_functions

RAW = """\
<module> (/app/main.py:20);handle (/app/main.py:12);parse (/app/parse.py:5) 60
<module> (/app/main.py:20);handle (/app/main.py:12);parse (/app/parse.py:6) 20
<module> (/app/main.py:20);handle (/app/main.py:13) 15
<module> (/app/main.py:20);recurse (/app/r.py:3);recurse (/app/r.py:3) 5
not a stack line
"""


def test_frames_parse_with_and_without_file_and_line() -> None:
    assert parse_frame("parse (/app/parse.py:5)").line == 5
    assert parse_frame("PyEval_EvalFrame (libpython3.11.so.1.0)").file == "libpython3.11.so.1.0"
    assert parse_frame("PyEval_EvalFrame (libpython3.11.so.1.0)").line is None
    assert parse_frame("<idle>").file is None


def test_ranks_functions_by_self_share_with_their_hottest_line() -> None:
    stats = top_functions(parse_collapsed(RAW))

    first, second = stats[0], stats[1]
    assert (first.function, first.file, first.line) == ("parse", "/app/parse.py", 5)
    assert (first.self_samples, first.self_share, first.total_share) == (80, 0.8, 0.8)
    assert (second.function, second.self_samples, second.total_samples) == ("handle", 15, 95)
    recurse = next(stat for stat in stats if stat.function == "recurse")
    assert recurse.total_samples == 5  # a recursive function counts once per sample
    assert stats[-1].function == "<module>" and stats[-1].total_share == 1.0


def test_renders_well_formed_svg_with_a_title_per_visible_frame() -> None:
    svg = render_svg(parse_collapsed(RAW), title="a <profile> & more")

    root = ET.fromstring(svg)
    titles = [title.text or "" for title in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "all (100 samples, 100.00%)" in titles
    assert "parse (/app/parse.py:5) (60 samples, 60.00%)" in titles
    assert "a <profile> & more" in svg.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_an_empty_recording_renders_and_ranks_nothing() -> None:
    assert top_functions([]) == []
    assert ET.fromstring(render_svg([], title="empty")).tag.endswith("svg")
