"""The `findings.report` capability: turn a guest's report into a `Finding` and publish it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from host.capabilities.context import CallContext
from host.capabilities.router import CapabilityRouter
from host.expiring import ExpiringCache
from host.model.events import Subject
from host.model.findings import (
    ATTACHMENT_NAME,
    MEDIA_TYPE,
    Attachment,
    Finding,
    Severity,
    Table,
    check_attachment_name,
    check_labels,
)
from host.rpc import ErrorCode, RpcError

INLINE_TEXT_LIMIT = 256 << 10


class _Params(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class AttachmentRef(_Params):
    artifact_id: str | None = None
    name: str | None = Field(default=None, pattern=ATTACHMENT_NAME)
    media_type: str = Field(default="text/plain", max_length=160, pattern=MEDIA_TYPE)
    text: str | None = Field(default=None, max_length=INLINE_TEXT_LIMIT)

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str | None) -> str | None:
        return None if name is None else check_attachment_name(name)

    @model_validator(mode="after")
    def _one_kind(self) -> AttachmentRef:
        if (self.artifact_id is None) == (self.text is None):
            raise ValueError("an attachment names an artifactId or carries text, not both or neither")
        if self.text is not None and self.name is None:
            raise ValueError("an inline attachment needs a name")
        return self


class ReportParams(_Params):
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=1 << 20)
    severity: Severity = "info"
    subject: Subject | None = None
    tables: list[Table] = Field(default_factory=list, max_length=50)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)
    labels: dict[str, str] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=512)

    _labels = field_validator("labels")(check_labels)

    def subject_namespace(self, ctx: CallContext) -> str | None:
        """The finding is about its own subject, or else the event's (as `report` stamps it)."""
        subject = self.subject or ctx.event.subject
        return subject.namespace if subject is not None else None

    def subject_kind(self, ctx: CallContext) -> str | None:
        subject = self.subject or ctx.event.subject
        return subject.kind if subject is not None else None


class Deduper:
    """Findings already reported under a `dedupeKey` in the last `window` seconds, per workflow.

    One finding per workload and episode: every replica of a crash-looping Deployment starts the
    explainer, each run reports under the same key (`cause/workload`), and only the first one is
    published; the others answer with the first one's id and `duplicate: true`. Bounded: the
    oldest keys are forgotten first.
    """

    MAX_KEYS = 50_000

    def __init__(self, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._seen: ExpiringCache[tuple[str, str], str] = ExpiringCache(
            seconds=window, entries=self.MAX_KEYS, clock=clock)
        self.suppressed = 0

    def seen(self, workflow: str, key: str) -> str | None:
        """The id of the finding already reported under `key` within the window, if any."""
        hit = self._seen.get((workflow, key))
        if hit is None:
            return None
        self.suppressed += 1
        return hit

    def remember(self, workflow: str, key: str, finding_id: str) -> None:
        self._seen.put((workflow, key), finding_id)


def _with_notes(body: str, notes: list[str]) -> str:
    """The body with the invocation's notes (how the debug agent reached the pod) it does not say yet."""
    missing = [note for note in notes if note not in body]
    return "\n\n".join(part for part in [body, *(f"**Note:** {note}" for note in missing)] if part)


async def report(ctx: CallContext, params: ReportParams, deduper: Deduper | None = None) -> dict[str, Any]:
    if params.dedupe_key is not None and deduper is not None:
        earlier = deduper.seen(ctx.workflow, params.dedupe_key)
        if earlier is not None:
            return {"id": earlier, "duplicate": True}
    if len(ctx.findings) >= ctx.limits.max_findings_per_invocation:
        raise RpcError(
            ErrorCode.LIMIT_EXCEEDED, f"invocation reported more than {ctx.limits.max_findings_per_invocation} findings"
        )
    attachments: list[Attachment] = []
    for ref in params.attachments:
        if ref.artifact_id is not None:
            art = ctx.artifacts.get(ref.artifact_id)
            if art is None:
                raise RpcError(ErrorCode.NOT_FOUND, f"no artifact {ref.artifact_id} in this invocation")
            attachments.append(art if ref.name is None else art.model_copy(update={"name": ref.name}))
        else:
            assert ref.text is not None
            assert ref.name is not None
            attachments.append(Attachment(name=ref.name, media_type=ref.media_type, data=ref.text.encode()))
    finding = Finding(
        workflow=ctx.workflow,
        invocation_id=ctx.invocation_id,
        subject=params.subject or ctx.event.subject,
        title=params.title,
        severity=params.severity,
        body=_with_notes(params.body, ctx.notes),
        tables=params.tables,
        attachments=attachments,
        labels=params.labels,
    )
    if params.dedupe_key is not None and deduper is not None:
        deduper.remember(ctx.workflow, params.dedupe_key, finding.id)
    ctx.findings.append(finding)
    if ctx.on_finding is not None:
        await ctx.on_finding(finding)
    return {"id": finding.id}


def register(router: CapabilityRouter, *, dedupe_seconds: float = 900.0) -> Deduper:
    deduper = Deduper(dedupe_seconds)

    async def report_once(ctx: CallContext, params: ReportParams) -> dict[str, Any]:
        return await report(ctx, params, deduper)

    router.register("findings.report", ReportParams, report_once)
    return deduper
