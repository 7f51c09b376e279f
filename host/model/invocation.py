"""What one run of a workflow produced."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from host.model.base import WireModel
from host.model.events import new_id, utcnow
from host.model.findings import Finding

Outcome = Literal["ok", "failed", "timeout", "cancelled", "crashed", "rejected"]


class InvocationResult(WireModel):
    id: str = Field(default_factory=lambda: new_id("inv"))
    workflow: str
    event_id: str
    event_kind: str
    outcome: Outcome
    error: str | None = None
    error_name: str | None = None
    started: datetime = Field(default_factory=utcnow)
    duration_seconds: float = 0.0
    findings: list[Finding] = Field(default_factory=list)
