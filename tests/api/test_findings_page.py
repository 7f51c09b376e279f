"""The findings page in headless Chromium: signing in with a token (kept in the tab only), the list, a
finding opened with its table and inline flamegraph, its labels as chips (escaped), the list filtered by
a label, and an explainer's finding (made by the SDK's `explanationFinding`) with its Markdown table as
a table and its log as preformatted text. Chromium is driven over DevTools (`tests/api/browser.py`)."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from host.runtime.app import Host
from host.service import Service
from tests.api.browser import CHROMIUM, LOADED, Browser, signed_in_page
from tests.conftest import make_config

TOKEN = "page-token"
OPENED = LOADED + " && document.querySelector('#detail h2') !== null"
IMAGES_SHOWN = OPENED + " && [...document.querySelectorAll('#detail img')].every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0)"
pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

FLAME = """
import { defineWorkflow } from "@wfhost/sdk";
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="120">
  <rect x="0" y="90" width="600" height="28" fill="#e25822"/><text x="6" y="109" font-size="14">main</text>
  <rect x="0" y="60" width="420" height="28" fill="#f2a33a"/><text x="6" y="79" font-size="14">handle_request</text>
  <rect x="0" y="30" width="250" height="28" fill="#f6c342"/><text x="6" y="49" font-size="14">checksum_catalogue</text>
