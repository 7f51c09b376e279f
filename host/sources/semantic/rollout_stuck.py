"""`deployment.rolloutStuck`: an apps/v1 Deployment exceeded its progress deadline.

The deployment controller sets the `Progressing` condition to `False` with reason
`ProgressDeadlineExceeded` ("ReplicaSet "web-5d8f" has timed out progressing.") when a rollout
made no progress for `spec.progressDeadlineSeconds` (default 600). It puts `Progressing` back to
`True` as soon as progress is made again (`ReplicaSetUpdated`), when the rollout completes
(`NewReplicaSetAvailable`), or when a new rollout starts (`NewReplicaSetCreated`,
`FoundNewReplicaSet`); pausing sets it to `Unknown` (`DeploymentPaused`, then `DeploymentResumed`).

**Episode**: from `Progressing=False/ProgressDeadlineExceeded` until the condition says anything
else (`True` with any reason, `Unknown`, or gone). So a rollout that stays stuck through the
controller's resyncs, or through a spec change that starts no new rollout (scaling, say), is
reported once; a rollout that progressed (or was paused and resumed) and then timed out again, or
a new rollout (a new `metadata.generation`) that times out in turn, is a new episode.

**Generation**: a new episode fires only when `status.observedGeneration >= metadata.generation`
(either missing counts as observed). A stuck condition the controller wrote for an older
generation describes a rollout the user has already replaced; the controller rewrites the
condition when it observes the new generation — `True` for a new rollout (no report), or still
`ProgressDeadlineExceeded` when the change did not start one (reported then, as the current
rollout is stuck). Once an episode is reported a stale generation does not end it; only the
condition does. A Deployment first seen stuck at the baseline primes the memory and is not
reported on its next update.

`Derived`: `reason` = `ProgressDeadlineExceeded`, `message` = the condition's message.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, condition, get, text

PROGRESSING = "Progressing"
DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"


@dataclass
class Memory:
    """Per Deployment: whether the current stuck episode was reported (or primed at the baseline)."""

    stuck: bool = False


def is_observed(deployment: Obj) -> bool:
    """The controller's status is about the current spec (`observedGeneration >= generation`)."""
    generation = get(deployment, "metadata", "generation")
    observed = get(deployment, "status", "observedGeneration")
    if not isinstance(generation, int) or not isinstance(observed, int):
        return True
    return observed >= generation


def classify(old: Obj | None, new: Obj, memory: Memory, *, deleted: bool = False) -> list[Derived]:
    """`deployment.rolloutStuck` when `new` starts a stuck episode (old None: new to us)."""
    progressing = condition(new, PROGRESSING)
    if (
        progressing is None
        or progressing.get("status") != "False"
        or progressing.get("reason") != DEADLINE_EXCEEDED
    ):
        memory.stuck = False
        return []
    if memory.stuck or not is_observed(new):
        return []
    memory.stuck = True
    return [
        Derived("deployment.rolloutStuck", reason=DEADLINE_EXCEEDED, message=text(progressing.get("message")))
    ]
