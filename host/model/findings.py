"""A finding: what a workflow reports, with tables and attachments, ready for the sinks."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from host.model.base import WireModel
from host.model.events import Subject, new_id, utcnow

Severity = Literal["info", "low", "medium", "high", "critical"]


class Table(WireModel):
    title: str | None = Field(default=None, max_length=500)
    columns: list[str] = Field(max_length=50)
    rows: list[list[str | int | float | bool | None]] = Field(max_length=5000)


MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}(; ?[A-Za-z0-9_.+-]+=[A-Za-z0-9_.+-]+)?$"


ATTACHMENT_NAME = r"^[A-Za-z0-9._-]{1,128}$"


def check_attachment_name(name: str) -> str:
    """The pattern lets `.` and `..` through; as file names (the files sink) they are directories."""
    if name in (".", ".."):
        raise ValueError(f"attachment name {name!r} is not a file name")
    return name


class Attachment(WireModel):
    name: str = Field(pattern=ATTACHMENT_NAME)
    media_type: str = Field(max_length=160, pattern=MEDIA_TYPE)
    data: bytes = Field(repr=False)

    _name = field_validator("name")(check_attachment_name)

    @field_serializer("data")
    def _b64(self, data: bytes) -> str:
        return base64.b64encode(data).decode()

    @field_validator("data", mode="before")
    @classmethod
    def _from_b64(cls, value: object) -> object:
        if isinstance(value, str):
            return base64.b64decode(value)
        return value

    @property
    def size(self) -> int:
        return len(self.data)


LABEL_KEY = r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$"
MAX_LABELS = 32
MAX_LABEL_VALUE = 256


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    """At most `MAX_LABELS` labels; keys like Kubernetes label keys, values of at most 256 characters."""
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels, got {len(labels)}")
    for key, value in labels.items():
        if not re.fullmatch(LABEL_KEY, key):
            raise ValueError(f"label key {key!r} must be 1-63 letters, digits, '.', '_', '/' or '-'")
        if len(value) > MAX_LABEL_VALUE:
            raise ValueError(f"label {key}: value longer than {MAX_LABEL_VALUE} characters")
    return labels


class Finding(WireModel):
    id: str = Field(default_factory=lambda: new_id("f"))
    workflow: str
    invocation_id: str | None = None
    subject: Subject | None = None
    title: str = Field(min_length=1, max_length=500)
    severity: Severity = "info"
    body: str = Field(default="", max_length=1 << 20)
    tables: list[Table] = Field(default_factory=list, max_length=50)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    labels: dict[str, str] = Field(
        default_factory=dict, description="Machine-readable labels (e.g. cause, namespace, workload) to route by."
    )
    time: datetime = Field(default_factory=utcnow)

    _labels = field_validator("labels")(check_labels)

    @property
    def api_path(self) -> str:
        """Where the host's API serves this finding (relative to the API's base URL)."""
        return f"/api/v1/findings/{self.id}"

    def attachment_path(self, name: str) -> str:
        """Where the host's API serves one of this finding's attachments."""
        return f"{self.api_path}/attachments/{name}"

    def summary(self) -> dict[str, Any]:
        """The finding without attachment bytes: what a listing, a log line or `invoke` prints."""
        data = self.wire()
        data["attachments"] = [
            {"name": a.name, "mediaType": a.media_type, "size": a.size} for a in self.attachments
        ]
        return data
