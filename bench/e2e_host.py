"""`wfhost run`, counting the invocations of one workflow: the host process of bench/e2e_throughput.py.

    python -m bench.e2e_host --config CONFIG.yaml --workflow NAME   (BENCH_REPORT_FD set, commands on stdin)

The same assembly as `wfhost run --config` (host.cli.cmd_run: config, logging, `Host`, `Service`
with its API, stopped by SIGTERM), plus one thing: each finished invocation of `--workflow` is
noted by a `bench._counter.Counter` (one time read and a counter increment per invocation, as
the kopf operator's handler does), through the dispatcher's `result_listeners`. `{"reply": "ready"}`
goes out once the host is ready (leading, every wanted watch past its baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from bench._counter import Counter, from_environment
from host.config import load_config
from host.logs import configure_logging
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from host.service import Service, run_until_signalled


def count_invocations(host: Host, workflow: str, counter: Counter) -> None:
    def counted(result: InvocationResult) -> None:
        if result.workflow == workflow:
            counter.note(result.outcome == "ok")

    host.dispatcher.result_listeners.append(counted)


def time_submits(host: Host, counter: Counter) -> None:
    """BENCH_STAGE_TIMES: note when the sources handed the dispatcher its first and latest event since
    the last `arm` (diagnostics: when the source stage finished a backlog, beside the invocations)."""
    submit = host.dispatcher.submit
    seen = {"armed_at": 0.0, "first": 0.0, "last": 0.0, "count": 0}

    async def timed(event: Any) -> list[str]:
        now = time.monotonic()
        if seen["armed_at"] != counter.armed_at:
            seen.update(armed_at=counter.armed_at, first=now, count=0)
        seen["last"] = now
        seen["count"] += 1
        return await submit(event)

    host.dispatcher.submit = timed  # type: ignore[method-assign]
    previous = counter.extra
    counter.extra = lambda: {**(previous() if previous else {}),
                             "submits": {"first": seen["first"], "last": seen["last"], "count": seen["count"]}}


async def serve(host: Host, counter: Counter) -> None:
    async def announce() -> None:
        while not host.ready:  # noqa: ASYNC110 - a property, polled as the API's /readyz reads it
            await asyncio.sleep(0.05)
        counter.send("ready")

    task = asyncio.create_task(announce())
    try:
        await run_until_signalled(Service(host))
    finally:
        task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--workflow", required=True)
    args = parser.parse_args()
    config = load_config(args.config)
    configure_logging(format=config.logging.format, level=config.logging.level)
    host = Host(config)
    counter = from_environment()
    count_invocations(host, args.workflow, counter)
    if os.environ.get("BENCH_STAGE_TIMES"):
        time_submits(host, counter)
    counter.serve_stdin()
    asyncio.run(serve(host, counter))


if __name__ == "__main__":
    main()
