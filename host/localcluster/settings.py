"""Knobs of the local cluster: where it listens, how long history is kept, how fast the kubelet backs off.

Defaults mirror a real cluster (10 s crash-loop back-off doubling to 5 min, watches that last
30 min, bookmarks every minute); `LocalClusterSettings.for_tests()` shrinks every delay so a
test sees a crash loop within a second or two.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class LocalClusterSettings(BaseModel):
    """Settings of one local cluster (API server plus optional kubelet)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = Field("127.0.0.1", description="Address the API server binds to.")
    port: int = Field(0, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    kubelet: bool = Field(
        True, description="Run the fake scheduler and kubelet that start pods as local processes."
    )
    node_name: str = Field("localnode", description="Name of the single node the kubelet runs.")
    history_window: int = Field(
        10_000,
        ge=1,
        description="How many changes the server retains for watches; older versions answer 410 Gone.",
    )
    bookmark_interval_seconds: float = Field(
        60.0, gt=0, description="How often watches with allowWatchBookmarks get a BOOKMARK event."
    )
    default_watch_timeout_seconds: float = Field(
        1800.0, gt=0, description="How long a watch without timeoutSeconds stays open."
    )
    watch_queue_limit: int = Field(
        200_000,
        ge=1,
        description="Undelivered events a slow watcher may accumulate before its stream is closed.",
    )
    crashloop_backoff_base_seconds: float = Field(
        10.0, ge=0, description="Delay before the second restart of a crashing container; doubles after each."
    )
    crashloop_backoff_cap_seconds: float = Field(300.0, ge=0, description="Longest crash-loop back-off.")
    image_pull_backoff_base_seconds: float = Field(
        10.0, ge=0, description="Delay before retrying a failed image pull; doubles after each."
    )
    image_pull_backoff_cap_seconds: float = Field(300.0, ge=0, description="Longest image-pull back-off.")
    termination_grace_cap_seconds: float | None = Field(
        None,
        ge=0,
        description="Upper bound on a pod's terminationGracePeriodSeconds when stopping its containers; "
        "unset honours the pod's own (as a real kubelet does). Tests set it to stay fast.",
    )
    enforce_resource_limits: bool = Field(
        True,
        description="Run containers with resources.limits in cgroup v1 memory/cpu groups where the "
        "machine allows it, so the kernel enforces them (an OOM kill is reported as OOMKilled).",
    )
    node_heartbeat_seconds: float = Field(
        10.0, gt=0, description="How often the kubelet renews its node Lease and Ready condition."
    )
    too_large_resource_version_wait_seconds: float = Field(
        3.0,
        ge=0,
        description="How long a list from a resourceVersion the server has not reached waits for it before "
        "answering 504 (the real server's watch cache waits 3 s).",
    )
    allow_ephemeral_containers: bool = Field(
        True, description="When false, the ephemeralcontainers subresource answers 403 Forbidden."
    )
    unpullable_registries: list[str] = Field(
        default_factory=lambda: ["invalid.example"],
        description="Registry hosts whose images fail to pull (ErrImagePull); any host under .invalid also fails.",
    )
    log_dir: Path | None = Field(
        None, description="Where container logs go; a temporary directory when unset."
    )
    inherit_environment: bool = Field(
        False,
        description="Give container processes the server's whole environment instead of a minimal one.",
    )
    extra_environment: dict[str, str] = Field(
        default_factory=dict, description="Variables added to every container process's environment."
    )

    def grace_seconds(self, requested: float) -> float:
        """The grace period a container stop gets: the pod's own, bounded by the cap when one is set."""
        cap = self.termination_grace_cap_seconds
        return requested if cap is None else min(requested, cap)

    @classmethod
    def for_tests(cls, **overrides: object) -> LocalClusterSettings:
        """Settings with every kubelet delay shortened so tests observe restarts quickly."""
        fast: dict[str, object] = {
            "crashloop_backoff_base_seconds": 0.3,
            "crashloop_backoff_cap_seconds": 2.0,
            "image_pull_backoff_base_seconds": 0.3,
            "image_pull_backoff_cap_seconds": 2.0,
            "termination_grace_cap_seconds": 2.0,
            "node_heartbeat_seconds": 2.0,
            "too_large_resource_version_wait_seconds": 0.5,
        }
        fast.update(overrides)
        return cls.model_validate(fast)
