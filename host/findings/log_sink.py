"""The `log` sink: one structlog line per finding (its labels; attachments by name and size only)."""

from __future__ import annotations

import structlog

from host.model.findings import Finding

log = structlog.get_logger("wfhost.findings")


class LogSink:
    name = "log"

    async def deliver(self, finding: Finding) -> None:
        log.info(
            "finding.reported",
            id=finding.id,
            workflow=finding.workflow,
            severity=finding.severity,
            title=finding.title,
            subject=f"{finding.subject.namespace}/{finding.subject.name}" if finding.subject else None,
            labels=dict(finding.labels),
            attachments=[f"{a.name} ({a.size} B)" for a in finding.attachments],
        )
