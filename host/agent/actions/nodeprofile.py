"""`nodeprofile`: a Node.js CPU profile through the process's own inspector, closed afterwards.

Node.js opens its inspector when it receives SIGUSR1, listening on 127.0.0.1:9229 (loopback
only; the next port is not tried if that one is taken). The agent sends the signal, waits for a
new listening socket of the process (`/proc/PID/net/tcp` matched to its descriptors), checks it
answers `/json/version` as Node's inspector, and speaks the DevTools protocol over a WebSocket
(`websocket.py`): `Profiler.enable`, `setSamplingInterval`, `start`, wait, `stop`. Then it asks
the process to close the inspector again (`inspector.close()`, else `process._debugEnd()`, run
from a timer half a second after the agent has disconnected: closing it under a connected
session can crash Node.js) and checks the port is gone. An inspector that was
already open (a port 9229-9239 of the process answering as Node's, or `--port`) is used and left
open. The profile (nodes, samples) becomes the same top-functions table and SVG as py-spy's.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import structlog

from host.agent import netns, webclient
from host.agent.artifacts import ArtifactSink
from host.agent.errors import BadArgument, InspectorUnavailable, ProcessExited, ProtocolError, TargetBusy
from host.agent.flamegraph import Frame, render_svg, top_functions
from host.agent.models import NodeProfileResult
from host.agent.procs import Target
from host.agent.tools import exclusive_target
from host.agent.websocket import WebSocket, WebSocketError

log = structlog.get_logger(__name__)

MAX_DURATION_SECONDS = 300
TOP_FUNCTIONS = 20
DEFAULT_PORT = 9229
KNOWN_PORTS = range(9229, 9240)
OPEN_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 5.0
CALL_TIMEOUT_SECONDS = 30.0
MAX_PROFILE_BYTES = 128 << 20

CLOSE_DELAY_MS = 500
# Closing the inspector while a session is still connected or disconnecting crashes Node.js 20
# (SIGSEGV in 2 of 20 tries here): the close runs from a timer, well after the agent's session
# has gone (the agent waits for the inspector's close frame first). 0 crashes in 60 tries.
CLOSE_EXPRESSION = (
    "(() => { const m = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('inspector')"
    " : (process.mainModule && process.mainModule.require ? process.mainModule.require('inspector') : null);"
    f" setTimeout(() => {{ if (m) m.close(); else process._debugEnd(); }}, {CLOSE_DELAY_MS}).unref();"
    " return m ? 'inspector.close' : 'process._debugEnd'; })()"
)


def validate(duration: int, port: int | None, interval: int) -> None:
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise BadArgument(f"--duration must be 1 to {MAX_DURATION_SECONDS} whole seconds, not {duration}")
    if port is not None and not 1 <= port <= 65535:
        raise BadArgument(f"--port must be 1 to 65535, not {port}")
    if not 100 <= interval <= 100_000:
        raise BadArgument(f"--interval must be 100 to 100000 microseconds, not {interval}")


def _inspector_version(port: int) -> str | None:
    """Node's version when 127.0.0.1:port is a Node inspector, else None."""
    try:
        answer = webclient.get(f"http://127.0.0.1:{port}/json/version", timeout=3.0, max_body=64 << 10)
    except webclient.Failure:
        return None
    if answer.status != 200:
        return None
    try:
        browser = json.loads(answer.body).get("Browser", "")
    except (ValueError, AttributeError):
        return None
    if not isinstance(browser, str) or not browser.startswith("node.js/"):
        return None
    return browser.removeprefix("node.js/").removeprefix("v")


def _loopback_ports(target: Target) -> set[int]:
    return {s.local_port for s in netns.listening(target.pid)}


