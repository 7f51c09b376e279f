"""`$/cancel`: a cancelled or timed-out invocation is asked to stop before its worker is killed.

Real host, real Deno children. An invocation is triggered as the API triggers one
(`Host.trigger`) and cancelled through `Dispatcher.cancel`, the API's way to stop one. The
host sends the guest `$/cancel`; a workflow that honours `ctx.signal` stops and its worker
stays warm (the same process serves the next invocation); one that ignores it is killed once
`sandbox.cancelGraceSeconds` have passed.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import structlog

from host.model.events import Event
from host.model.invocation import InvocationResult
from host.runtime.app import Host
from host.runtime.invoker import invoke
from host.workflows.loaded import LoadedWorkflow
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(120)

GRACE = 1.5

HOLDING = """
import {{ defineWorkflow }} from "@wfhost/sdk";
export default defineWorkflow({{
  name: "{name}",
  triggers: [{{ on: "manual" }}],
  capabilities: ["findings.report"],
  params: {{ hold: {{ type: "boolean", default: true }} }},
  async run(ctx) {{
    if (!ctx.params.hold) {{
      await ctx.report({{ title: "quick" }});
      return;
    }}
    // Listening before "started" goes out: the test may cancel before that report's reply arrives.
    const waiting = new Promise<void>((resolve, reject) => {{
      const timer = setTimeout(resolve, 60_000);
      ctx.signal.addEventListener("abort", () => {{
        console.warn(`{name} saw: ${{ctx.signal.reason}}`);  // warn: the suite logs warnings up
        {on_abort}
      }}, {{ once: true }});
    }});
    waiting.catch(() => {{}});
    try {{
      await ctx.report({{ title: "started" }});
    }} catch {{
      // cancelled before its reply came: the wait below decides
    }}
    await waiting;
  }},
}});
"""
# Honours the signal: stops waiting and rejects with the abort reason.
POLITE = HOLDING.format(name="polite", on_abort="clearTimeout(timer); reject(ctx.signal.reason);")
# Sees the signal and carries on waiting.
STUBBORN = HOLDING.format(name="stubborn", on_abort="// carries on regardless")


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "polite.ts").write_text(textwrap.dedent(POLITE))
    (custom / "stubborn.ts").write_text(textwrap.dedent(STUBBORN))
    (tmp_path / "builtin").mkdir()
    config = make_config(
        tmp_path, api={"enabled": False},
        sandbox={"cancelGraceSeconds": GRACE, "invocationTimeoutSeconds": 30,
                 "restartBackoff": {"initialSeconds": 0.05, "maxSeconds": 0.2}},
        triggers={"perSubjectIntervalSeconds": 0},
        workflows={"builtinDirectory": str(tmp_path / "builtin")},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )
    h = Host(config, with_cluster=False)
    await h.start(watch=False)
    yield h
    await h.stop()


def _workflow(host: Host, name: str) -> LoadedWorkflow:
    wf = host.registry.get(name)
    assert wf is not None, host.registry.statuses()
    return wf


async def _started(host: Host, invocation_id: str) -> None:
    """Wait until the invocation's run reported "started" (it is then waiting for the signal)."""
    for _ in range(400):
        if any(f.invocation_id == invocation_id and f.title == "started" for f in host.findings.recent()):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{invocation_id} never started")


async def _gone(pid: int) -> None:
    for _ in range(200):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


async def _cancel_once_started(host: Host, name: str) -> tuple[InvocationResult, float, list[dict[str, Any]]]:
    """Trigger `name` as the API does, cancel it once it runs; its result, the seconds from the
    cancel to the result, and the logs meanwhile."""
    with structlog.testing.capture_logs() as logs:
        invocation_id, done = host.trigger(name, Event(kind="manual"), {}, wait=True)
        assert done is not None
        await _started(host, invocation_id)
        began = time.monotonic()
        assert host.dispatcher.cancel(invocation_id)
        result = await asyncio.wait_for(done, GRACE + 10)
    return result, time.monotonic() - began, logs


def _saw_cancel(logs: list[dict[str, Any]], name: str) -> bool:
    """The guest's abort listener ran with the reason the SDK gives a `$/cancel` from the host."""
    return any(e.get("event") == "workflow.log" and str(e.get("message", "")).startswith(f"{name} saw: CancelledError")
               and "was cancelled by the host" in str(e.get("message")) for e in logs)


async def _quick(host: Host, name: str) -> InvocationResult:
    _, done = host.trigger(name, Event(kind="manual"), {"hold": False}, wait=True)
    assert done is not None
    return await asyncio.wait_for(done, 20)


async def test_a_cancelled_invocation_that_honours_the_signal_stops_and_keeps_its_worker(host: Host) -> None:
    wf = _workflow(host, "polite")
    (pid,) = wf.pool.worker_pids()
    starts = wf.pool.stats.starts

    result, seconds, logs = await _cancel_once_started(host, "polite")

    assert result.outcome == "cancelled", result.error
    assert result.error == "polite was cancelled (by request); it stopped on $/cancel and its worker was kept"
    assert _saw_cancel(logs, "polite"), logs
    assert "sandbox.cancel_ignored" not in [e.get("event") for e in logs]
    assert seconds < GRACE
    again = await _quick(host, "polite")
    assert again.outcome == "ok", again.error
    assert [f.title for f in again.findings] == ["quick"]
    assert wf.pool.worker_pids() == [pid]  # the same child served it: no start, no restart
    assert (wf.pool.stats.starts, wf.pool.stats.restarts) == (starts, 0)


