"""Workers under supervision: timeouts, crashes, protocol faults, restarts with backoff, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

from host.model.events import Event
from host.runtime.invoker import invoke
from tests.conftest import simple_workflow

pytestmark = pytest.mark.timeout(120)


async def gone(pid: int, timeout: float = 10) -> None:
    """Wait until `pid` no longer runs (gone or a zombie awaiting its reaper)."""
    for _ in range(int(timeout / 0.05)):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


async def _ok(loaded: Any, write_workflow: Any, name: str = "good") -> Any:
    return await loaded(write_workflow(f"{name}.ts", simple_workflow(name), directory=None))


async def test_a_simple_workflow_reports_a_finding(loaded: Any, write_workflow: Any) -> None:
    wf = await _ok(loaded, write_workflow)
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "ok", result.error
    assert [f.title for f in result.findings] == ["hi"]
    assert result.findings[0].workflow == "good"


@pytest.mark.parametrize(
    "body",
    [
        "while (true) {}",
        "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);",
        "await new Promise(() => {});",
        "for (;;) { await Promise.resolve(); }",
    ],
    ids=["sync-loop", "atomics-wait", "never-resolves", "microtask-loop"],
)
async def test_an_endless_run_times_out_and_the_next_invocation_works(
    loaded: Any, write_workflow: Any, body: str
) -> None:
    wf = await loaded(write_workflow("spin.ts", simple_workflow("spin", f"if (ctx.params.spin) {{ {body} }} await ctx.report({{ title: 'done' }});",
                                                              params='{ spin: { type: "boolean", default: true } }')))
    pid_before = wf.pool.worker_pids()
    result = await invoke(wf, Event(kind="manual"), timeout=1.0)
    assert result.outcome == "timeout"
    assert "did not finish within 1s" in (result.error or "")
    await gone(pid_before[0])
    again = await invoke(wf, Event(kind="manual"), overrides={"spin": False}, timeout=10)
    assert again.outcome == "ok", again.error
    assert [f.title for f in again.findings] == ["done"]


async def test_a_workflow_that_throws_fails_with_its_message(loaded: Any, write_workflow: Any) -> None:
    wf = await loaded(write_workflow("thrower.ts", simple_workflow("thrower", "throw new TypeError('bad pod: x');")))
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "failed"
    assert result.error_name == "TypeError"
    assert "bad pod: x" in (result.error or "")
    assert wf.pool.stats.restarts == 0  # a thrown error is not a crash: the worker stays


async def test_a_worker_killed_from_outside_is_restarted(loaded: Any, write_workflow: Any) -> None:
    wf = await _ok(loaded, write_workflow)
    (pid,) = wf.pool.worker_pids()
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        pids = wf.pool.worker_pids()
        if pids and pids[0] != pid and wf.pool.stats.restarts >= 1:
            break
        await asyncio.sleep(0.05)
    assert wf.pool.stats.restarts >= 1
    result = await invoke(wf, Event(kind="manual"))
    assert result.outcome == "ok", result.error
    assert wf.pool.worker_pids()[0] != pid


def fd1(expr: str) -> str:
    """Guest code that writes `expr` (a Uint8Array expression) straight to fd 1 (the raw SDK does not guard it)."""
    return f"Deno.stdout.writeSync({expr});"


@pytest.fixture
async def raw_loaded(tmp_path: Path) -> Any:
    """Like `loaded`, but with a bare guest runtime that lets the workflow write anything to stdout."""
    from host.capabilities.policy import Grant
    from host.capabilities.routes import build_router
    from host.sandbox.prepare import SandboxEnv
    from host.workflows.loader import load_workflow
    from tests.conftest import make_config

    cfg = make_config(tmp_path, sandbox={"sdkPath": str(Path(__file__).parent / "raw_sdk"),
                                         "restartBackoff": {"initialSeconds": 0.05, "maxSeconds": 0.4}})
    env = SandboxEnv.from_config(cfg)
    made: list[Any] = []

    async def load(path: Path) -> Any:
        wf = await load_workflow(path, origin="file", env=env, router=build_router(),
                                 grant_for=lambda m: Grant(capabilities=frozenset(m.capabilities)))
        made.append(wf)
        return wf

    yield load
    for wf in made:
        await wf.pool.close(drain=False)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (fd1("new TextEncoder().encode('garbage on stdout\\n')"), "not JSON"),
        (fd1("new TextEncoder().encode('{\"jsonrpc\":\"2.0\",\"id\":1}\\n')"), "not a JSON-RPC"),
        (fd1("new TextEncoder().encode('x'.repeat(3 * 1024 * 1024))"), "exceeds the limit"),
        (fd1("new Uint8Array([0xff, 0xfe, 0x0a])"), "not UTF-8"),
        ("const hog = []; while (true) { hog.push(new Array(1e6).fill(Math.random())); }", "worker died"),
    ],
    ids=["garbage", "bad-shape", "oversized", "non-utf8", "heap-exhausted"],
)
async def test_stdout_pollution_and_exits_kill_the_worker_and_the_next_invocation_works(
    raw_loaded: Any, write_workflow: Any, body: str, words: str
) -> None:
    wf = await raw_loaded(write_workflow("polluter.ts", simple_workflow(
        "polluter", f"if (ctx.params.evil) {{ {body} await new Promise((r) => setTimeout(r, 5000)); }} await ctx.report({{ title: 'clean' }});",
        params='{ evil: { type: "boolean", default: true } }')))
    result = await invoke(wf, Event(kind="manual"), timeout=20)
    assert result.outcome == "crashed", result
    assert words in (result.error or ""), result.error
    again = await invoke(wf, Event(kind="manual"), overrides={"evil": False}, timeout=20)
    assert again.outcome == "ok", again.error
    assert [f.title for f in again.findings] == ["clean"]


async def test_other_workflows_do_not_notice_a_misbehaving_one(loaded: Any, write_workflow: Any) -> None:
    bad = await loaded(write_workflow("bad.ts", simple_workflow("bad", "while (true) {}")))
    good = await _ok(loaded, write_workflow)
    slow = asyncio.create_task(invoke(bad, Event(kind="manual"), timeout=3))
    await asyncio.sleep(0.3)
    results = [await invoke(good, Event(kind="manual")) for _ in range(5)]
    assert all(r.outcome == "ok" for r in results)
    assert (await slow).outcome == "timeout"


async def test_restarts_back_off_exponentially(raw_loaded: Any, write_workflow: Any) -> None:
    # The bare runtime lets Deno.exit through, so each run dies at once.
    wf = await raw_loaded(write_workflow("crasher.ts", simple_workflow("crasher", "Deno.exit(1);")))
    loop = asyncio.get_running_loop()
    began = loop.time()
    for _ in range(6):
        result = await invoke(wf, Event(kind="manual"))
        assert result.outcome == "crashed"
    elapsed = loop.time() - began
    # initialSeconds 0.05 doubling to maxSeconds 0.4, waited before each of the five restarts
    assert wf.pool.stats.backoffs[:5] == [0.05, 0.1, 0.2, 0.4, 0.4]
    assert elapsed >= 0.05 + 0.1 + 0.2 + 0.4 + 0.4
    ok = await raw_loaded(write_workflow("fine.ts", simple_workflow("fine")))
    assert (await invoke(ok, Event(kind="manual"))).outcome == "ok"


async def test_restart_waits_have_jitter_above_each_step_and_stay_under_the_capped_bound(
    raw_loaded: Any, write_workflow: Any
) -> None:
    wf = await raw_loaded(write_workflow("crasher.ts", simple_workflow("crasher", "Deno.exit(1);")))
    for _ in range(6):
        assert (await invoke(wf, Event(kind="manual"))).outcome == "crashed"
    steps, waits = wf.pool.stats.backoffs[:5], wf.pool.stats.backoff_waits[:5]
    assert steps == [0.05, 0.1, 0.2, 0.4, 0.4]  # initialSeconds 0.05, maxSeconds 0.4
    for step, wait in zip(steps, waits, strict=True):
        assert step <= wait <= 1.5 * step
    assert max(waits) <= 1.5 * 0.4
    assert len(set(waits)) == len(waits)  # jittered: no two waits alike, not even the two capped ones


async def test_no_deno_process_survives_closing_the_pools(loaded: Any, write_workflow: Any, env: Any) -> None:
    wf = await _ok(loaded, write_workflow)
    pids = wf.pool.worker_pids()
    assert pids
    await wf.pool.close(drain=False)
    for pid in pids:
        await gone(pid)


def test_a_host_killed_with_sigkill_takes_its_deno_children_along(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    wf = tmp_path / "wf" / "idle.ts"
    wf.parent.mkdir()
    wf.write_text(textwrap.dedent(simple_workflow("idle")))
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from host.logs import configure_logging
        configure_logging(format="json", level="error")
        from host.capabilities.policy import Grant
        from host.capabilities.routes import build_router
        from host.config import parse_config
        from host.sandbox.prepare import SandboxEnv
        from host.workflows.loader import load_workflow
        async def main():
            env = SandboxEnv.from_config(parse_config({{"sandbox": {{"stateDir": "{tmp_path / 'state'}"}}}}))
            wf = await load_workflow(Path("{wf}"), origin="file", env=env, router=build_router(),
                                     grant_for=lambda m: Grant(capabilities=frozenset()))
            print(wf.pool.worker_pids()[0], flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    child_pid = int(proc.stdout.readline())
    assert psutil.pid_exists(child_pid)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    asyncio.run(gone(child_pid))


async def test_a_worker_left_spinning_after_run_is_replaced_before_the_next_invocation(
    loaded: Any, write_workflow: Any
) -> None:
    # `run` returns, but leaves a timer that spins forever: the child would never serve again.
    wf = await loaded(write_workflow("spinner.ts", simple_workflow(
        "spinner", "if (ctx.params.spin) { setTimeout(() => { while (true) {} }, 10); } await ctx.report({ title: 'ran' });",
        params='{ spin: { type: "boolean", default: true } }')))
    (pid,) = wf.pool.worker_pids()
    first = await invoke(wf, Event(kind="manual"))
    assert first.outcome == "ok", first.error
    for _ in range(300):  # the idle check sees it burn CPU for two intervals, then replaces it
        pids = wf.pool.worker_pids()
        if pids and pids[0] != pid:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the spinning worker was not replaced")
    await gone(pid)
    began = asyncio.get_running_loop().time()
    second = await invoke(wf, Event(kind="manual"), overrides={"spin": False}, timeout=10)
    assert second.outcome == "ok", second.error
    assert asyncio.get_running_loop().time() - began < 5  # served by the fresh worker, no timeout first
