"""`goprofile`: a Go program's CPU profile and goroutine dump, through its own net/http/pprof.

Nothing attaches to the process. The agent finds the ports the program listens on (its sockets in
`/proc/PID/net/tcp{,6}`, matched to its descriptors), asks each for `GET /debug/pprof/` from
inside the pod's network namespace (`--port` names one instead), then fetches
`/debug/pprof/goroutine?debug=2` and `/debug/pprof/profile?seconds=S`, and reads both itself
(`pprof.py`): top functions, an SVG flamegraph, goroutines counted by state and the ones blocked
longest. A Go program that serves no pprof gets `pprof_unavailable` with the two lines to add.
"""

from __future__ import annotations

import collections
import time

import structlog

from host.agent import netns, webclient
from host.agent.artifacts import ArtifactSink
from host.agent.errors import BadArgument, PprofUnavailable, ProcessExited, ProtocolError, TargetBusy
from host.agent.flamegraph import render_svg, top_functions
from host.agent.models import GoProfileResult, GoroutineInfo, GoroutineStateCount, GoroutineSummary
from host.agent.pprof import Goroutine, decode_profile, parse_goroutines, stacks
from host.agent.procs import Target
from host.agent.tools import exclusive_target

log = structlog.get_logger(__name__)

MAX_DURATION_SECONDS = 300
TOP_FUNCTIONS = 20
MAX_PROBES = 16
PROBE_TIMEOUT_SECONDS = 2.0
DUMP_TIMEOUT_SECONDS = 30.0
MAX_PROFILE_BODY = 64 << 20
MAX_DUMP_BODY = 32 << 20
LONGEST_BLOCKED = 10
NOT_BLOCKED = ("running", "runnable", "syscall")
PREFERRED_PORTS = (6060,)

ENABLE_PPROF = (
    'add `import _ "net/http/pprof"` and `go http.ListenAndServe("localhost:6060", nil)` '
    "to the program's main package"
)


def validate(duration: int, port: int | None) -> None:
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise BadArgument(f"--duration must be 1 to {MAX_DURATION_SECONDS} whole seconds, not {duration}")
    if port is not None and not 1 <= port <= 65535:
        raise BadArgument(f"--port must be 1 to 65535, not {port}")


def _candidates(target: Target, port: int | None) -> list[tuple[str, int]]:
    """(address, port) pairs to probe, in order: the port asked for, else the program's listeners."""
    listeners = netns.listening(target.pid)
    if port is not None:
        bound = [s.local_address for s in listeners if s.local_port == port] or ["127.0.0.1"]
        return [(address, port) for address in netns.connect_addresses(bound[0])]
    ordered = sorted(listeners, key=lambda s: (s.local_port not in PREFERRED_PORTS, s.local_port))
    pairs: list[tuple[str, int]] = []
    for sock in ordered[:MAX_PROBES]:
        pairs += [(address, sock.local_port) for address in netns.connect_addresses(sock.local_address)]
    return pairs


def _url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def _serves_pprof(address: str, port: int) -> bool:
    try:
        answer = webclient.get(_url(address, port, "/debug/pprof/"), timeout=PROBE_TIMEOUT_SECONDS, max_body=256 << 10)
    except webclient.Failure as exc:
        log.debug("pprof probe failed", address=address, port=port, kind=exc.kind, phase=exc.phase)
        return False
    body = answer.body
    return answer.status == 200 and (b"Types of profiles available" in body or (b"goroutine" in body and b"profile" in body))


def _fetch(target: Target, url: str, *, timeout: float, max_body: int, what: str) -> bytes:
    try:
        answer = webclient.get(url, timeout=timeout, max_body=max_body)
    except webclient.Failure as exc:
        target.ensure_alive(f"the {what}")
        raise ProtocolError(
            f"fetching the {what} from {url} failed ({exc.kind} in {exc.phase}): {exc.message}",
            details={"pid": target.pid, "url": url, "kind": exc.kind},
        ) from exc
    if answer.status != 200:
        text = answer.body[:300].decode("utf-8", "replace").strip()
        if "already in use" in text or "already enabled" in text:
            raise TargetBusy(
                f"process {target.pid} is already being CPU-profiled (pprof: {text})",
                details={"pid": target.pid, "url": url},
            )
        raise ProtocolError(
            f"{url} answered {answer.status} {answer.reason}: {text}",
            details={"pid": target.pid, "url": url, "status": answer.status},
        )
    if answer.truncated:
        raise ProtocolError(
            f"the {what} from {url} is over {max_body} bytes", details={"pid": target.pid, "url": url}
        )
    return answer.body