def _open(target: Target, port: int | None) -> tuple[int, str | None, bool]:
    """(port, node version, already open) of the process's inspector, opening it if need be."""
    before = _loopback_ports(target)
    for candidate in ([port] if port is not None else sorted(before & set(KNOWN_PORTS))):
        if candidate in before and (version := _inspector_version(candidate)) is not None:
            return candidate, version, True
    if port is not None and port in before:
        raise InspectorUnavailable(
            f"port {port} of process {target.pid} is not a Node.js inspector", details={"pid": target.pid, "port": port}
        )
    try:
        os.kill(target.pid, signal.SIGUSR1)
    except ProcessLookupError as exc:
        raise ProcessExited(f"process {target.pid} exited", details={"pid": target.pid}) from exc
    deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
    appeared: set[int] = set()
    while time.monotonic() < deadline:
        target.ensure_alive("opening the inspector")
        for candidate in sorted(_loopback_ports(target) - before):
            appeared.add(candidate)
            if (version := _inspector_version(candidate)) is not None:
                return candidate, version, False
        time.sleep(0.05)
    taken = DEFAULT_PORT in {s.local_port for s in netns.tcp_sockets(target.pid) if s.state == "LISTEN"}
    if appeared:
        why = f": it listens on {', '.join(map(str, sorted(appeared)))} now, which never answered as an inspector"
    elif taken:
        why = f": port {DEFAULT_PORT} is already taken in the pod, and Node.js tries no other"
    else:
        why = " (started with --disable-sigusr1, a SIGUSR1 handler of its own, or an inspector-less build)"
    raise InspectorUnavailable(
        f"process {target.pid} opened no inspector within {OPEN_TIMEOUT_SECONDS:g} s of SIGUSR1{why}",
        details={"pid": target.pid, "portTaken": taken, "newPorts": sorted(appeared)},
    )


class _Session:
    def __init__(self, socket: WebSocket) -> None:
        self.ws = socket
        self.next_id = 0

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float = CALL_TIMEOUT_SECONDS) -> Any:
        self.next_id += 1
        call_id = self.next_id
        self.ws.send_text(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv_text(deadline=deadline))
            if not isinstance(message, dict) or message.get("id") != call_id:
                continue  # an event
            if "error" in message:
                error = message["error"]
                text = error.get("message") if isinstance(error, dict) else str(error)
                raise ProtocolError(f"the inspector refused {method}: {text}", details={"method": method})
            return message.get("result")


def _websocket_path(port: int) -> str:
    try:
        answer = webclient.get(f"http://127.0.0.1:{port}/json/list", timeout=5.0, max_body=1 << 20)
        targets = json.loads(answer.body)
    except (webclient.Failure, ValueError) as exc:
        raise InspectorUnavailable(f"the inspector on port {port} lists no target: {exc}") from exc
    for entry in targets if isinstance(targets, list) else []:
        url = entry.get("webSocketDebuggerUrl") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.startswith("ws://"):
            return "/" + url.removeprefix("ws://").split("/", 1)[1]
    raise InspectorUnavailable(f"the inspector on port {port} lists no debuggable target")


def cdp_stacks(profile: dict[str, Any]) -> list[tuple[list[Frame], int]]:
    """A DevTools CPU profile (nodes with children, sample node ids) as stacks, outermost first."""
    nodes = {n["id"]: n for n in profile.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), int)}
    parent: dict[int, int] = {}
    for node in nodes.values():
        for child in node.get("children") or []:
            if isinstance(child, int):
                parent[child] = node["id"]
    counts: dict[int, int] = {}
    for sample in profile.get("samples") or []:
        if isinstance(sample, int):
            counts[sample] = counts.get(sample, 0) + 1
    if not counts:  # older profiles carry hit counts only
        counts = {i: int(n.get("hitCount") or 0) for i, n in nodes.items() if n.get("hitCount")}
    out: list[tuple[list[Frame], int]] = []
    for node_id, count in counts.items():
        frames: list[Frame] = []
        current: int | None = node_id
        while current is not None and current in nodes and len(frames) < 512:
            frame = nodes[current].get("callFrame") or {}
            name = str(frame.get("functionName") or "(anonymous)")
            if name != "(root)":
                url = str(frame.get("url") or "").removeprefix("file://") or None
                line = frame.get("lineNumber")
                frames.append(Frame(function=name, file=url, line=line + 1 if isinstance(line, int) and line >= 0 and url else None))
            current = parent.get(current)
        frames.reverse()
        if frames:
            out.append((frames, count))
    return out