</svg>`;
// Workflow-made text: must reach the page as text, never as markup.
const NASTY = '<script>document.title = "pwned"</script><img src=x onerror="document.body.dataset.pwned = 1">';
export default defineWorkflow({
  name: "python-profiler",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    const pod = event.kind === "manual" ? event.target.pod : "?";
    await ctx.report({ title: `Profile of shop/${pod}: checksum_catalogue 41%`, severity: "medium",
      body: "## Hottest functions\\nThe request loop spends most of its time in `checksum_catalogue`.",
      tables: [{ title: "Top functions", columns: ["function", "self share"], rows: [["checksum_catalogue", "41%"], ["handle_request", "12%"]] }],
      attachments: [{ name: "flamegraph.svg", mediaType: "image/svg+xml", text: SVG }],
      labels: { cause: "OOMKilled", workload: "Deployment/shop/web", note: NASTY } });
    await ctx.report({ title: `Older finding for ${pod}`, severity: "low", labels: { cause: "ApplicationError" } });
  },
});
"""

# A finding shaped exactly as the built-in explainers report it: `explanationFinding` of the SDK
# itself turns the explanation into the title, the Markdown body (summary first, then the evidence:
# text, a table, a fenced log; then "Likely fix") and the labels.
EXPLAINED = r"""
import { defineWorkflow } from "@wfhost/sdk";
import { explanationFinding } from "@wfhost/sdk/explain.ts";
export default defineWorkflow({
  name: "explained-crash",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  async run(ctx) {
    await ctx.report(explanationFinding({
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
          text: "Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\n"
            + "    import yaml\nModuleNotFoundError: No module named 'yaml'" },
      ],
      fix: ["Add the package to the image (requirements.txt) and rebuild.",
            "Check that the image tag deployed is the one built with it."],
    }, { namespace: "shop", workload: "Deployment/shop/web", labels: { container: "app" },
         subject: { kind: "Pod", namespace: "shop", name: "web-1" } }));
  },
});
"""


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Service]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "flame.ts").write_text(textwrap.dedent(FLAME))
    (custom / "explained.ts").write_text(textwrap.dedent(EXPLAINED))
    (tmp_path / "builtin").mkdir()
    config = make_config(
        tmp_path, api={"host": "127.0.0.1", "port": 0, "token": TOKEN},
        workflows={"builtinDirectory": str(tmp_path / "builtin")},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )
    service = Service(Host(config, with_cluster=False))
    try:
        await service.start(watch=False)
        yield service
    finally:
        await service.stop()


def _opened_with_screenshot(url: str, profile: Path) -> tuple[str, bytes]:
    with Browser(profile) as browser:
        browser.open(url)
        browser.sign_in(TOKEN)
        browser.wait_for(IMAGES_SHOWN)
        return browser.html(), browser.screenshot()


def _sign_in_story(url: str, profile: Path) -> dict[str, object]:
    """What a person sees: asked for a token, a wrong one refused, the right one kept in the tab only."""
    seen: dict[str, object] = {}
    with Browser(profile) as browser:
        browser.open(url)
        browser.wait_for("!document.getElementById('sign-in').hidden")
        seen["before"] = browser.html()
        browser.sign_in("not-the-token")
        browser.wait_for("document.getElementById('sign-in-error').textContent.includes('wrong bearer token')")
        seen["refused_kept"] = browser.evaluate("sessionStorage.getItem('wfhost.apiToken')")
        browser.sign_in(TOKEN)
        browser.wait_for(LOADED)
        seen["after"] = browser.html()
        seen["session"] = browser.evaluate("sessionStorage.getItem('wfhost.apiToken')")
        seen["local"] = browser.evaluate("localStorage.length")
        seen["address"] = browser.evaluate("location.href")
        seen["cookies"] = browser.evaluate("document.cookie")
        browser.evaluate("document.getElementById('sign-out').click(); true")
        browser.wait_for("!document.getElementById('sign-in').hidden")
        seen["signed_out"] = browser.evaluate("sessionStorage.getItem('wfhost.apiToken')")
        seen["list_after_sign_out"] = browser.evaluate("document.getElementById('findings').innerHTML")
    return seen


async def test_the_page_asks_for_a_token_and_keeps_it_in_the_tab_only(host: Service, tmp_path: Path) -> None:
    import asyncio

    from host.model.events import Event, Target

    _, fut = host.host.dispatcher.trigger(
        "python-profiler", Event(kind="manual", target=Target(namespace="shop", pod="web-9")), {}, wait=True)
    assert fut is not None
    assert (await fut).outcome == "ok"
    seen = await asyncio.to_thread(_sign_in_story, f"{host.url}/", tmp_path / "p0")
    before, after = str(seen["before"]), str(seen["after"])
    assert "Profile of shop/web-9" not in before  # nothing shown before signing in
    assert 'id="sign-in"' in before
    assert seen["refused_kept"] is None  # a refused token is not kept
    assert "Profile of shop/web-9: checksum_catalogue 41%" in after
    assert seen["session"] == TOKEN
    assert seen["local"] == 0
    assert TOKEN not in str(seen["address"]) and TOKEN not in str(seen["cookies"])
    assert seen["signed_out"] is None
    assert seen["list_after_sign_out"] == ""


async def test_the_page_lists_findings_and_opens_one_with_its_table_and_flamegraph(host: Service, tmp_path: Path) -> None:
    import asyncio

    from host.model.events import Event, Target

    _, fut = host.host.dispatcher.trigger(
        "python-profiler", Event(kind="manual", target=Target(namespace="shop", pod="web-1")), {}, wait=True)
    assert fut is not None
    result = await fut
    assert result.outcome == "ok", result.error
    newest = result.findings[0]  # reported first, but the second is newer
    url = f"{host.url}/#{newest.id}"
    html, shot = await asyncio.to_thread(_opened_with_screenshot, url, tmp_path / "p1")
    # the list: both findings, newest first
    assert html.index("Older finding for web-1") < html.index("Profile of shop/web-1: checksum_catalogue 41%")
    # the opened finding: body rendered from Markdown, the table, the flamegraph inline
    assert "<h2>Hottest functions</h2>" in html
    assert "<td>checksum_catalogue</td>" in html
    # the flamegraph fetched with the token and shown from a blob: URL (an <img> cannot send a header)
    assert f'<img data-src="/api/v1/findings/{newest.id}/attachments/flamegraph.svg" alt="flamegraph.svg" src="blob:{host.url}/' in html
    # labels as chips, in the list and on the opened finding, each a link filtering by it
    assert html.count('<span class="chip-key">cause:</span> OOMKilled</a>') == 2
    assert html.count('<span class="chip-key">workload:</span> Deployment/shop/web</a>') == 2
    assert html.count('<span class="chip-key">cause:</span> ApplicationError</a>') == 1
    assert 'href="?label=cause%3DOOMKilled"' in html
    # a label value with markup is shown as text: no element, no handler ran
    assert html.count('<span class="chip-key">note:</span> &lt;script&gt;document.title = "pwned"&lt;/script&gt;') == 2
    assert "<script>document.title" not in html
    assert "<img src=\"x\"" not in html and "<img src=x" not in html
    assert "pwned" not in html.split("<body", 1)[1].split(">", 1)[0]  # no data-pwned on <body>
    assert "<title>wfhost findings</title>" in html
    data = shot
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a rendered page, not a blank one


async def test_the_page_filtered_by_a_label_lists_only_the_findings_carrying_it(host: Service, tmp_path: Path) -> None:
    import asyncio

    from host.model.events import Event, Target

    _, fut = host.host.dispatcher.trigger(
        "python-profiler", Event(kind="manual", target=Target(namespace="shop", pod="web-2")), {}, wait=True)
    assert fut is not None
    assert (await fut).outcome == "ok"
    # What clicking the cause chip leads to: the page with ?label=cause=OOMKilled.
    html = await asyncio.to_thread(signed_in_page, f"{host.url}/?label=cause%3DOOMKilled", TOKEN,
                                   profile=tmp_path / "p3")
    assert "Profile of shop/web-2: checksum_catalogue 41%" in html
    assert "Older finding for web-2" not in html
    assert "1 findings" in html
    # the active filter is shown, with a link that removes it
    filters = html.split('id="label-filters"', 1)[1].split("</p>", 1)[0]
    assert '<span class="chip-key">cause:</span> OOMKilled \N{MULTIPLICATION SIGN}</a>' in filters
    assert 'href="/"' in filters
    # both labels: AND
    html = await asyncio.to_thread(
        signed_in_page, f"{host.url}/?label=cause%3DOOMKilled&label=cause%3DApplicationError", TOKEN,
        profile=tmp_path / "p4")
    assert "No findings with these labels." in html
    assert "Older finding for web-2" not in html


async def test_an_explainer_finding_reads_well_its_table_a_table_its_log_preformatted(
    host: Service, tmp_path: Path
) -> None:
    import asyncio
    import html as htmllib

    from host.model.events import Event, Target

    _, fut = host.host.dispatcher.trigger(
        "explained-crash", Event(kind="manual", target=Target(namespace="shop", pod="web-1")), {}, wait=True)
    assert fut is not None
    result = await fut
    assert result.outcome == "ok", result.error
    [finding] = result.findings
    assert finding.body.startswith(finding.title + "\n\n")  # the summary is the first line
    assert "| run | state | exit code | reason / message |" in finding.body  # the body carries the table
    page = await asyncio.to_thread(signed_in_page, f"{host.url}/#{finding.id}", TOKEN, profile=tmp_path / "p5",
                                   until=OPENED)
    body = page.split('<div class="body">', 1)[1].split("</div>", 1)[0]
    # the title as the heading, the summary as the body's first paragraph (inline code rendered)
    assert f"{htmllib.escape(finding.title, quote=False)}</h2>" in page  # the opened finding's heading
    assert body.startswith("<p>shop/web-1 (container app) is crash-looping: <code>yaml</code> is missing"), body[:300]
    # the Markdown table is a table, not raw pipes
    assert "<th>run</th><th>state</th><th>exit code</th><th>reason / message</th>" in body, body
    assert "<td>waiting: CrashLoopBackOff</td>" in body and "<td>#3 (previous)</td>" in body
    assert "<td>back-off 40s | restarting failed container=app</td>" in body  # an escaped pipe stays in its cell
    assert "| run |" not in body and "|---|" not in body
    # the fenced log is preformatted, its markup escaped
    pre = body.split("<pre><code>", 1)[1].split("</code></pre>", 1)[0]
    assert pre == ("Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in &lt;module&gt;\n"
                   "    import yaml\nModuleNotFoundError: No module named 'yaml'")
    assert "```" not in body
    # bold titles and the fix as a list
    assert "<strong>Last termination:</strong> exit code 1" in body
    assert "<strong>Likely fix</strong>" in body
    assert "<li>Add the package to the image (requirements.txt) and rebuild.</li>" in body
    # the labels as chips, in the list and on the opened finding
    for key, value in (("cause", "MissingPackage"), ("workload", "Deployment/shop/web"), ("namespace", "shop"),
                       ("container", "app")):
        assert page.count(f'<span class="chip-key">{key}:</span> {value}</a>') == 2, (key, value)
    # the table the body already shows is not repeated from the finding's `tables`
    detail = page.split('<div class="body">', 1)[1]
    assert detail.count("<th>run</th><th>state</th>") == 1, detail
