"""`javaprofile`: a short JFR recording of a JVM, through its attach mechanism: hot methods
(top functions and a flamegraph) and the classes it allocates most.

`JFR.start` (settings `profile`: an execution sample every 10 ms per running thread, allocation
samples throttled to 300 a second) writes to a file in the JVM's own /tmp; `JFR.stop` after
`duration` seconds has the JVM write it, and the agent reads it through `/proc/PID/root`, moves
it out of the target's /tmp and summarizes it with the JDK's `jfr` tool (`jfr.py`). The
recording is started with a duration `ORPHAN_GRACE_SECONDS` longer than asked, so it ends on
its own if the agent is killed before it stops it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from pathlib import Path

import structlog

from host.agent import jfr, jvm_attach
from host.agent.artifacts import ArtifactSink
from host.agent.errors import AgentError, BadArgument, ProcessExited, ProtocolError
from host.agent.flamegraph import render_svg, top_functions
from host.agent.models import JavaProfileResult
from host.agent.procs import Target
from host.agent.tools import exclusive_target

log = structlog.get_logger(__name__)

MAX_DURATION_SECONDS = 300
SETTINGS = "profile"
ORPHAN_GRACE_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 60.0
MAX_RECORDING_BYTES = 256 << 20
MAX_RECORDING_ARTIFACT = 24 << 20
TOP_FUNCTIONS = 20
TOP_ALLOCATIONS = 15


def validate(duration: int) -> None:
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise BadArgument(f"--duration must be 1 to {MAX_DURATION_SECONDS} whole seconds, not {duration}")


def _wait(target: Target, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        target.ensure_alive("the JFR recording")
        time.sleep(min(left, 0.5))


def _take(target: Target, name: str, inside: str) -> bytes:
    """The finished recording's bytes, removed from the target's /tmp."""
    path = target.root / inside.lstrip("/")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RECORDING_BYTES + 1)
    except FileNotFoundError as exc:
        raise ProtocolError(
            f"the JVM of pid {target.pid} stopped recording {name} but wrote no {inside}",
            details={"pid": target.pid, "file": inside},
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if len(data) > MAX_RECORDING_BYTES:
        raise ProtocolError(
            f"the JFR recording is over {MAX_RECORDING_BYTES} bytes: record for less time",
            details={"pid": target.pid},
        )
    return data


def _record(target: Target, duration: int) -> bytes:
    name = f"wfhost-{secrets.token_hex(4)}"
    inside = f"/tmp/{name}.jfr"
    jvm_attach.jcmd(
        target,
        f"JFR.start name={name} settings={SETTINGS} duration={duration + ORPHAN_GRACE_SECONDS}s filename={inside}",
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    stopped = False
    try:
        _wait(target, duration)
        jvm_attach.jcmd(target, f"JFR.stop name={name}", timeout=COMMAND_TIMEOUT_SECONDS)
        stopped = True
    finally:
        if not stopped and target.is_alive():
            try:
                jvm_attach.jcmd(target, f"JFR.stop name={name}", timeout=COMMAND_TIMEOUT_SECONDS)
            except AgentError as exc:
                log.warning("could not stop the JFR recording", pid=target.pid, name=name, error=exc.message)
            with contextlib.suppress(FileNotFoundError):
                (target.root / inside.lstrip("/")).unlink()
    return _take(target, name, inside)


def run(target: Target, *, duration: int, sink: ArtifactSink) -> JavaProfileResult:
    """Record `duration` seconds of JFR and summarize hot methods and allocations."""
    validate(duration)
    tool = jfr.find_jfr()
    with exclusive_target(target):
        recording = _record(target, duration)
    if not target.is_alive():
        raise ProcessExited(f"process {target.pid} exited while it was being recorded", details={"pid": target.pid})
    with tempfile.TemporaryDirectory(prefix="wfhost-jfr-") as work:
        local = Path(work) / "recording.jfr"
        local.write_bytes(recording)
        os.chmod(local, 0o600)
        events = jfr.parse_events(jfr.print_events(tool, local, work_dir=Path(work), timeout=60.0 + duration))
    weighted = jfr.execution_stacks(events)
    samples = sum(count for _, count in weighted)
    allocation_samples, allocations = jfr.top_allocations(events, limit=TOP_ALLOCATIONS)
    title = f"Java CPU profile (JFR) of pid {target.pid}: {samples} samples over {duration} s"
    artifacts = [sink.add("flamegraph.svg", "image/svg+xml", render_svg(weighted, title=title).encode("utf-8"))]
    if len(recording) <= MAX_RECORDING_ARTIFACT:
        artifacts.append(sink.add("recording.jfr", "application/octet-stream", recording))
    return JavaProfileResult(
        pid=target.pid,
        java_version=target.runtime.version,
        duration_seconds=duration,
        settings=SETTINGS,
        samples=samples,
        top_functions=top_functions(weighted, limit=TOP_FUNCTIONS),
        allocation_samples=allocation_samples,
        top_allocations=allocations,
        recording_bytes=len(recording),
        artifacts=artifacts,
    )
