"""The kopf side of bench/e2e_throughput.py: a no-op `@kopf.on.event('pods')` handler that counts.

    BENCH_REPORT_FD=N KUBECONFIG=... python -m kopf run --standalone --all-namespaces bench/kopf_operator.py

kopf's defaults throughout; the handler notes each MODIFIED pod event on a `bench._counter.Counter`
(one time read and a counter increment, as wfhost's side does per invocation).
"""

from __future__ import annotations

from typing import Any

import kopf

from bench._counter import from_environment

counter = from_environment()
counter.serve_stdin()


@kopf.on.startup()
async def ready(**_: Any) -> None:
    counter.send("ready")


@kopf.on.event("pods")
async def on_pod_event(*, type: str, **_: Any) -> None:  # kopf names the event type `type`
    if type == "MODIFIED":
        counter.note()