async def test_a_cancelled_invocation_that_ignores_the_signal_is_killed_after_the_grace(host: Host) -> None:
    wf = _workflow(host, "stubborn")
    (pid,) = wf.pool.worker_pids()

    result, seconds, logs = await _cancel_once_started(host, "stubborn")

    assert result.outcome == "cancelled", result.error
    assert result.error == (
        f"stubborn was cancelled (by request); it did not stop within {GRACE:g}s of $/cancel and its worker was killed")
    assert _saw_cancel(logs, "stubborn")  # it was asked, and carried on
    assert "sandbox.cancel_ignored" in [e.get("event") for e in logs]
    assert GRACE <= seconds < GRACE + 5
    await _gone(pid)
    again = await _quick(host, "stubborn")
    assert again.outcome == "ok", again.error
    assert wf.pool.worker_pids() not in ([], [pid])


async def test_a_timed_out_invocation_is_sent_cancel_and_one_that_stops_keeps_its_worker(host: Host) -> None:
    wf = _workflow(host, "polite")
    (pid,) = wf.pool.worker_pids()
    with structlog.testing.capture_logs() as logs:
        result = await invoke(wf, Event(kind="manual"), timeout=1.0)
    assert result.outcome == "timeout", result.error
    assert result.error == "polite did not finish within 1s; it stopped on $/cancel and its worker was kept"
    assert _saw_cancel(logs, "polite")
    assert result.duration_seconds < 1.0 + GRACE
    assert (await invoke(wf, Event(kind="manual"), overrides={"hold": False})).outcome == "ok"
    assert wf.pool.worker_pids() == [pid]


async def test_a_queued_invocation_cancelled_never_runs_and_an_unknown_id_is_refused(host: Host) -> None:
    running, running_done = host.trigger("polite", Event(kind="manual"), {}, wait=True)
    await _started(host, running)
    queued, queued_done = host.trigger("polite", Event(kind="manual"), {"hold": False}, wait=True)
    assert running_done is not None and queued_done is not None
    assert host.dispatcher.cancel(queued)
    assert host.dispatcher.cancel(running)
    first, second = await asyncio.wait_for(asyncio.gather(running_done, queued_done), GRACE + 10)
    assert first.outcome == "cancelled", first.error
    assert (second.outcome, second.error) == ("cancelled", "polite was cancelled (by request) before it started")
    assert second.findings == []
    assert not host.dispatcher.cancel(queued)  # finished: nothing left to cancel
    assert not host.dispatcher.cancel("inv-nobody")


async def test_an_invocation_cancelled_through_the_api_stops_and_keeps_its_worker(tmp_path: Path) -> None:
    import aiohttp

    from host.service import Service

    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "polite.ts").write_text(textwrap.dedent(POLITE))
    (tmp_path / "builtin").mkdir()
    config = make_config(
        tmp_path, api={"host": "127.0.0.1", "port": 0, "token": "t"},
        sandbox={"cancelGraceSeconds": GRACE, "invocationTimeoutSeconds": 30},
        workflows={"builtinDirectory": str(tmp_path / "builtin")},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )
    service = Service(Host(config, with_cluster=False))
    auth = {"Authorization": "Bearer t"}
    body = {"workflow": "polite", "target": {"namespace": "shop", "pod": "web-1"}, "wait": True}
    try:
        await service.start(watch=False)
        host, url = service.host, service.url
        (pid,) = _workflow(host, "polite").pool.worker_pids()
        async with aiohttp.ClientSession(headers=auth) as http:

            async def trigger() -> dict[str, Any]:
                async with http.post(f"{url}/api/v1/trigger", json=body) as resp:
                    return dict(await resp.json())

            with structlog.testing.capture_logs() as logs:
                answer = asyncio.create_task(trigger())
                for _ in range(400):
                    started = [f for f in host.findings.recent() if f.title == "started"]
                    if started:
                        break
                    await asyncio.sleep(0.025)
                assert started, "the run never started"
                inv_id = started[0].invocation_id
                async with http.post(f"{url}/api/v1/invocations/{inv_id}/cancel") as resp:
                    assert (resp.status, await resp.json()) == (202, {"invocationId": inv_id, "status": "cancelling"})
                done = await asyncio.wait_for(answer, GRACE + 10)
            assert (done["status"], done["outcome"]) == ("done", "cancelled"), done
            assert "it stopped on $/cancel and its worker was kept" in done["error"]
            assert _saw_cancel(logs, "polite"), logs
            assert _workflow(host, "polite").pool.worker_pids() == [pid]

            async with http.post(f"{url}/api/v1/invocations/{inv_id}/cancel") as resp:
                assert resp.status == 404  # finished: nothing left to cancel
                assert "no queued or running invocation" in (await resp.json())["error"]
            async with aiohttp.ClientSession() as anonymous, \
                    anonymous.post(f"{url}/api/v1/invocations/{inv_id}/cancel") as resp:
                assert resp.status == 401
    finally:
        await service.stop()
