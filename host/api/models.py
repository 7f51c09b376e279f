"""Request bodies of the API, validated strictly; a bad body is a 400 naming the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from host.model.events import Target


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerRequest(_Body):
    workflow: str = Field(min_length=1, max_length=63)
    target: Target
    params: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False
    timeout: float | None = Field(default=None, gt=0, le=3600)


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = Field(default="firing", max_length=32)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body (version 4); unknown top-level fields are kept, not refused."""

    model_config = ConfigDict(extra="allow")
    version: str | None = None
    status: str | None = None
    receiver: str | None = None
    alerts: list[Alert] = Field(max_length=1000)
