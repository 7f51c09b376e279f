"""`pod.containerConfigError`: a v1 Pod's container cannot be started because of how it is set up.

Reasons (the kubelet's `ErrCreateContainerConfig`, `ErrCreateContainer`, `ErrPreCreateHook`,
`ErrPreStartHook`, `ErrPostStartHook`, `ErrRunContainer`, `ErrInvalidImageName`,
`ErrImageNeverPull`), each a container `state.waiting.reason` whose `message` says what is wrong:

- `CreateContainerConfigError`: the container's config cannot be built — a missing ConfigMap,
  Secret or key (`configmap "app-config" not found`, `couldn't find key DB_URL in Secret shop/db`),
  or `runAsNonRoot` with an image that runs as root;
- `CreateContainerError`: the runtime refused to create it (e.g. a bad mount or device);
- `PreCreateHookError` / `PreStartHookError`: the kubelet's internal hooks (CPU / topology /
  memory managers) could not place it;
- `PostStartHookError`: its `postStart` lifecycle hook failed, so it was killed;
- `RunContainerError`: created but could not start (`exec: "serve": executable file not found in
  $PATH`);
- `InvalidImageName`: the image reference does not parse; `ErrImageNeverPull`: the image is not
  on the node and `imagePullPolicy: Never` forbids pulling it.

Not included: `ErrImagePull` / `ImagePullBackOff` (`pod.imagePullBackOff`), `CrashLoopBackOff`
(`pod.crashLoop`: it ran and exited), and `KillContainerError` (stopping, not starting, failed).

A start that fails inside the runtime also leaves a termination record with reason `StartError`
(containerd) or `ContainerCannotRun` (Docker), exit code 128, whose message is the runtime's error.
The kubelet shows it as waiting `RunContainerError` only until its next sync: in between retries
the container waits in `CrashLoopBackOff` with that record in `lastState`, and a container that is
not restarted (`restartPolicy: Never`, e.g. a Job's) stays `terminated` with it. Both count as a
blocked start too (`reason` is then the record's: `StartError` / `ContainerCannotRun`), so such a
container is caught when only those states are seen (a watch gap, a Job's pod, the baseline).

**Episode**, per container (init or regular; not ephemeral): from the first blocked-start state
until the container has started — `running` and not `started: false` (the kubelet sets `started`
once `postStart` and any startup probe passed), or `terminated` with any other reason (it ran).
Nothing else ends it: the kubelet's retries cycle `RunContainerError` / `PostStartHookError` ->
`CrashLoopBackOff` -> again, and flipping between two blocking reasons (a ConfigMap created while
the Secret is still missing) is still the same problem, so none of that fires again. Blocked
containers already seen at the baseline prime the memory and do not fire on the next update. A
`PostStartHookError` container seen first during a back-off (`CrashLoopBackOff`, its hook failure
not recognizable in the record) is reported at its next `PostStartHookError`.

`Derived`: `container`, `reason`, `message` (the waiting message, or the termination record's),
`restart_count`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from host.sources.classify import Derived
from host.sources.semantic._objects import Obj, container_statuses, get, text

BLOCKING_REASONS = frozenset(
    {
        "CreateContainerConfigError",
        "CreateContainerError",
        "PreCreateHookError",
        "PreStartHookError",
        "PostStartHookError",
        "RunContainerError",
        "InvalidImageName",
        "ErrImageNeverPull",
    }
)
START_FAILED = frozenset({"StartError", "ContainerCannotRun"})
CRASHLOOP = "CrashLoopBackOff"


@dataclass
class Memory:
    """Per Pod: containers in a reported blocked-start episode -> the reason first reported."""

    blocked: dict[str, str] = field(default_factory=dict)


def blocked_start(status: Obj) -> tuple[str, str | None] | None:
    """(reason, message) when this container status shows a blocked start, else None."""
    waiting = get(status, "state", "waiting")
    reason = text(get(waiting, "reason"))
    if reason in BLOCKING_REASONS:
        return reason, text(get(waiting, "message"))
    record = (
        get(status, "lastState", "terminated") if reason == CRASHLOOP else get(status, "state", "terminated")
    )
    record_reason = text(get(record, "reason"))
    if record_reason in START_FAILED:
        return record_reason, text(get(record, "message"))
    return None


def has_started(status: Obj) -> bool:
    """The container got going since: running past postStart / startup probe, or ended after a run."""
    state = status.get("state")
    if isinstance(get(state, "running"), dict):
        return status.get("started") is not False
    terminated = get(state, "terminated")
    return isinstance(terminated, dict) and text(terminated.get("reason")) not in START_FAILED


def classify(old: Obj | None, new: Obj, memory: Memory, *, deleted: bool = False) -> list[Derived]:
    """`pod.containerConfigError` per container entering a blocked start (old None: pod new to us)."""
    found: list[Derived] = []
    for status in container_statuses(new):
        name = status["name"]
        blocked = blocked_start(status)
        if blocked is None:
            if has_started(status):
                memory.blocked.pop(name, None)
            continue
        if name in memory.blocked:
            continue
        reason, message = blocked
        memory.blocked[name] = reason
        found.append(
            Derived(
                "pod.containerConfigError",
                container=name,
                reason=reason,
                message=message,
                restart_count=_int(status.get("restartCount")),
            )
        )
    return found


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
