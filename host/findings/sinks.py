"""Build the configured sinks (`sinks.*` in config)."""

from __future__ import annotations

from host.config import HostConfig
from host.findings.files_sink import FilesSink
from host.findings.http_sink import HttpSink
from host.findings.log_sink import LogSink
from host.findings.sink import Sink


def build_sinks(config: HostConfig) -> list[Sink]:
    s = config.sinks
    spool_root = s.spool_directory or config.sandbox.state_dir / "spool"
    public_url = config.api.public_url
    sinks: list[Sink] = []
    if s.log.enabled:
        sinks.append(LogSink())
    if s.files.enabled:
        sinks.append(FilesSink(s.files.directory))
    if s.webhook.enabled:
        sinks.append(HttpSink("webhook", s.webhook, spool=spool_root / "webhook", public_url=public_url))
    if s.slack.enabled:
        sinks.append(HttpSink("slack", s.slack, spool=spool_root / "slack", public_url=public_url))
    return sinks
