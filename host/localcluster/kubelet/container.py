"""What the kubelet knows about one container across its restarts: state, last state, logs, back-off."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.localcluster.kubelet.logs import ContainerLog
from host.localcluster.kubelet.process import ContainerProcess

REGULAR = "regular"
EPHEMERAL = "ephemeral"


@dataclass(slots=True)
class Waiting:
    reason: str
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": self.reason}
        if self.message:
            body["message"] = self.message
        return {"waiting": body}


@dataclass(slots=True)
class Running:
    started_at: str

    def to_json(self) -> dict[str, Any]:
        return {"running": {"startedAt": self.started_at}}


@dataclass(slots=True)
class Terminated:
    exit_code: int
    reason: str
    finished_at: str
    started_at: str | None = None
    message: str | None = None
    container_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "exitCode": self.exit_code,
            "reason": self.reason,
            "finishedAt": self.finished_at,
        }
        if self.started_at:
            body["startedAt"] = self.started_at
        if self.message:
            body["message"] = self.message
        if self.container_id:
            body["containerID"] = self.container_id
        return {"terminated": body}


State = Waiting | Running | Terminated


class Backoff:
    """The kubelet's restart back-off: the first restart is immediate, then base, 2*base, ... up to cap.

    A container that ran longer than twice the cap before exiting starts over.
    """

    def __init__(self, base: float, cap: float) -> None:
        self._base = base
        self._cap = cap
        self._current = 0.0

    def next(self, ran_for: float = 0.0) -> float:
        if ran_for > 2 * self._cap and self._cap > 0:
            self._current = 0.0
        delay = self._current
        self._current = self._base if self._current == 0 else min(self._current * 2, self._cap)
        return min(delay, self._cap)


@dataclass
class Container:
    """One container of a pod running on the local node."""

    name: str
    spec: dict[str, Any]
    kind: str
    log_dir: Path
    state: State = field(default_factory=lambda: Waiting("ContainerCreating"))
    last_terminated: Terminated | None = None
    restart_count: int = 0
    started: bool = False
    spec_changed: bool = False  # the image changed while it ran: restart it whatever the policy
    image_id: str = ""
    container_id: str | None = None
    process: ContainerProcess | None = None
    env: dict[str, str] | None = None
    cwd: str | None = None
    logs: list[ContainerLog] = field(default_factory=list)

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    def pulled(self) -> None:
        self.image_id = f"{self.image.split('@')[0]}@sha256:{hashlib.sha256(self.image.encode()).hexdigest()}"

    def new_log(self) -> ContainerLog:
        instance = ContainerLog(self.log_dir / f"{len(self.logs)}.log")
        self.logs.append(instance)
        return instance

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "state": self.state.to_json(),
            "lastState": self.last_terminated.to_json() if self.last_terminated else {},
            "ready": self.kind == REGULAR and isinstance(self.state, Running),
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": self.image_id,
            "started": isinstance(self.state, Running),
        }
        if self.container_id:
            body["containerID"] = self.container_id
        return body
