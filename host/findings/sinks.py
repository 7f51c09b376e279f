"""Build the configured sinks (`sinks.*` in config) and the findings service over the store (`findings.*`)."""

from __future__ import annotations

from host.config import HostConfig
from host.findings.files_sink import FilesSink
from host.findings.http_sink import HttpSink
from host.findings.log_sink import LogSink
from host.findings.service import FindingsService
from host.findings.sink import Sink
from host.findings.store import FindingsStore, Retention
from host.metrics import Metrics


def build_sinks(config: HostConfig) -> list[Sink]:
    s = config.sinks
    public_url = config.api.public_url
    sinks: list[Sink] = []
    if s.log.enabled:
        sinks.append(LogSink())
    if s.files.enabled:
        sinks.append(FilesSink(s.files.directory))
    if s.webhook.enabled:
        sinks.append(HttpSink("webhook", s.webhook, public_url=public_url))
    if s.slack.enabled:
        sinks.append(HttpSink("slack", s.slack, public_url=public_url))
    return sinks


def build_findings(config: HostConfig, *, metrics: Metrics | None = None) -> FindingsService:
    """The findings service of a host: the configured sinks over the SQLite store."""
    metrics = metrics or Metrics()
    store_config = config.findings.store
    store = FindingsStore(
        config.findings.store.directory or config.sandbox.state_dir / "findings",
        retention=Retention(max_findings=store_config.max_findings, max_age_seconds=store_config.max_age_seconds,
                            max_bytes=store_config.max_bytes),
        metrics=metrics,
    )
    sinks = build_sinks(config)
    # What an earlier wfhost left in its HTTP sinks' spool moves into the outbox at start.
    spool_root = config.sinks.spool_directory or config.sandbox.state_dir / "spool"
    legacy = {sink.name: spool_root / sink.name for sink in sinks if isinstance(sink, HttpSink)}
    return FindingsService(
        sinks, store=store, keep=config.limits.recent_findings, keep_bytes=config.limits.recent_findings_bytes,
        max_attachment_bytes=store_config.max_attachment_bytes, retry_backoff=config.findings.delivery.retry_backoff,
        legacy_spools=legacy, metrics=metrics,
    )
