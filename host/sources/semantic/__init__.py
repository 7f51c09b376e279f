"""Semantic events: the failure modes users meet most, each reported once per *episode*.

Pure classifiers (no I/O, no asyncio); the watch sources feed them. Every module's docstring says
what an episode is for its event and how the baseline (the first list, whose events are
discarded) primes it, so a condition that existed before the host started is not reported later.

Object classifiers — a `Memory` dataclass (one per object, owned by the tracker) and
`classify(old, new, memory, *, deleted=False) -> list[Derived]`, old None meaning the object is
new to us (baseline or create):

| module              | emits                       | reads                      |
|---------------------|-----------------------------|----------------------------|
| `job_failed`        | `job.failed`                | Job (batch/v1)             |
| `node_conditions`   | `node.notReady`, `node.pressure` | Node (v1)                |
| `rollout_stuck`     | `deployment.rolloutStuck`   | Deployment (apps/v1)       |
| `container_config`  | `pod.containerConfigError`  | Pod (v1)                   |

Trackers that need time (wall clock, injectable):

| module              | emits                       | reads                      |
|---------------------|-----------------------------|----------------------------|
| `pod_pending`       | `pod.pending` (`PendingTracker`: `observe`, `forget`, `due`) | Pod (v1) |
| `probe_failing`     | `pod.probeFailing` (`ProbeTracker`: `observe`) | Event (v1, `Unhealthy` Warnings) |

`Derived` is `host.sources.classify.Derived`; the source adds the subject (and the pod).
"""
