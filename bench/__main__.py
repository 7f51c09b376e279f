"""The benchmark suite: every measurement of issue #13 in one run, one table, `bench/results.json`.

    python -m bench [--quick] [--only NAME ...] [--out bench/results.json] [--update]

Measurements (NAME: module):
  runtime   bench/runtime_latency.py    warm invocation vs the raw Deno round trip (same run); cold start
  reload    bench/reload_latency.py     edit -> answer with 10, 100, 300 workflows (quick: 10, 100)
  idle      bench/idle_memory.py        PSS of host + children idle with 10, 100, 300 custom workflows (quick: 10, 100)
  e2e       bench/e2e_throughput.py     5,000-update backlog: wfhost run (a workflow per event; 0, 10, 50 more
                                        loaded) and kopf, events/s and CPU/event, ratios from the same run
  profiler  bench/profiler_overhead.py  python-profiler wall time beyond the requested duration

`--quick` (under five minutes on a 2-core machine) takes fewer repeats and the two smaller sizes
where a size costs load time; the full run takes every size and three rounds of the e2e comparison.
A measurement that fails is reported (and the exit status is 1); the others still run.
docs/performance.md explains the method and records a run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.report import REPO, Row, machine, table, write_results
from host.logs import configure_logging

MEASUREMENTS = {
    "runtime": "bench.runtime_latency",
    "reload": "bench.reload_latency",
    "idle": "bench.idle_memory",
    "e2e": "bench.e2e_throughput",
    "profiler": "bench.profiler_overhead",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats (under 5 minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), metavar="NAME",
                        help=f"run only these ({', '.join(MEASUREMENTS)})")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--update", action="store_true",
                        help="replace only the rows of the measurements run in --out, keep the others (re-measure one)")
    args = parser.parse_args(argv)
    configure_logging(format="console", level="error")
    names = args.only or list(MEASUREMENTS)
    info = machine()
    print(f"# {info['cpu_count']} CPUs ({info['cpu_model']}), {info['kernel']}, Python {info['python']}, "
          f"{info['deno']}, kopf {info['kopf']}, load average {info['load_average_at_start']}, "
          f"{'quick' if args.quick else 'full'} run of {', '.join(names)}", flush=True)
    rows: list[Row] = []
    errors: dict[str, str] = {}
    began = time.monotonic()
    for name in names:
        started = time.monotonic()
        print(f"# {name} ...", file=sys.stderr, flush=True)
        try:
            found = importlib.import_module(MEASUREMENTS[name]).run(args.quick)
        except Exception as exc:  # noqa: BLE001 - report it, run the rest
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            found = list(getattr(exc, "rows", []))  # what it measured before failing, if it says
        for row in found:
            row.detail.setdefault("measurement_group", name)
        rows += found
        print(f"# {name}: {len(found)} rows in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - began
    print(table(rows))
    for name, error in errors.items():
        print(f"FAILED {name}: {error}")
    write_results(args.out, info=info, rows=rows, errors=errors, argv=argv, quick=args.quick, seconds=seconds,
                  measurements=names, update=args.update, order=list(MEASUREMENTS))
    print(f"# {seconds:.0f} s; wrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
