"""Soak: `wfhost run` for minutes under a steady event stream and steady findings; does anything grow?

    python -m bench.soak [--minutes 10] [--interval 5] [--rate 10] [--pods 20] [--out bench/soak.json]

One local cluster (`host.localcluster.LocalCluster`, builtin control plane, no kubelet) in this
process, and `wfhost run --config` as a child process against it, exactly as deployed (its API
on a free port with a token). Two custom workflows, no built-ins:

- `soak-findings` on `pod.update` and `pod.crashLoop`: reads the pod back through `ctx.k8s.getPod` and reports a
  finding with a title of its own per event (so the deduplication keeps none back);
- `soak-alerts` on `alert`: reports a finding per alert.

Every second the driver writes `--rate` label patches spread over `--pods` long-lived pods,
creates one pod with a name never used before, writes its status as a container in
CrashLoopBackOff (a `pod.crashLoop`), and deletes the one created `--pods` seconds ago (so every
per-pod cache sees names come and go), and every fifth second posts an Alertmanager
v4 batch of five alerts to `/api/v1/alerts`. The findings store keeps 1000 findings (retention
by count), so its size levels off within the first minutes; the queue is deep enough that
nothing is dropped at this rate.

Every `--interval` seconds it samples the host process: RSS and open descriptors (psutil, i.e.
/proc/PID/status and /proc/PID/fd), and from the host's own /metrics the asyncio tasks on its
loop, the dispatcher's queue depths (summed), warm workers, findings stored, invocations and
events; and the Deno children (count, summed PSS). It prints one line per sample, then a
verdict over the last two thirds of the samples: the slope of a least-squares line through RSS
and through descriptors (per minute), and last-minus-first of that window. The verdict says
"no growth" when RSS rose by less than `RSS_TOLERANCE_MB` across the window and the
descriptors by at most `FD_TOLERANCE` (a descriptor or two comes and goes with connections in
flight at the moment of a sample). Writes every sample and the verdict to `--out`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.report import REPO, machine
from host.localcluster import LocalCluster, LocalClusterSettings
from host.logs import configure_logging

RSS_TOLERANCE_MB = 5.0
FD_TOLERANCE = 2
TOKEN = "soak-token"

FINDINGS = """import { defineWorkflow, podRefOf } from "@wfhost/sdk";
export default defineWorkflow({
  name: "soak-findings",
  triggers: [{ on: "pod.update" }, { on: "pod.crashLoop" }],
  capabilities: ["k8s.read", "findings.report"],
  async run(ctx, event) {
    const ref = podRefOf(event);
    if (ref === undefined) return;
    const pod = await ctx.k8s.getPod(ref);
    await ctx.report({ title: `${pod.name} changed (${event.id})`, severity: "info",
                       body: `labels: ${JSON.stringify(event.pod?.labels ?? {})}` });
  },
});
"""

ALERTS = """import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "soak-alerts",
  triggers: [{ on: "alert" }],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    await ctx.report({ title: `alert ${event.alert?.labels?.alertname} (${event.id})`, severity: "low" });
  },
});
"""

# A container the kubelet restarted three times and now backs off (the status a real kubelet writes).
CRASHLOOP = {"status": {"phase": "Running", "containerStatuses": [{
    "name": "app", "image": "soak:1", "imageID": "", "ready": False, "restartCount": 3, "started": False,
    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
}]}}


@dataclass
class Sample:
    """One look at the host: `t` seconds after the stream began."""

    t: float
    rss_mb: float
    fds: int
    tasks: int
    queue_depth: int
    workers_warm: int
    findings_stored: int
    invocations: int
    events_seen: int
    deno_children: int
    deno_pss_mb: float


def metric_sum(text: str, name: str) -> float:
    """The sum of every series of one metric in a Prometheus exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


def sample(host: psutil.Process, api: str, began: float) -> Sample:
    with urllib.request.urlopen(f"{api}/metrics", timeout=10) as response:
        text = response.read().decode()
    children = [c for c in host.children(recursive=True) if c.name().startswith("deno")]
    pss = 0
    for child in children:
        try:
            pss += child.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return Sample(
        t=round(time.monotonic() - began, 1),
        rss_mb=round(host.memory_info().rss / (1 << 20), 1),
        fds=host.num_fds(),
        tasks=int(metric_sum(text, "wfhost_asyncio_tasks")),
        queue_depth=int(metric_sum(text, "wfhost_queue_depth")),
        workers_warm=int(metric_sum(text, "wfhost_workers_warm")),
        findings_stored=int(metric_sum(text, "wfhost_findings_stored")),
        invocations=int(metric_sum(text, "wfhost_invocations_total")),
        events_seen=int(metric_sum(text, "wfhost_events_seen_total")),
        deno_children=len(children),
        deno_pss_mb=round(pss / (1 << 20), 1),
    )


