"""`Dispatcher.on_finished`, what the leader's handled record is built from: called once per
invocation that finished, and for the invocations of a workflow that was unloaded (they run
nowhere), never for those the host drops or cancels as it stops (the next leader runs them)."""

from __future__ import annotations

import asyncio
import textwrap
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from host.model.events import Event
from host.runtime.app import Host
from host.workflows.registry import WorkflowDir
from tests.conftest import make_config
from tests.kube.support import eventually

WORKFLOW = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "NAME",
  triggers: [{ on: "pod.crashLoop" }],
  capabilities: [],
  async run(ctx, event) {
    await new Promise((resolve) => setTimeout(resolve, MS));
  },
});
"""


def workflow(name: str, ms: int) -> str:
    return textwrap.dedent(WORKFLOW).replace("NAME", name).replace("MS", str(ms))


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "quick.ts").write_text(workflow("quick", 1))
    (custom / "slow.ts").write_text(workflow("slow", 60_000))
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    config = make_config(
        tmp_path,
        api={"enabled": False},
        workflows={"builtinDirectory": str(builtin)},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
        triggers={"perSubjectIntervalSeconds": 0},
        sandbox={"stateDir": str(tmp_path / "state"), "concurrencyPerWorkflow": 1, "shutdownGraceSeconds": 0},
    )
    running = Host(config, with_cluster=False)
    await running.start(watch=False)
    assert sorted(w.name for w in running.registry.workflows()) == ["quick", "slow"]
    try:
        yield running
    finally:
        await running.stop()


def crash(name: str) -> Event:
    return Event(kind="pod.crashLoop", object={"metadata": {"name": name}})


async def test_each_finished_invocation_is_reported_once_and_an_unloaded_workflows_too(
    host: Host, tmp_path: Path
) -> None:
    finished: Counter[str] = Counter()
    host.dispatcher.on_finished = lambda event_id: finished.update([event_id])
    events = [crash(f"pod-{i}") for i in range(3)]
    for event in events:
        assert sorted(await host.submit(event)) == ["quick", "slow"]
    # quick runs all three; slow runs the first for a minute, the other two wait in its queue.
    await eventually(lambda: all(finished[e.id] == 1 for e in events), timeout=60, what="quick's three")
    await asyncio.sleep(0.5)
    assert all(finished[e.id] == 1 for e in events)

    (tmp_path / "custom" / "slow.ts").unlink()
    await host.registry.rescan(WorkflowDir(tmp_path / "custom", "custom"))
    assert [w.name for w in host.registry.workflows()] == ["quick"]
    # Unloaded: the running one cancelled and the two queued dropped, each reported as done.
    await eventually(lambda: all(finished[e.id] == 2 for e in events), timeout=10, what="slow's three")


async def test_what_the_host_drops_or_cancels_as_it_stops_is_not_reported(host: Host) -> None:
    finished: Counter[str] = Counter()
    host.dispatcher.on_finished = lambda event_id: finished.update([event_id])
    events = [crash(f"pod-{i}") for i in range(3)]
    for event in events:
        await host.submit(event)
    await eventually(lambda: all(finished[e.id] == 1 for e in events), timeout=60, what="quick's three")
    await host.dispatcher.close(grace=0)
    assert all(finished[e.id] == 1 for e in events)  # slow's running one and its queue: nothing


async def test_a_host_defect_in_one_invocation_is_logged_and_reported_and_the_queue_goes_on(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the registry raises (a bug of ours, not the workflow's) for one lookup."""
    real_get = host.registry.get
    broken = {"left": 1}

    def get_once_broken(name: str) -> object:
        if name == "quick" and broken["left"]:
            broken["left"] -= 1
            raise RuntimeError("injected defect")
        return real_get(name)

    monkeypatch.setattr(host.registry, "get", get_once_broken)
    finished: Counter[str] = Counter()
    host.dispatcher.on_finished = lambda event_id: finished.update([event_id])
    told: list[tuple[str, str, str]] = []
    host.dispatcher.result_listeners.append(lambda r: told.append((r.workflow, r.event_id, r.outcome)))
    first, second = crash("pod-a"), crash("pod-b")
    with structlog.testing.capture_logs() as logs:
        _, waiting = host.trigger("quick", first, {}, wait=True)
        assert waiting is not None
        failed = await asyncio.wait_for(waiting, 30)  # without the guard: never answered
        assert failed.outcome == "crashed" and failed.error == "host error: RuntimeError: injected defect"
        _, waiting = host.trigger("quick", second, {}, wait=True)
        assert waiting is not None
        ok = await asyncio.wait_for(waiting, 30)
    assert ok.outcome == "ok", ok
    assert finished[first.id] == 1 and finished[second.id] == 1
    assert told == [("quick", first.id, "crashed"), ("quick", second.id, "ok")]  # the public hook sees both
    [line] = [e for e in logs if e["event"] == "dispatch.invocation_crashed"]
    assert line["workflow"] == "quick" and line["log_level"] == "error"


async def test_a_replica_that_stops_leading_drops_what_it_queued_from_the_sources_and_keeps_the_rest(
    host: Host,
) -> None:
    """The next leader fires these (they are above this replica's record); running them here too
    would fire them twice. An API trigger queued behind them is not the record's, so it stays."""
    finished: Counter[str] = Counter()
    host.dispatcher.on_finished = lambda event_id: finished.update([event_id])
    events = [crash(f"pod-{i}") for i in range(3)]
    for event in events:
        assert "slow" in await host.dispatcher.submit(event, recorded=True)
    await eventually(lambda: all(finished[e.id] == 1 for e in events), timeout=60, what="quick's three")
    asked, _ = host.trigger("slow", crash("asked-for"), {}, wait=False)
    assert host.dispatcher.depth("slow") == 3  # the first of the three runs (a minute), two wait, and the API's
    assert host.dispatcher.drop_recorded(reason="test") == 2
    assert host.dispatcher.depth("slow") == 1 and host.dispatcher.live(asked) is not None
    sample = host.metrics.registry.get_sample_value(
        "wfhost_invocations_dropped_total", {"workflow": "slow", "reason": "not_leading"})
    assert sample == 2
    await asyncio.sleep(0.3)
    assert all(finished[e.id] == 1 for e in events)  # the dropped are not reported as finished
