"""`LoadedWorkflow`: one validated, running version of a workflow file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from host.capabilities.policy import Policy
from host.config import TriggerBinding
from host.model.events import utcnow
from host.model.manifest import Manifest, TriggerSpec
from host.sandbox.supervisor import WorkerPool

Origin = Literal["builtin", "custom", "file"]


@dataclass
class LoadedWorkflow:
    name: str
    source: Path
    origin: Origin
    manifest: Manifest
    pool: WorkerPool
    policy: Policy
    config_params: dict[str, Any] = field(default_factory=dict)
    extra_triggers: list[TriggerBinding] = field(default_factory=list)
    loaded_at: datetime = field(default_factory=utcnow)

    @property
    def version(self) -> str:
        return self.pool.prepared.version

    @property
    def triggers(self) -> list[TriggerSpec]:
        extra = [TriggerSpec.model_validate(t.model_dump()) for t in self.extra_triggers]
        return [*self.manifest.triggers, *extra]


def is_workflow_file(path: Path) -> bool:
    """Top-level `*.ts`/`*.js` files are workflows; `_helpers.ts`, tests and type declarations are not."""
    name = path.name
    if name.startswith((".", "_")):
        return False
    if name.endswith((".d.ts", "_test.ts", ".test.ts", "_test.js", ".test.js")):
        return False
    return name.endswith((".ts", ".mts", ".js", ".mjs"))
