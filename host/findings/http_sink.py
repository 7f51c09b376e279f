"""HTTP sinks: `webhook` (the finding as JSON, labels included) and `slack` (an incoming-webhook
payload with blocks; the labels in a context block under the header, the Markdown body turned into
Slack mrkdwn: bold, links and lists translated, fenced code and Markdown tables as preformatted
blocks, since Slack has no tables).

Each POST has a timeout and a few quick retries (`maxRetries`); a finding that still cannot be
delivered stays in the findings store's outbox and is retried from there with backoff, also after
a restart (`host/findings/outbox.py`), so nothing is lost while a receiver is down. Delivery is at
least once: every POST carries the finding id as `Idempotency-Key` (and the webhook's body as
`id`), so a receiver can drop a second copy.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import structlog

from host.config import WebhookSink
from host.errors import WfhostError
from host.model.findings import Finding

log = structlog.get_logger(__name__)

SLACK_TEXT_LIMIT = 2900
SEVERITY_EMOJI = {"info": ":information_source:", "low": ":large_blue_circle:", "medium": ":large_yellow_circle:",
                  "high": ":large_orange_circle:", "critical": ":red_circle:"}


class DeliveryError(WfhostError):
    """The receiver did not accept the finding."""


def attachment_url(public_url: str | None, finding: Finding, name: str) -> str | None:
    if not public_url:
        return None
    return public_url.rstrip("/") + finding.attachment_path(name)


def webhook_payload(finding: Finding, public_url: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = finding.summary()
    for att in doc["attachments"]:
        url = attachment_url(public_url, finding, att["name"])
        if url:
            att["url"] = url
    if public_url:
        doc["url"] = public_url.rstrip("/") + finding.api_path
    return doc


def _clip(text: str, limit: int = SLACK_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table_text(columns: list[str], rows: list[list[Any]], *, max_rows: int = 15) -> str:
    cells = [columns, *[[("" if c is None else str(c)) for c in r] for r in rows[:max_rows]]]
    widths = [min(40, max(len(row[i]) if i < len(row) else 0 for row in cells)) for i in range(len(columns))]
    last = len(columns) - 1  # the last column (often a message) is not cut: nothing follows it

    def cell(row: list[str], i: int) -> str:
        text = row[i] if i < len(row) else ""
        return text if i == last else text[:40].ljust(widths[i])

    lines = ["  ".join(cell(row, i) for i in range(len(columns))).rstrip() for row in cells]
    if len(rows) > max_rows:
        lines.append(f"… {len(rows) - max_rows} more rows")
    return "\n".join(lines)


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: `<`, `>` and `&` escaped, so no value becomes a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_labels(labels: dict[str, str]) -> str:
    """`cause: OOMKilled · workload: Deployment/shop/web`, in the order the workflow gave them."""
    return _clip("  ·  ".join(f"{slack_escape(k)}: {slack_escape(v)}" for k, v in labels.items()))


_FENCE = re.compile(r"^(`{3,})[\w+-]*\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
MAX_BODY_SECTIONS = 20


def _table_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(inner)]


def _inline(text: str) -> str:
    """One line of Markdown as Slack mrkdwn: escaped, `**bold**` -> `*bold*`, links -> `<url|text>`."""
    out = slack_escape(text)
    parts = re.split(r"(`[^`]+`)", out)  # leave inline code alone
    for i in range(0, len(parts), 2):
        part = re.sub(r"\*\*([^*]+)\*\*", r"*\1*", parts[i])
        parts[i] = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", part)
    return "".join(parts)


def slack_blocks_of(markdown: str) -> list[str]:
    """The body's Markdown as Slack mrkdwn pieces: a paragraph, a list, a heading, or a preformatted
    block (a fenced code block, or a Markdown table laid out in columns: Slack has no tables and
    would show the pipes)."""
    lines = markdown.split("\n")
    pieces: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pieces.append("\n".join(paragraph))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            ticks, code = fence.group(1), []
            i += 1
            while i < len(lines) and lines[i].strip() != ticks:
                code.append(lines[i])
                i += 1
            pieces.append("```" + slack_escape("\n".join(code)) + "```")
        elif line.strip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush()
            head, rows = _table_cells(line), []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_table_cells(lines[i]))
                i += 1
            i -= 1
            laid_out = "\n".join(row.rstrip() for row in _table_text(head, rows, max_rows=30).split("\n"))
            pieces.append("```" + slack_escape(laid_out) + "```")
        elif heading := re.match(r"^#{1,6} +(.*)$", line):
            flush()
            pieces.append(f"*{_inline(heading.group(1))}*")
        elif not line.strip():
            flush()
        else:
            item = re.match(r"^(\s*)[-*] +(.*)$", line)
            paragraph.append(f"{item.group(1)}• {_inline(item.group(2))}" if item else _inline(line))
        i += 1
    flush()
    return pieces


def _sections(pieces: list[str]) -> list[str]:
    """Pieces packed into section texts of at most SLACK_TEXT_LIMIT; a piece too long is cut, a
    preformatted one keeping its closing fence."""
    out: list[str] = []
    for piece in pieces:
        if len(piece) > SLACK_TEXT_LIMIT:
            piece = (piece[: SLACK_TEXT_LIMIT - 4] + "…```") if piece.endswith("```") else _clip(piece)
        if out and len(out[-1]) + 2 + len(piece) <= SLACK_TEXT_LIMIT:
            out[-1] += "\n\n" + piece
        else:
            out.append(piece)
    if len(out) > MAX_BODY_SECTIONS:
        out = [*out[: MAX_BODY_SECTIONS - 1], "… the rest is on the findings page"]
    return out


def _markdown_header(columns: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |"


def slack_payload(finding: Finding, public_url: str | None) -> dict[str, Any]:
    subject = f"{finding.subject.namespace}/{finding.subject.name}" if finding.subject else "—"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(finding.title, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"{SEVERITY_EMOJI.get(finding.severity, '')} *{finding.severity}*  ·  workflow `{finding.workflow}`"
            f"  ·  subject `{subject}`")}]},
    ]
    if finding.labels:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_labels(finding.labels)}]})
    body = finding.body or ""
    for text in _sections(slack_blocks_of(body)):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    # A table the body already shows (an explainer's finding carries each in both) is not repeated.
    for table in [t for t in finding.tables if _markdown_header(t.columns) not in body][:3]:
        text = f"*{table.title}*\n" if table.title else ""
        text += "```" + _clip(_table_text(table.columns, table.rows), SLACK_TEXT_LIMIT - 100) + "```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    links = [f"<{url}|{a.name}>" for a in finding.attachments if (url := attachment_url(public_url, finding, a.name))]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Attachments: " + ", ".join(links)}]})
    return {"text": f"[{finding.severity}] {finding.title}", "blocks": blocks}


class HttpSink:
    def __init__(self, name: str, config: WebhookSink, *, public_url: str | None) -> None:
        self.name = name
        self.config = config
        self.public_url = public_url
        self._session: aiohttp.ClientSession | None = None

    def payload(self, finding: Finding) -> dict[str, Any]:
        if self.name == "slack":
            return slack_payload(finding, self.public_url)
        return webhook_payload(finding, self.public_url)

    def _url(self) -> str:
        """The configured URL, or the one in `urlFile` (a mounted Secret, so it can rotate)."""
        if self.config.url_file is None:
            return self.config.url
        try:
            return self.config.url_file.read_text().strip()
        except OSError as exc:
            raise DeliveryError(f"cannot read sinks.{self.name}.urlFile {self.config.url_file}: {exc.strerror}") from exc

    async def _post(self, payload: dict[str, Any], key: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds))
        url = self._url()
        # The URL may embed a secret (Slack's do): errors name the host only.
        shown = url.split("//", 1)[-1].split("/", 1)[0]
        headers = {**self.config.headers, "Idempotency-Key": key}
        try:
            async with self._session.post(url, json=payload, headers=headers) as resp:
                if resp.status >= 300:
                    raise DeliveryError(f"{shown} answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{shown}: {type(exc).__name__}") from exc

    async def _post_with_retries(self, payload: dict[str, Any], key: str) -> None:
        delay = 0.5
        for attempt in range(self.config.max_retries + 1):
            try:
                await self._post(payload, key)
                return
            except DeliveryError:
                if attempt == self.config.max_retries:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def deliver(self, finding: Finding) -> None:
        """POST the finding (quick retries included); raises `DeliveryError` when the receiver would not
        take it, and the outbox retries later."""
        await self._post_with_retries(self.payload(finding), finding.id)

    async def deliver_payload(self, payload: dict[str, Any], key: str) -> None:
        """POST a payload an earlier wfhost spooled (its file name was the finding id)."""
        await self._post_with_retries(payload, key)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
