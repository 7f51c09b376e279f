"""Request bodies of the API, validated strictly; a bad body is a 400 naming the field."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from host.model.events import Target


def parse_body(raw: bytes) -> Any:
    """A request body as strict JSON (RFC 8259, UTF-8): raises `ValueError` naming the problem.

    Stricter than `json.loads`, which takes NaN and Infinity, lone surrogate escapes, UTF-16 and
    UTF-32 bodies, and recurses once per level of nesting (a deep body was a RecursionError, a
    500). A lone surrogate, once inside an event, cannot be written to a workflow's stdin as
    UTF-8: it is refused here, with the rest, as not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


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
