"""The suite's rows, the printed table, the machine description and `results.json`."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One number of the suite.

    `ratio` is against a reference measured in the same run (`ratio_of` names it), `target` the
    issue's goal in words, `met` whether this run met it (None: no target)."""

    measurement: str
    size: str
    value: float
    unit: str
    ratio: float | None = None
    ratio_of: str | None = None
    target: str | None = None
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _fmt_value(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table (also valid Markdown)."""
    head = ["measurement", "size", "value", "unit", "ratio", "target"]
    lines = [head]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x {row.ratio_of or ''}".rstrip()
        target = row.target or ""
        if row.met is not None:
            target = f"{target} ({'met' if row.met else 'NOT met'})"
        lines.append([row.measurement, row.size, _fmt_value(row.value), row.unit, ratio, target])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        cells = [cell.rjust(w) if i == 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))]
        out.append("| " + " | ".join(cells) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def _first_line(args: list[str]) -> str | None:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    from host.sandbox.deno import find_deno

    try:
        from importlib.metadata import version

        kopf: str | None = version("kopf")
    except Exception:  # noqa: BLE001 - not installed: the e2e comparison says so itself
        kopf = None
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "deno": _first_line([str(find_deno()), "--version"]),
        "kopf": kopf,
        "commit": commit,
        "worktree_dirty": bool(dirty),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(path: Path, *, info: dict[str, Any], rows: list[Row], errors: dict[str, str],
                  argv: list[str], quick: bool, seconds: float, measurements: list[str], update: bool = False,
                  order: list[str] | None = None) -> None:
    """Write the run's results; with `update`, keep the rows of the measurements not run this time from the
    file already there, and list every run that contributed under `runs`."""
    info = {**info, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    command = " ".join(["python", "-m", "bench", *argv])
    this_run = {"command": command, "measurements": measurements, "quick": quick, "duration_s": round(seconds, 1),
                "date": info["date"], "commit": info["commit"], "load_average_at_start": info["load_average_at_start"],
                "load_average_at_end": info["load_average_at_end"]}
    kept: list[dict[str, Any]] = []
    runs = [this_run]
    if update and path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        kept = [r for r in old.get("results", []) if r.get("detail", {}).get("measurement_group") not in measurements]
        errors = {**{k: v for k, v in old.get("errors", {}).items() if k not in measurements}, **errors}
        earlier = old.get("runs") or [{  # a file written without --update: its one run
            "command": old.get("command"), "quick": old.get("quick"), "duration_s": old.get("duration_s"),
            "measurements": sorted({r.get("detail", {}).get("measurement_group") for r in old.get("results", [])} - {None}),
            **{k: old.get("machine", {}).get(k) for k in ("date", "commit", "load_average_at_start", "load_average_at_end")},
        }]
        runs = [run for run in earlier if set(run.get("measurements") or []) - set(measurements)] + runs
    results = kept + [asdict(row) for row in rows]
    if order:  # the suite's order, whichever run a row came from (sorted() is stable within a measurement)
        rank = {name: i for i, name in enumerate(order)}
        results.sort(key=lambda r: rank.get(r.get("detail", {}).get("measurement_group"), len(rank)))
    doc = {
        "command": command,
        "quick": quick,
        "duration_s": round(seconds, 1),
        "machine": info,
        "runs": runs,
        "results": results,
        "errors": errors,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
