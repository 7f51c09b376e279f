"""HTTP sinks: `webhook` (the finding as JSON, labels included) and `slack` (an incoming-webhook
payload with blocks; the labels in a context block under the header).

Each POST has a timeout and is retried with exponential backoff; a finding that still cannot be
delivered is written to the sink's spool directory and retried from there in the background
(also after a restart), so nothing is lost while a receiver is down.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from host.config import WebhookSink
from host.model.findings import Finding

log = structlog.get_logger(__name__)

SLACK_TEXT_LIMIT = 2900
SEVERITY_EMOJI = {"info": ":information_source:", "low": ":large_blue_circle:", "medium": ":large_yellow_circle:",
                  "high": ":large_orange_circle:", "critical": ":red_circle:"}


class DeliveryError(Exception):
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
    lines = ["  ".join((row[i] if i < len(row) else "")[:40].ljust(widths[i]) for i in range(len(columns)))
             for row in cells]
    if len(rows) > max_rows:
        lines.append(f"… {len(rows) - max_rows} more rows")
    return "\n".join(lines)


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: `<`, `>` and `&` escaped, so no value becomes a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_labels(labels: dict[str, str]) -> str:
    """`cause: OOMKilled · workload: Deployment/shop/web`, in the order the workflow gave them."""
    return _clip("  ·  ".join(f"{slack_escape(k)}: {slack_escape(v)}" for k, v in labels.items()))


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
    if finding.body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(finding.body)}})
    for table in finding.tables[:3]:
        text = f"*{table.title}*\n" if table.title else ""
        text += "```" + _clip(_table_text(table.columns, table.rows), SLACK_TEXT_LIMIT - 100) + "```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    links = [f"<{url}|{a.name}>" for a in finding.attachments if (url := attachment_url(public_url, finding, a.name))]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Attachments: " + ", ".join(links)}]})
    return {"text": f"[{finding.severity}] {finding.title}", "blocks": blocks}


class HttpSink:
    def __init__(self, name: str, config: WebhookSink, *, spool: Path, public_url: str | None) -> None:
        self.name = name
        self.config = config
        self.spool = spool
        self.public_url = public_url
        self.retry_interval = 5.0
        spool.mkdir(parents=True, exist_ok=True)
        self._session: aiohttp.ClientSession | None = None
        self._retry_task: asyncio.Task[None] | None = None
        self.spooled = 0

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

    async def _post(self, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_seconds))
        url = self._url()
        # The URL may embed a secret (Slack's do): errors name the host only.
        shown = url.split("//", 1)[-1].split("/", 1)[0]
        try:
            async with self._session.post(url, json=payload, headers=self.config.headers) as resp:
                if resp.status >= 300:
                    raise DeliveryError(f"{shown} answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{shown}: {type(exc).__name__}") from exc

    async def _post_with_retries(self, payload: dict[str, Any]) -> None:
        delay = 0.5
        for attempt in range(self.config.max_retries + 1):
            try:
                await self._post(payload)
                return
            except DeliveryError:
                if attempt == self.config.max_retries:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def deliver(self, finding: Finding) -> None:
        self._ensure_retry_loop()
        payload = self.payload(finding)
        try:
            await self._post_with_retries(payload)
        except DeliveryError:
            path = self.spool / f"{finding.id}.json"
            await asyncio.to_thread(path.write_text, json.dumps(payload))
            self.spooled += 1
            log.warning("findings.spooled", sink=self.name, finding=finding.id, spool=str(path))
            raise

    def _ensure_retry_loop(self) -> None:
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._retry_spool(), name=f"spool:{self.name}")

    async def _retry_spool(self) -> None:
        """Re-deliver spooled findings, oldest first; a file is deleted only once the receiver took it."""
        delay = self.retry_interval
        while True:
            files = sorted(self.spool.glob("*.json"), key=lambda p: p.stat().st_mtime)
            failed = False
            for path in files:
                try:
                    payload = json.loads(path.read_text())
                    await self._post(payload)
                except DeliveryError as exc:
                    log.info("findings.spool_retry_failed", sink=self.name, file=path.name, error=str(exc))
                    failed = True
                    break
                except (OSError, ValueError) as exc:
                    log.error("findings.spool_file_unreadable", sink=self.name, file=path.name, error=str(exc))
                    path.rename(path.with_suffix(".bad"))
                    continue
                path.unlink()
                log.info("findings.spool_delivered", sink=self.name, file=path.name)
            delay = min(delay * 2, 300) if failed else self.retry_interval
            await asyncio.sleep(delay)

    def start(self) -> None:
        """Pick up what an earlier run left in the spool."""
        self._ensure_retry_loop()

    async def close(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()
            await asyncio.gather(self._retry_task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
