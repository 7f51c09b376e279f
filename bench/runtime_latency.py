"""Runtime latency: the JSON-RPC floor, warm invocation p50/p99, their ratio, and worker cold start.

    .venv/bin/python bench/runtime_latency.py [--rounds 2000] [--cold 15]

Prints one line per number. Targets on a 2-core machine (issue #13): warm p50 within 1.5x the floor, cold
start under 100 ms (docs/performance.md records the results). `python -m bench --only runtime`
runs it as part of the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from host.capabilities.policy import Grant
from host.capabilities.routes import build_router
from host.config import parse_config
from host.logs import configure_logging
from host.model.events import Event
from host.runtime.invoker import invoke
from host.sandbox.deno import find_deno
from host.sandbox.prepare import SandboxEnv
from host.workflows.loader import load_workflow

ECHO = """
const enc = new TextEncoder();
const dec = new TextDecoder();
let buf = "";
for await (const chunk of Deno.stdin.readable) {
  buf += dec.decode(chunk, { stream: true });
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    Deno.stdout.writeSync(enc.encode(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { ok: true } }) + "\\n"));
  }
}
"""

SDK_OVERRIDE = ""

TRIVIAL = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "trivial",
  triggers: [{ on: "manual" }],
  capabilities: [],
  run() {},
});
"""


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def floor(rounds: int, work: Path) -> list[float]:
    echo = work / "echo.ts"
    echo.write_text(ECHO)
    proc = await asyncio.create_subprocess_exec(
        str(find_deno()), "run", "--no-config", "--no-remote", "--no-npm", "--quiet", str(echo),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    samples = []
    event = Event(kind="manual").wire()
    for i in range(rounds):
        # The same payload shape as a `run` request, so only the host's own work differs.
        line = json.dumps({"jsonrpc": "2.0", "id": i, "method": "run",
                           "params": {"invocationId": f"inv-{i}", "event": event, "params": {}}},
                          separators=(",", ":"), default=str).encode() + b"\n"
        t0 = time.perf_counter()
        proc.stdin.write(line)
        await proc.stdin.drain()
        reply = json.loads(await proc.stdout.readline())
        samples.append(time.perf_counter() - t0)
        assert reply["id"] == i
    proc.stdin.close()
    await proc.wait()
    return samples[rounds // 10:]


async def warm_and_cold(rounds: int, cold_runs: int, work: Path) -> tuple[list[float], list[float]]:
    sandbox: dict[str, object] = {"stateDir": str(work / "state")}
    if SDK_OVERRIDE:
        sandbox["sdkPath"] = SDK_OVERRIDE
    config = parse_config({"sandbox": sandbox})
    env = SandboxEnv.from_config(config)
    router = build_router()
    wf_path = work / "wf" / "trivial.ts"
    wf_path.parent.mkdir()
    wf_path.write_text(textwrap.dedent(TRIVIAL))
    grant = lambda m: Grant(capabilities=frozenset())  # noqa: E731
    wf = await load_workflow(wf_path, origin="file", env=env, router=router, grant_for=grant)
    try:
        warm = []
        for _ in range(rounds):
            event = Event(kind="manual")  # made by a source before the host's part starts
            t0 = time.perf_counter()
            result = await invoke(wf, event)
            warm.append(time.perf_counter() - t0)
            assert result.outcome == "ok", result.error
        warm = warm[rounds // 10:]
        cold = []
        for _ in range(cold_runs):
            # Stopped as an idle worker is (the version and its emitted code stay), then started again.
            slot = wf.pool._slots[0]
            assert slot.stop_if_idle()
            await asyncio.gather(*wf.pool._background)
            t0 = time.perf_counter()
            await wf.pool.start_first()
            cold.append(time.perf_counter() - t0)
    finally:
        await wf.pool.close(drain=False)
    return warm, cold


async def measure(rounds: int = 2000, cold_runs: int = 15) -> dict[str, float]:
    """The floor and warm round trips (p50/p99, µs), their ratio, and cold start (p50/max, ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fl = await floor(rounds, work)
        warm, cold = await warm_and_cold(rounds, cold_runs, work)
    f50, w50 = statistics.median(fl), statistics.median(warm)
    return {
        "floor_p50_us": f50 * 1e6, "floor_p99_us": pct(fl, 0.99) * 1e6,
        "warm_p50_us": w50 * 1e6, "warm_p99_us": pct(warm, 0.99) * 1e6,
        "ratio": w50 / f50,
        "cold_p50_ms": statistics.median(cold) * 1e3, "cold_max_ms": max(cold) * 1e3,
        "rounds": rounds, "cold_runs": len(cold),
    }


def run(quick: bool) -> list[Any]:
    """The suite's rows: warm vs floor (same run, median of the repeats) and cold start."""
    from bench.report import Row

    rounds, cold_runs, repeats = (1000, 10, 1) if quick else (3000, 15, 3)
    runs = [asyncio.run(measure(rounds, cold_runs)) for _ in range(repeats)]
    by_ratio = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]  # the median run, kept whole
    cold = sorted(runs, key=lambda r: r["cold_p50_ms"])[len(runs) // 2]
    detail = {"repeats": repeats, "rounds": rounds, "ratios": [round(r["ratio"], 3) for r in runs]}
    return [
        Row("floor: raw JSON-RPC round trip to a Deno echo child, p50", "", round(by_ratio["floor_p50_us"], 1), "µs",
            detail={**detail, "p99_us": round(by_ratio["floor_p99_us"], 1)}),
        Row("warm invocation of a trivial workflow, p50", "", round(by_ratio["warm_p50_us"], 1), "µs",
            ratio=round(by_ratio["ratio"], 3), ratio_of="floor", target="≤ 1.5x floor",
            met=by_ratio["ratio"] <= 1.5, detail={**detail, "p99_us": round(by_ratio["warm_p99_us"], 1)}),
        Row("worker cold start (spawn + initialize), p50", "", round(cold["cold_p50_ms"], 1), "ms",
            target="< 100 ms", met=cold["cold_p50_ms"] < 100,
            detail={"runs": cold["cold_runs"], "max_ms": round(cold["cold_max_ms"], 1)}),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=15)
    args = parser.parse_args()
    configure_logging(format="console", level="error")
    r = await measure(args.rounds, args.cold)
    print(f"floor: raw JSON-RPC round trip to a bare Deno echo child  p50={r['floor_p50_us'] / 1e3:.3f} ms  p99={r['floor_p99_us'] / 1e3:.3f} ms")
    print(f"warm invocation of a trivial workflow via the host        p50={r['warm_p50_us'] / 1e3:.3f} ms  p99={r['warm_p99_us'] / 1e3:.3f} ms")
    print(f"ratio warm p50 / floor p50                                 {r['ratio']:.2f}x  (target <= 1.5x)")
    print(f"worker cold start (spawn + initialize), {r['cold_runs']} runs         p50={r['cold_p50_ms']:.1f} ms  max={r['cold_max_ms']:.1f} ms  (target < 100 ms)")


if __name__ == "__main__":
    asyncio.run(main())
