"""Triggers and dispatch: kind/namespace/label/name filters, per-subject rate limit, bounded queues, graceful stop."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from host.errors import QueueFull
from host.model.events import Event, Subject, Target
from host.model.manifest import TriggerSpec
from host.runtime.app import Host
from host.triggers.index import RateLimiter, TriggerIndex
from host.triggers.selectors import parse_selector
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(120)


def _pod_event(kind: str, ns: str, name: str, labels: dict[str, str] | None = None) -> Event:
    return Event(kind=kind, subject=Subject(kind="Pod", namespace=ns, name=name),  # type: ignore[arg-type]
                 pod={"namespace": ns, "name": name, "labels": labels or {}})


def _index(*workflows: tuple[str, list[TriggerSpec]]) -> TriggerIndex:
    index = TriggerIndex()
    index.rebuild([SimpleNamespace(name=n, triggers=t) for n, t in workflows])  # type: ignore[misc]
    return index


def test_the_index_matches_kind_namespace_labels_and_name_pattern() -> None:
    index = _index(
        ("any-crash", [TriggerSpec(on="pod.crashLoop")]),
        ("shop-only", [TriggerSpec(on="pod.crashLoop", namespaces=["shop"])]),
        ("web-tier", [TriggerSpec(on="pod.crashLoop", label_selector="tier=web,env notin (dev)")]),
        ("api-pods", [TriggerSpec(on="pod.crashLoop", name_pattern="api-*")]),
        ("ooms", [TriggerSpec(on="pod.oomKilled")]),
    )
    assert index.match(_pod_event("pod.crashLoop", "shop", "web-1", {"tier": "web", "env": "prod"})) == [
        "any-crash", "shop-only", "web-tier"]
    assert index.match(_pod_event("pod.crashLoop", "other", "api-7", {"tier": "web", "env": "dev"})) == [
        "any-crash", "api-pods"]
    assert index.match(_pod_event("pod.oomKilled", "shop", "web-1")) == ["ooms"]
    assert index.match(_pod_event("pod.create", "shop", "web-1")) == []


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "db"}, False),
        ("app!=web", {}, True),
        ("env in (prod, staging)", {"env": "staging"}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": "yes"}, False),
        ("app=web,tier in (front,back),!legacy", {"app": "web", "tier": "back"}, True),
    ],
)
def test_label_selectors_follow_kubernetes_syntax(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector)(labels) is expected


def test_a_bad_selector_names_the_term() -> None:
    with pytest.raises(ValueError, match="invalid label selector term 'app=>web'"):
        parse_selector("app=>web")


def test_the_rate_limit_is_per_workflow_and_subject_and_manual_is_never_limited() -> None:
    now = [100.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    a, b = _pod_event("pod.crashLoop", "shop", "a"), _pod_event("pod.oomKilled", "shop", "b")
    assert limiter.allow("wf", a)
    assert not limiter.allow("wf", _pod_event("pod.oomKilled", "shop", "a"))  # same subject, any kind
    assert limiter.allow("other-wf", a)
    assert limiter.allow("wf", b)
    manual = Event(kind="manual", target=Target(namespace="shop", pod="a"))
    assert limiter.allow("wf", manual)
    assert limiter.allow("wf", manual)
    now[0] += 61
    assert limiter.allow("wf", a)
    assert limiter.limited == 1


SLOW = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "slow",
  triggers: [{ on: "manual" }, { on: "pod.crashLoop" }],
  capabilities: ["findings.report"],
  params: { ms: { type: "number", default: 800 } },
  async run(ctx, event) {
    await new Promise((r) => setTimeout(r, ctx.params.ms));
    await ctx.report({ title: `done ${event.kind}` });
  },
});
"""


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "slow.ts").write_text(textwrap.dedent(SLOW))
    (tmp_path / "builtin").mkdir()
    config = make_config(
        tmp_path, api={"enabled": False},
        sandbox={"queueSize": 2, "shutdownGraceSeconds": 10},
        triggers={"perSubjectIntervalSeconds": 0},
        workflows={"builtinDirectory": str(tmp_path / "builtin")},
        customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
    )
    h = Host(config, with_cluster=False)
    await h.start(watch=False)
    yield h
    if h.started:
        await h.stop()


def _metric(host: Host, name: str, **labels: str) -> float:
    value = host.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_a_full_queue_drops_and_counts_instead_of_growing(host: Host) -> None:
    crash = _pod_event("pod.crashLoop", "shop", "web-1")
    # submit() does not yield, so no consumer takes an item in between: two fit (queueSize 2)
    queued = [await host.dispatcher.submit(crash) for _ in range(6)]
    assert queued == [["slow"], ["slow"], [], [], [], []]
    assert _metric(host, "wfhost_invocations_dropped_total", workflow="slow", reason="queue_full") == 4
    assert host.dispatcher.depth("slow") == 2
    with pytest.raises(QueueFull, match="queue of 2 is full"):
        host.dispatcher.trigger("slow", Event(kind="manual"), {}, wait=False)


async def test_stopping_lets_running_invocations_finish_and_drops_the_queued_ones(host: Host) -> None:
    _, running = host.dispatcher.trigger("slow", Event(kind="manual"), {}, wait=True)
    await asyncio.sleep(0.2)
    _, queued = host.dispatcher.trigger("slow", Event(kind="manual"), {}, wait=True)
    began = time.monotonic()
    await host.stop()
    assert running is not None and queued is not None
    assert (await running).outcome == "ok"  # finished within the grace period
    assert [f.title for f in host.findings.recent()] == ["done manual"]
    with pytest.raises(Exception, match="host stopping"):
        await queued
    assert time.monotonic() - began < 8
    assert _metric(host, "wfhost_invocations_dropped_total", workflow="slow", reason="shutdown") == 1
    host.started = False


async def test_the_grace_period_is_bounded(host: Host) -> None:
    object.__setattr__(host.config.sandbox, "shutdown_grace_seconds", 0.5)
    _, running = host.dispatcher.trigger("slow", Event(kind="manual"), {"ms": 60_000}, wait=True)
    await asyncio.sleep(0.3)
    pids = [p for w in host.registry.workflows() for p in w.pool.worker_pids()]
    began = time.monotonic()
    await host.stop()
    assert time.monotonic() - began < 5
    import psutil

    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert running is not None and running.cancelled()
    host.started = False


async def test_a_built_in_can_be_bound_to_more_triggers_in_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, api={"enabled": False}, workflows={
        "podTroubleshooting": {
            "pythonProfiler": {"triggers": [{"on": "pod.crashLoop", "namespaces": ["shop"]}]},
            "podProcessList": {"enabled": False},
        },
        # The crash-loop explainer triggers on pod.crashLoop of its own: off, to see the binding alone.
        "podEnrichment": {"restartLoopReporter": {"enabled": False}},
    })
    h = Host(config, with_cluster=False)
    await h.start(watch=False)
    try:
        assert h.registry.get("pod-process-list") is None
        profiler = h.registry.get("python-profiler")
        assert profiler is not None
        assert [t.on for t in profiler.triggers] == ["manual", "pod.crashLoop"]
        assert h.index.match(_pod_event("pod.crashLoop", "shop", "web-1")) == ["python-profiler"]
        assert h.index.match(_pod_event("pod.crashLoop", "other", "web-1")) == []
    finally:
        await h.stop()