def run(
    target: Target, *, duration: int, port: int | None, interval: int, sink: ArtifactSink, reset_jit: bool = True
) -> NodeProfileResult:
    validate(duration, port, interval)
    with exclusive_target(target):
        return netns.within(target.pid, lambda: _run(target, duration, port, interval, sink, reset_jit))


def _close(target: Target, session: _Session | None, inspector_port: int) -> bool:
    """Ask the process to close the inspector; True once its port is gone."""
    if session is not None:
        try:
            session.call("Runtime.evaluate", {"expression": CLOSE_EXPRESSION}, timeout=5.0)
        except (WebSocketError, ProtocolError, OSError, ValueError) as exc:
            log.warning("closing the inspector failed", pid=target.pid, error=str(exc))
        session.ws.close(wait=1.0)
    deadline = time.monotonic() + CLOSE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not target.is_alive() or inspector_port not in _loopback_ports(target):
            return True
        time.sleep(0.05)
    return False


def _run(
    target: Target, duration: int, port: int | None, interval: int, sink: ArtifactSink, reset_jit: bool
) -> NodeProfileResult:
    inspector_port, version, was_open = _open(target, port)
    session: _Session | None = None
    closed = False
    try:
        try:
            session = _Session(WebSocket.connect("127.0.0.1", inspector_port, _websocket_path(inspector_port), timeout=5.0))
        except (OSError, WebSocketError) as exc:
            raise InspectorUnavailable(
                f"cannot connect to the inspector of process {target.pid} on port {inspector_port}: {exc}"
                + (" (another debugger may be attached)" if was_open else ""),
                details={"pid": target.pid, "port": inspector_port},
            ) from exc
        try:
            session.call("Profiler.enable")
            session.call("Profiler.setSamplingInterval", {"interval": interval})
            if reset_jit:
                # V8 samples optimized code as the function it was compiled for: whatever it
                # inlined is blamed on the outermost function (a whole setImmediate loop showed
                # up as processImmediate). Precise coverage (binary, the cheapest) deoptimizes
                # every function when it starts, and while it stays on the samples name the
                # functions that ran (measured: burnCpu 98 % instead of processImmediate 91-99 %).
                session.call("Profiler.startPreciseCoverage", {"callCount": False, "detailed": False})
            session.call("Profiler.start")
            time.sleep(duration)
            result = session.call("Profiler.stop", timeout=CALL_TIMEOUT_SECONDS + duration)
            if reset_jit:
                session.call("Profiler.stopPreciseCoverage")
            session.call("Profiler.disable")
        except WebSocketError as exc:
            target.ensure_alive("the profile")
            raise ProtocolError(f"the inspector connection broke: {exc}", details={"pid": target.pid}) from exc
        except ProtocolError as exc:
            if "already" in exc.message.lower():
                raise TargetBusy(f"process {target.pid} is already being profiled: {exc.message}") from exc
            raise
        profile = result.get("profile") if isinstance(result, dict) else None
        if not isinstance(profile, dict):
            raise ProtocolError("Profiler.stop returned no profile", details={"pid": target.pid})
    finally:
        if was_open:
            if session is not None:
                session.ws.close()
        else:
            closed = _close(target, session, inspector_port)
    weighted = cdp_stacks(profile)
    samples = sum(count for _, count in weighted)
    title = f"Node.js CPU profile of pid {target.pid}: {samples} samples over {duration} s"
    raw = json.dumps(profile, separators=(",", ":")).encode("utf-8")
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProtocolError(f"the profile is over {MAX_PROFILE_BYTES} bytes", details={"pid": target.pid})
    return NodeProfileResult(
        pid=target.pid,
        node_version=version or target.runtime.version,
        inspector_port=inspector_port,
        inspector_was_open=was_open,
        inspector_closed=closed,
        duration_seconds=duration,
        sampling_interval_micros=interval,
        samples=samples,
        top_functions=top_functions(weighted, limit=TOP_FUNCTIONS),
        artifacts=[
            sink.add("flamegraph.svg", "image/svg+xml", render_svg(weighted, title=title).encode("utf-8")),
            sink.add("profile.cpuprofile", "application/json", raw),
        ],
    )
