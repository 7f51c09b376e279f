"""`ApiBackend`: the small interface the API needs from the running host, and nothing more.

The API (`host.api`) never imports the runtime that implements this (`host.runtime.app.Host`
does, structurally); `host.service` is the one place that joins the two. A test or a tool can
serve the API over anything with these members.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from host.findings.service import FindingsService
from host.model.events import Event, Target
from host.model.invocation import InvocationResult
from host.workflows.registry import FileStatus


class ApiBackend(Protocol):
    """What the API reads and asks of the host."""

    @property
    def findings(self) -> FindingsService:
        """The findings the host keeps (the API only reads them)."""
        ...

    @property
    def started(self) -> bool:
        """The host finished starting."""
        ...

    @property
    def leading(self) -> bool:
        """This replica leads (runs the event sources)."""
        ...

    @property
    def ready(self) -> bool:
        """Ready for traffic (`/readyz`)."""
        ...

    def workflow_statuses(self) -> Sequence[FileStatus]:
        """Every workflow file, loaded or refused, with its state."""
        ...

    def workflow_names(self) -> list[str]:
        """The names of the loaded workflows."""
        ...

    def workflow_capabilities(self, workflow: str) -> frozenset[str] | None:
        """The capabilities a loaded workflow declares (None: no such workflow); the API
        asks a caller for the rights of `kubectl debug` when any is a `debug.*` one."""
        ...

    def invocation(self, invocation_id: str) -> tuple[str, Event] | None:
        """(workflow, event) of a queued or running invocation, or None."""
        ...

    def queue_depth(self, workflow: str) -> int:
        """Invocations waiting in a workflow's queue."""
        ...

    async def manual_event(self, target: Target, *, requested_by: str) -> Event:
        """The event of an explicit request about a pod, with the pod as the cluster has it.

        Raises `NotFound` when the pod does not exist and `KubeError` when the API fails.
        """
        ...

    def trigger(
        self, workflow: str, event: Event, params: dict[str, Any], *, wait: bool
    ) -> tuple[str, asyncio.Future[InvocationResult] | None]:
        """Queue one invocation; raises `UnknownWorkflow` or `QueueFull`."""
        ...

    def cancel(self, invocation_id: str, *, reason: str) -> bool:
        """Stop a queued or running invocation; False when there is none with that id."""
        ...

    async def submit(self, event: Event) -> list[str]:
        """An event for every matching workflow; returns the names of those queued."""
        ...

    def render_metrics(self) -> bytes:
        """The Prometheus exposition of the host's metrics."""
        ...
