"""Text a workflow chose reaches people escaped: terminal sequences in errors and titles are shown,
not obeyed, JSON lines never carry raw U+2028/U+2029 or C1 controls, `.`/`..` are no attachment names."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from host.capabilities.context import CallContext
from host.capabilities.policy import Grant, Policy
from host.capabilities.routes import build_router
from host.config import SandboxConfig
from host.model.events import Event
from host.rpc import ErrorCode, RpcError
from host.text import dumps_json, shown
from tests.conftest import simple_workflow
from tests.runtime.test_cli import wfhost

pytestmark = pytest.mark.timeout(120)

# Clear the screen, set the clipboard (OSC 52), go back to the line start and forge an "ok" line,
# flip the text direction, and an 8-bit CSI.
HOSTILE = "\\x1b[2J\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\rok   all good\\u202e\\x9b31m\\u2028next"
RAW = "\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\rok   all good\u202e\x9b31m\u2028next"
CONTROLS = ("\x1b", "\x07", "\r", "\u202e", "\x9b", "\u2028")


def test_shown_makes_every_control_character_visible() -> None:
    text = shown(RAW)
    assert not any(c in text for c in CONTROLS)
    assert text == "\\x1b[2J\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0dok   all good\\u202e\\x9b31m\\u2028next"
    assert shown("line one\nok   forged", newlines=True) == "line one\n    ok   forged"


def test_json_lines_escape_separators_and_c1_controls_and_stay_valid() -> None:
    line = dumps_json({"title": RAW, "n": 1})
    assert not any(c in line for c in CONTROLS)
    assert "\n" not in line and "\u2029" not in dumps_json("\u2029")
    assert json.loads(line) == {"title": RAW, "n": 1}


def test_invoke_shows_a_hostile_error_and_title_escaped(tmp_path: Path) -> None:
    wf = tmp_path / "forge.ts"
    wf.write_text(textwrap.dedent(simple_workflow(
        "forge", f'await ctx.report({{ title: "{HOSTILE}" }}); throw new Error("{HOSTILE}");')))
    proc = wfhost("invoke", str(wf), state=tmp_path / "s")
    assert proc.returncode == 1
    for c in CONTROLS:
        assert c not in proc.stderr, repr(c)
        assert c not in proc.stdout, repr(c)
    assert "\\x1b]52;c;" in proc.stderr
    assert not any(line.startswith("ok") for line in proc.stderr.splitlines())
    (finding,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert finding["title"] == RAW  # escaped on the wire, intact for a JSON reader


@pytest.mark.parametrize("name", [".", ".."])
async def test_dot_and_dotdot_are_refused_as_attachment_names(name: str) -> None:
    caps = frozenset({"findings.report"})
    ctx = CallContext(invocation_id="inv-1", workflow="w", event=Event(kind="manual"), params={},
                      policy=Policy(workflow="w", declared=caps, granted=Grant(capabilities=caps)),
                      limits=SandboxConfig())
    with pytest.raises(RpcError) as info:
        await build_router().call(ctx, "findings.report", {
            "title": "x", "attachments": [{"name": name, "text": "data"}]})
    assert info.value.code == ErrorCode.INVALID_PARAMS
    assert "is not a file name" in info.value.message
    assert ctx.findings == []
