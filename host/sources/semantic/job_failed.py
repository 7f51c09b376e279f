"""`job.failed`: a batch/v1 Job gains the condition `Failed=True`.

The job controller adds `Failed` when the Job is finished for good: `BackoffLimitExceeded` (too
many failed pods), `DeadlineExceeded` (`activeDeadlineSeconds`), `PodFailurePolicy` (a pod failure
policy rule said `FailJob`), `MaxFailedIndexesExceeded` / `FailedIndexes` (indexed Jobs). Since
Kubernetes 1.31 it first adds `FailureTarget` while the remaining pods terminate; that one is not
reported, the `Failed` that follows is (so a failure is reported once, with its final reason).

**Episode**: the time the Job's `Failed` condition is `True`. A Job fails once, so in practice this
is once per Job uid; should the condition ever go away or turn `False` (a Job is not normally
"un-failed", but nothing here assumes it cannot be), the episode ends and a later `Failed=True` is
reported again. A Job first seen already failed (the baseline, whose events are discarded)
primes `Memory.failed`, so it is not reported on its next update. A Job we never saw that is
deleted already failed (it failed and went away between two of our views, e.g. with
`ttlSecondsAfterFinished: 0`) is reported: `deleted` does not suppress the edge.

`Derived`: `reason` = the condition's reason, `message` = its message.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, condition, text

FAILED = "Failed"


@dataclass
class Memory:
    """Per Job: whether its current failure was already reported (or primed at the baseline)."""

    failed: bool = False


def classify(old: Obj | None, new: Obj, memory: Memory, *, deleted: bool = False) -> list[Derived]:
    """`job.failed` when `new` is failed and the episode was not reported yet (old None: new to us)."""
    failed = condition(new, FAILED)
    if failed is None or failed.get("status") != "True":
        memory.failed = False
        return []
    if memory.failed:
        return []
    memory.failed = True
    return [Derived("job.failed", reason=text(failed.get("reason")), message=text(failed.get("message")))]
