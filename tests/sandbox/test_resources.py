"""Hostile workflows that burn time and memory, during `run` or after it returned.

The host's wall-clock deadline SIGKILLs a child that does not answer in time, whatever it is
stuck in; the V8 heap cap and RLIMIT_DATA bound its memory; a child left busy by its own timers
costs only its own workflow one timed-out invocation before a fresh child takes over.
"""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from host.errors import WorkflowRefused
from tests.sandbox.conftest import Arena, ArenaFactory, hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    "body",
    [
        "while (true) {}",
        "for (;;) { await Promise.resolve(); }",
        "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);",
        "await new Promise(() => {});",
        "const f = (): number => f() + 1; while (true) { try { f(); } catch { /* stack overflow, again */ } }",
        "while (true) { await new Promise((r) => setTimeout(r, 0)); }",
    ],
    ids=["sync-loop", "microtask-loop", "atomics-wait", "never-settles", "stack-overflow-loop", "timer-loop"],
)
async def test_an_endless_run_is_killed_at_its_deadline(arena: Arena, body: str) -> None:
    wf = await arena.load(hostile("endless", body))
    (pid,) = wf.pool.worker_pids()
    began = time.monotonic()
    result = await arena.run(wf, timeout=1.5)
    elapsed = time.monotonic() - began
    assert result.outcome == "timeout", (result.outcome, result.error)
    assert 1.4 < elapsed < 6.0, elapsed
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    await arena.healthy(wf)


async def test_an_endless_loop_at_the_top_level_refuses_the_workflow(arena_factory: ArenaFactory) -> None:
    arena = arena_factory(startTimeoutSeconds=1.5)
    began = time.monotonic()
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(hostile("stuck-import", "", after="while (true) {}\n"))
    assert "did not answer initialize within 1.5s" in info.value.reason
    assert time.monotonic() - began < 8
    await arena.healthy()


@pytest.mark.parametrize(
    ("body", "outcome", "words"),
    [
        ("const hog: number[][] = []; while (true) hog.push(new Array(1e6).fill(Math.random()));", "crashed",
         "worker died"),
        ("let s = 'x'; while (true) s = s + s;", "failed", "Invalid string length"),
        # Either bound may stop it first: RLIMIT_DATA fails the allocation (a RangeError), or V8
        # ends the child over its external memory (seen on a loaded CI machine). Both are bounded.
        ("const keep: ArrayBuffer[] = []; while (true) keep.push(new ArrayBuffer(64 << 20));", "failed|crashed",
         "Array buffer allocation failed|worker died"),
        ("new ArrayBuffer(4 * 1024 ** 3);", "failed", "Array buffer allocation failed"),
        ("const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); while (true) m.grow(1024);", "failed",
         "WebAssembly.Memory.grow()"),
        ("const keep: Uint8Array[] = []; while (true) keep.push(new Uint8Array(32 << 20).fill(1));", "failed",
         "Array buffer allocation failed"),
    ],
    ids=["js-heap", "string-doubling", "array-buffers", "one-huge-buffer", "wasm-memory", "touched-buffers"],
)
async def test_memory_exhaustion_is_bounded_by_the_heap_cap_and_rlimit_data(
    arena: Arena, body: str, outcome: str, words: str
) -> None:
    wf = await arena.load(hostile("hog", body))
    (pid,) = wf.pool.worker_pids()
    peak = 0
    run = asyncio.create_task(arena.run(wf, timeout=20))
    while not run.done():
        try:
            peak = max(peak, psutil.Process(pid).memory_info().rss)
        except psutil.NoSuchProcess:
            pass
        await asyncio.sleep(0.02)
    result = await run
    assert result.outcome in outcome.split("|"), (result.outcome, result.error)
    assert any(w in (result.error or "") for w in words.split("|")), result.error
    assert peak < 1200 << 20, f"child reached {peak >> 20} MiB"  # RLIMIT_DATA is 1 GiB at a 64 MiB heap cap
    await arena.healthy(wf)


async def test_a_cpu_spinning_interval_left_after_run_does_not_stop_the_next_invocation(arena: Arena) -> None:
    body = """
    setInterval(() => { const t = Date.now(); while (Date.now() - t < 40) { /* burn */ } }, 50);
    await ctx.report({ title: "left a spinner" });
    """
    wf = await arena.load(hostile("spinner", body))
    assert (await arena.run(wf)).outcome == "ok"
    for _ in range(3):
        began = time.monotonic()
        again = await arena.run(wf, evil=False)
        assert again.outcome == "ok", again.error
        assert time.monotonic() - began < arena.timeout
    await arena.healthy(wf)


async def test_a_child_left_stuck_in_a_loop_after_run_costs_one_timeout_then_is_replaced(arena: Arena) -> None:
    wf = await arena.load(hostile("booby-trap", 'setTimeout(() => { while (true) {} }, 100); await ctx.report({ title: "armed" });'))
    (pid,) = wf.pool.worker_pids()
    assert (await arena.run(wf)).outcome == "ok"
    await asyncio.sleep(0.3)
    began = time.monotonic()
    stuck = await arena.run(wf, evil=False, timeout=1.5)
    assert stuck.outcome == "timeout", (stuck.outcome, stuck.error)
    assert time.monotonic() - began < 6
    await arena.healthy(wf)  # a fresh child serves the benign run
    assert wf.pool.worker_pids() != [pid]


async def test_promises_and_timers_left_pending_after_run_are_harmless(arena: Arena) -> None:
    body = """
    new Promise(() => {});
    setTimeout(() => {}, 3_600_000);
    ctx.report({ title: "fire and forget" });   // not awaited: may land before or after run returns
    setTimeout(() => { throw new Error("thrown from a timer after run"); }, 10);
    Promise.reject(new Error("rejected after run"));
    """
    wf = await arena.load(hostile("leftovers", body))
    first = await arena.run(wf)
    assert first.outcome == "ok", first.error
    assert all(f.invocation_id == first.id for f in first.findings)
    await asyncio.sleep(0.2)
    await arena.healthy(wf)
    assert wf.pool.stats.restarts == 0
