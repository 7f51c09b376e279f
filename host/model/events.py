"""The normalized event a workflow receives (see docs/protocol.md, "Event")."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from host.model.base import WireModel
from host.model.vocabulary import POD_KINDS as POD_KINDS  # re-exported: the kinds about a pod
from host.model.vocabulary import EventKind


def new_id(prefix: str) -> str:
    return f"{prefix}-{os.urandom(6).hex()}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Subject(WireModel):
    kind: str = "Pod"
    namespace: str | None = None
    name: str
    uid: str | None = None


class Target(WireModel):
    namespace: str = Field(min_length=1, max_length=253)
    pod: str = Field(min_length=1, max_length=253)
    container: str | None = Field(default=None, max_length=253)


# Event fields that hold parsed JSON (plain dicts, lists, strings, numbers) and their wire names.
_AS_READ = {"pod": "pod", "object": "object", "old_object": "oldObject", "k8s_event": "k8sEvent", "alert": "alert"}
_AS_READ_FIELDS = set(_AS_READ)


class Event(WireModel):
    """One event. Kind-specific fields are optional; the sources fill what their kind has."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(default_factory=lambda: new_id("ev"))
    kind: EventKind
    time: datetime = Field(default_factory=utcnow)
    subject: Subject | None = None
    pod: dict[str, Any] | None = None
    changes: list[str] | None = None
    container: str | None = None
    reason: str | None = None
    message: str | None = None
    restart_count: int | None = None
    k8s_event: dict[str, Any] | None = Field(default=None, alias="k8sEvent")  # to_camel would say k8SEvent
    alert: dict[str, Any] | None = None
    target: Target | None = None
    requested_by: str | None = None
    schedule: str | None = None
    resource: str | None = Field(default=None, description="The subject's kind as apiVersion/Kind.")
    object: dict[str, Any] | None = Field(default=None, description="The subject, as the API server sent it.")
    old_object: dict[str, Any] | None = Field(default=None, description="For updates: the state before.")
    probe: str | None = Field(default=None, description="pod.probeFailing: liveness, readiness or startup.")

    def wire(self) -> dict[str, Any]:
        """As `WireModel.wire`, but the fields holding JSON exactly as it was read (from the API
        server, Alertmanager or the pod normalizer) go out as they are instead of being walked by
        the serializer: for a pod update, walking pod, object and oldObject was most of the host's
        cost per event."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=_AS_READ_FIELDS)
        for field, alias in _AS_READ.items():
            value = getattr(self, field)
            if value is not None:
                data[alias] = value
        return data

    @model_validator(mode="after")
    def _subject_from_target(self) -> Event:
        if self.subject is None and self.target is not None:
            self.subject = Subject(kind="Pod", namespace=self.target.namespace, name=self.target.pod)
        return self

    @property
    def namespace(self) -> str | None:
        if self.subject is not None and self.subject.namespace:
            return self.subject.namespace
        if self.target is not None:
            return self.target.namespace
        return None
