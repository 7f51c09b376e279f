"""Runtime latency: the JSON-RPC floor, warm invocation p50/p99, their ratio, and worker cold start.

    .venv/bin/python bench/runtime_latency.py [--rounds 2000] [--cold 15]

Prints one line per number. Targets on a 2-core machine: warm p50 within 2x the floor, cold
start under 100 ms (docs/performance.md records the results).
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
            await wf.pool.close(drain=False)
            from host.sandbox.supervisor import WorkerPool

            wf.pool = WorkerPool(wf.pool.prepared, env, router, size=1, label="trivial")
            t0 = time.perf_counter()
            await wf.pool.start_first()
            cold.append(time.perf_counter() - t0)
    finally:
        await wf.pool.close(drain=False)
    return warm, cold


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=15)
    args = parser.parse_args()
    configure_logging(format="console", level="error")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fl = await floor(args.rounds, work)
        warm, cold = await warm_and_cold(args.rounds, args.cold, work)
    f50, w50 = statistics.median(fl), statistics.median(warm)
    print(f"floor: raw JSON-RPC round trip to a bare Deno echo child  p50={f50 * 1e3:.3f} ms  p99={pct(fl, 0.99) * 1e3:.3f} ms")
    print(f"warm invocation of a trivial workflow via the host        p50={w50 * 1e3:.3f} ms  p99={pct(warm, 0.99) * 1e3:.3f} ms")
    print(f"ratio warm p50 / floor p50                                 {w50 / f50:.2f}x  (target <= 2x)")
    print(f"worker cold start (spawn + initialize), {len(cold)} runs         p50={statistics.median(cold) * 1e3:.1f} ms  max={max(cold) * 1e3:.1f} ms  (target < 100 ms)")


if __name__ == "__main__":
    asyncio.run(main())
