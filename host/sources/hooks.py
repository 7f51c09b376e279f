"""Which semantic classifiers each feed of `SourceManager` runs (`host.sources.semantic`).

- pods: `pod.containerConfigError` (a classifier beside the pod one) and `pod.pending` (a timer:
  `PendingTracker`, threshold `triggers.podPendingSeconds`);
- Warning Events: `pod.probeFailing` (`ProbeTracker` over `Unhealthy` events);
- batch/v1 Jobs: `job.failed`; v1 Nodes: `node.notReady`, `node.pressure`; apps/v1 Deployments:
  `deployment.rolloutStuck`.

Every hook builds fresh state when its feed starts, so a feed stopped and started again begins
with a new baseline (with leader election feeds run on standbys too, so taking over is no start).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from host.config import HostConfig
from host.model.resources import Resource
from host.sources.classify import Derived
from host.sources.semantic import container_config, job_failed, node_conditions, rollout_stuck
from host.sources.semantic.pod_pending import PendingTracker
from host.sources.semantic.probe_failing import ProbeTracker
from host.sources.tracker import Classifier

Obj = dict[str, Any]


class ModuleClassifier:
    """A `host.sources.semantic` module (`Memory`, `classify`) as a tracker `Classifier`."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def memory(self) -> Any:
        return self.module.Memory()

    def classify(self, old: Obj | None, new: Obj, memory: Any, *, deleted: bool) -> list[Derived]:
        found: list[Derived] = self.module.classify(old, new, memory, deleted=deleted)
        return found


SEMANTIC_BY_KIND: dict[str, tuple[ModuleType, ...]] = {
    "batch/v1/Job": (job_failed,),
    "v1/Node": (node_conditions,),
    "apps/v1/Deployment": (rollout_stuck,),
}


def semantic_for(resource: Resource) -> list[Classifier]:
    return [ModuleClassifier(module) for module in SEMANTIC_BY_KIND.get(resource.key, ())]


def semantic_hooks(config: HostConfig) -> dict[str, Any]:
    """The keyword arguments of `SourceManager` that plug the semantic events in."""

    def pod_extras() -> tuple[list[Classifier], list[Any]]:
        return [ModuleClassifier(container_config)], [PendingTracker(config.triggers.pod_pending_seconds)]

    def warning_extras() -> list[Any]:
        return [ProbeTracker()]

    return {"semantic": semantic_for, "pod_extras": pod_extras, "warning_extras": warning_extras}