def _summary(goroutines: list[Goroutine]) -> GoroutineSummary:
    counts = collections.Counter(g.state for g in goroutines)
    blocked = [g for g in goroutines if g.state not in NOT_BLOCKED]
    blocked.sort(key=lambda g: (-(g.wait_minutes or 0), g.id))
    return GoroutineSummary(
        total=len(goroutines),
        by_state=[GoroutineStateCount(state=state, count=count) for state, count in counts.most_common()],
        longest_blocked=[
            GoroutineInfo(
                id=g.id,
                state=g.state,
                wait_minutes=g.wait_minutes,
                locked_to_thread=g.locked_to_thread,
                function=g.frames[0].function if g.frames else None,
                file=g.frames[0].file if g.frames else None,
                line=g.frames[0].line if g.frames else None,
                created_by=g.created_by,
            )
            for g in blocked[:LONGEST_BLOCKED]
        ],
    )


def run(target: Target, *, duration: int, port: int | None, sink: ArtifactSink) -> GoProfileResult:
    """Find the pprof endpoint, take the goroutine dump and a `duration`-second CPU profile."""
    validate(duration, port)
    with exclusive_target(target):
        return netns.within(target.pid, lambda: _run(target, duration=duration, port=port, sink=sink))


def _run(target: Target, *, duration: int, port: int | None, sink: ArtifactSink) -> GoProfileResult:
    candidates = _candidates(target, port)
    probed: list[int] = []
    endpoint: tuple[str, int] | None = None
    began = time.monotonic()
    for address, candidate in candidates:
        if candidate not in probed:
            probed.append(candidate)
        if _serves_pprof(address, candidate):
            endpoint = (address, candidate)
            break
        if time.monotonic() - began > MAX_PROBES * PROBE_TIMEOUT_SECONDS:
            break
    if endpoint is None:
        target.ensure_alive("the pprof probe")
        where = (
            f"port {port} does not answer GET /debug/pprof/"
            if port is not None
            else (
                f"none of its listening ports ({', '.join(map(str, probed))}) answers GET /debug/pprof/"
                if probed
                else "it listens on no TCP port"
            )
        )
        raise PprofUnavailable(
            f"not available: this Go program does not serve net/http/pprof ({where}); {ENABLE_PPROF}, "
            "or name its pprof port",
            details={"pid": target.pid, "probedPorts": probed},
        )
    address, found_port = endpoint
    dump = _fetch(
        target, _url(address, found_port, "/debug/pprof/goroutine?debug=2"),
        timeout=DUMP_TIMEOUT_SECONDS, max_body=MAX_DUMP_BODY, what="goroutine dump",
    )
    raw = _fetch(
        target, _url(address, found_port, f"/debug/pprof/profile?seconds={duration}"),
        timeout=duration + 30.0, max_body=MAX_PROFILE_BODY, what="CPU profile",
    )
    if not target.is_alive():
        raise ProcessExited(f"process {target.pid} exited while it was being profiled", details={"pid": target.pid})
    try:
        profile = decode_profile(raw)
    except ValueError as exc:
        raise ProtocolError(f"the CPU profile is not a pprof profile: {exc}", details={"pid": target.pid}) from exc
    count_index = profile.value_index("samples") or 0
    cpu_index = profile.value_index("cpu")
    weighted = stacks(profile, count_index)
    samples = sum(count for _, count in weighted)
    cpu_nanos = sum(v[cpu_index] for _, v in profile.samples if cpu_index is not None and cpu_index < len(v))
    goroutines = parse_goroutines(dump.decode("utf-8", "replace"))
    title = f"Go CPU profile of pid {target.pid}: {samples} samples over {duration} s"
    return GoProfileResult(
        pid=target.pid,
        go_version=target.runtime.version,
        main_package=target.runtime.detail,
        endpoint=_url(address, found_port, "/debug/pprof/"),
        probed_ports=probed,
        duration_seconds=duration,
        samples=samples,
        cpu_seconds=round(cpu_nanos / 1e9, 3),
        top_functions=top_functions(weighted, limit=TOP_FUNCTIONS),
        goroutines=_summary(goroutines),
        artifacts=[
            sink.add("flamegraph.svg", "image/svg+xml", render_svg(weighted, title=title).encode("utf-8")),
            sink.add("cpu.pb.gz", "application/octet-stream", raw),
            sink.add("goroutines.txt", "text/plain", dump),
        ],
    )