def slope_per_minute(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of ys over xs (seconds), per minute."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 60


def verdict(samples: list[Sample]) -> dict[str, Any]:
    """Growth of RSS and descriptors over the last two thirds of the samples."""
    window = samples[len(samples) // 3:]
    ts = [s.t for s in window]
    rss = [s.rss_mb for s in window]
    fds = [float(s.fds) for s in window]
    # The ends of the window as the median of three samples, so one sample taken in the middle of
    # a burst (a connection open, a buffer not yet freed) does not decide the verdict.
    head, tail = window[:3], window[-3:]
    rss_change = statistics.median(s.rss_mb for s in tail) - statistics.median(s.rss_mb for s in head)
    fd_change = statistics.median(s.fds for s in tail) - statistics.median(s.fds for s in head)
    grew = rss_change >= RSS_TOLERANCE_MB or fd_change > FD_TOLERANCE
    return {
        "window_seconds": [window[0].t, window[-1].t] if window else [],
        "samples_in_window": len(window),
        "rss_slope_mb_per_min": round(slope_per_minute(ts, rss), 3),
        "fd_slope_per_min": round(slope_per_minute(ts, fds), 3),
        "rss_change_mb": round(rss_change, 1),
        "fd_change": fd_change,
        "rss_range_mb": [min(rss), max(rss)] if rss else [],
        "fd_range": [min(fds), max(fds)] if fds else [],
        # Beside the verdict, not in it: the Deno children's PSS swings with each V8 collection.
        "deno_pss_slope_mb_per_min": round(slope_per_minute(ts, [s.deno_pss_mb for s in window]), 3),
        "deno_pss_range_mb": [min(s.deno_pss_mb for s in window), max(s.deno_pss_mb for s in window)] if window else [],
        "tasks_range": [min(s.tasks for s in window), max(s.tasks for s in window)] if window else [],
        "queue_depth_max": max((s.queue_depth for s in window), default=0),
        "tolerance": {"rss_mb": RSS_TOLERANCE_MB, "fds": FD_TOLERANCE},
        "growth": grew,
        "summary": ("GROWTH" if grew else "no growth")
        + f": RSS {rss_change:+.1f} MB, descriptors {fd_change:+g} over the last two thirds",
    }


class Driver:
    """The steady stream: label patches, a pod created and one deleted, Alertmanager batches."""

    def __init__(self, cluster: LocalCluster, api: str, *, rate: int, pods: int) -> None:
        self.cluster, self.api, self.rate, self.pods = cluster, api, rate, pods
        self.stop = threading.Event()
        self.written = {"patches": 0, "created": 0, "crashloops": 0, "deleted": 0, "alerts": 0}
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="soak-driver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self.stop.set()
        self._thread.join(30)

    def _alerts(self, second: int) -> None:
        body = {
            "version": "4", "groupKey": f'{{}}:{{alertname="Soak{second}"}}', "status": "firing",
            "receiver": "wfhost", "groupLabels": {"alertname": f"Soak{second}"}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://alertmanager.example", "truncatedAlerts": 0,
            "alerts": [{
                "status": "firing", "labels": {"alertname": f"Soak{second}", "namespace": "default",
                                               "pod": f"soak-{i}"},
                "annotations": {"summary": "soak"}, "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus.example/graph",
                "fingerprint": f"{second:08x}{i:08x}",
            } for i in range(5)],
        }
        request = urllib.request.Request(f"{self.api}/api/v1/alerts", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        self.written["alerts"] += 5

    def _run(self) -> None:
        core = self.cluster.core_v1()
        second = 0
        start = time.monotonic()
        while not self.stop.is_set():
            try:
                for i in range(self.rate):
                    core.patch_namespaced_pod(f"soak-{(second * self.rate + i) % self.pods}", "default",
                                              {"metadata": {"labels": {"seq": str(second * self.rate + i)}}})
                    self.written["patches"] += 1
                core.create_namespaced_pod("default", {"metadata": {"name": f"churn-{second}"},
                                                       "spec": {"containers": [{"name": "app", "image": "soak:1"}]}})
                self.written["created"] += 1
                core.patch_namespaced_pod_status(f"churn-{second}", "default", CRASHLOOP)
                self.written["crashloops"] += 1
                if second >= self.pods:
                    core.delete_namespaced_pod(f"churn-{second - self.pods}", "default", grace_period_seconds=0)
                    self.written["deleted"] += 1
                if second % 5 == 0:
                    self._alerts(second)
            except Exception as exc:  # noqa: BLE001 - counted and shown: the soak goes on
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            second += 1
            self.stop.wait(max(0.0, start + second - time.monotonic()))


def start_host(cluster: LocalCluster, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    workflows = root / "workflows"
    workflows.mkdir()
    (workflows / "soak-findings.ts").write_text(FINDINGS)
    (workflows / "soak-alerts.ts").write_text(ALERTS)
    no_builtins = root / "no-builtins"
    no_builtins.mkdir()
    config = {
        "workflows": {"builtinDirectory": str(no_builtins)},
        "customWorkflows": {"typescript": {"enabled": True, "volume": {"mountPath": str(workflows)}}},
        "sandbox": {"stateDir": str(root / "state"), "queueSize": 1000},
        "findings": {"store": {"maxFindings": 1000}},
        "sinks": {"log": {"enabled": False}},
        "api": {"host": "127.0.0.1", "port": 0, "token": TOKEN},
        "cluster": {"kubeconfig": str(cluster.kubeconfig_path)},
        "triggers": {"perSubjectIntervalSeconds": 0},
        "logging": {"format": "json", "level": "info"},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (root / "host.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "host.cli.main", "run", "--config", str(path)], cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the host exited ({proc.returncode}): {tail(root / 'host.log')}")
        for line in (root / "host.log").read_text(errors="replace").splitlines():
            if '"api.listening"' in line:
                url = json.loads(line)["url"]
                try:
                    with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                        if response.status == 200:
                            return proc, url
                except OSError:
                    pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the host did not get ready: {tail(root / 'host.log')}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def stop_host(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


HEADER = ("t_s", "rss_mb", "fds", "tasks", "queue", "warm", "stored", "invocations", "events", "deno", "deno_pss_mb")


def row(s: Sample) -> str:
    values = (s.t, s.rss_mb, s.fds, s.tasks, s.queue_depth, s.workers_warm, s.findings_stored, s.invocations,
              s.events_seen, s.deno_children, s.deno_pss_mb)
    return " ".join(f"{v:>11}" for v in values)


def soak(*, minutes: float, interval: float, rate: int, pods: int, keep: Path | None = None) -> dict[str, Any]:
    settings = LocalClusterSettings.for_tests()
    info = machine()
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="wfhost-soak-") as tmp, LocalCluster(settings, kubelet=False) as cluster:
        root = Path(tmp)
        core = cluster.core_v1()
        for i in range(pods):
            core.create_namespaced_pod("default", {"metadata": {"name": f"soak-{i}"},
                                                   "spec": {"containers": [{"name": "app", "image": "soak:1"}]}})
        proc, api = start_host(cluster, root)
        driver = Driver(cluster, api, rate=rate, pods=pods)
        try:
            host = psutil.Process(proc.pid)
            print(" ".join(f"{h:>11}" for h in HEADER), flush=True)
            began = time.monotonic()
            driver.start()
            end = began + minutes * 60
            while time.monotonic() < end:
                time.sleep(max(0.0, min(interval, end - time.monotonic())))
                if proc.poll() is not None:
                    raise RuntimeError(f"the host exited ({proc.returncode}): {tail(root / 'host.log')}")
                samples.append(sample(host, api, began))
                print(row(samples[-1]), flush=True)
            driver.join()
        finally:
            driver.stop.set()
            stop_host(proc)
            if keep is not None:
                shutil.copy(root / "host.log", keep)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = verdict(samples)
    return {
        "command": "python -m bench.soak " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {"minutes": minutes, "interval_s": interval, "patches_per_s": rate, "pods": pods,
                     "rss_tolerance_mb": RSS_TOLERANCE_MB, "fd_tolerance": FD_TOLERANCE},
        "written": driver.written,
        "driver_errors": driver.errors[:20],
        "driver_error_count": len(driver.errors),
        "samples": [asdict(s) for s in samples],
        "verdict": result,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval", type=float, default=5, help="seconds between samples")
    parser.add_argument("--rate", type=int, default=10, help="label patches per second")
    parser.add_argument("--pods", type=int, default=20, help="long-lived pods; also how long a churn pod lives (s)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "soak.json")
    parser.add_argument("--host-log", type=Path, default=None, help="keep the host's log here")
    args = parser.parse_args(argv)
    configure_logging(format="console", level="error")
    doc = soak(minutes=args.minutes, interval=args.interval, rate=args.rate, pods=args.pods, keep=args.host_log)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    v = doc["verdict"]
    print(f"# written: {doc['written']}, driver errors: {doc['driver_error_count']}")
    print(f"# last two thirds ({v['window_seconds'][0]:.0f}-{v['window_seconds'][1]:.0f} s): "
          f"RSS slope {v['rss_slope_mb_per_min']:+.3f} MB/min, descriptors slope {v['fd_slope_per_min']:+.3f}/min")
    print(f"# {v['summary']} (tolerance: RSS < {RSS_TOLERANCE_MB} MB, descriptors <= {FD_TOLERANCE}); wrote {args.out}")
    return 1 if v["growth"] else 0


if __name__ == "__main__":
    sys.exit(main())
