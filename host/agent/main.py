"""`wfhost-agent`: parse the subcommand, run the action, print exactly one JSON reply.

Exit status 0 with `{"ok": true, ...}`, 1 with `{"ok": false, "error": {...}}` for an expected
failure, 2 for a bad command line, 3 for an unexpected internal error. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import structlog

from host.agent.actions import (
    debugger,
    goprofile,
    inspect,
    javaheap,
    javaprofile,
    javathreads,
    memory,
    network,
    nodeprofile,
    profile,
    ps,
    stacktrace,
)
from host.agent.artifacts import ArtifactSink
from host.agent.errors import AgentError, BadArgument
from host.agent.models import AgentFailed, AgentOk, ErrorBody, WaitResult, Wire
from host.agent.procs import resolve_target, scope_pid, select_container

log = structlog.get_logger(__name__)

EXIT_OK, EXIT_ACTION_FAILED, EXIT_BAD_ARGUMENT, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that raises BadArgument instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise BadArgument(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--out", type=Path, help="write artifacts under this directory instead of embedding them"
    )
    common.add_argument("--verbose", action="store_true", help="debug logs on stderr")
    common.add_argument(
        "--pod-uid", help="with --container-id: act on that container only, found in /proc/*/cgroup (node pod)"
    )
    common.add_argument("--container-id", help="the target container's status containerID (runtime://HEX)")
    target = _Parser(add_help=False)
    target.add_argument("--pid", type=int, required=True, help="the target process")

    parser = _Parser(
        prog="wfhost-agent",
        description="Debug actions against a process of a pod (Python, Go, Node.js) and its network; one JSON reply.",
    )
    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sub.add_parser("ps", parents=[common], help="list processes in scope, each with its runtime")

    prof = sub.add_parser(
        "profile", parents=[common, target], help="py-spy record: flamegraph and top functions"
    )
    prof.add_argument("--duration", type=int, required=True, help="whole seconds, 1-300")
    prof.add_argument("--rate", type=int, default=100, help="samples per second (default 100)")
    prof.add_argument("--idle", action="store_true", help="include idle (waiting) threads")
    prof.add_argument("--subprocesses", action="store_true", help="also profile child processes")
    prof.add_argument("--native", action="store_true", help="include native (C) frames")

    stack = sub.add_parser("stacktrace", parents=[common, target], help="py-spy dump of every thread")
    stack.add_argument("--count", type=int, default=1)
    stack.add_argument("--interval", type=float, default=1.0, help="seconds between dumps")
    stack.add_argument("--locals", action="store_true", help="include local variables")

    mem = sub.add_parser(
        "memory", parents=[common, target], help="allocation tracking (memray or tracemalloc)"
    )
    mem.add_argument("--duration", type=float, required=True, help="seconds, 1-300")
    mem.add_argument("--method", default="auto", help="auto (memray, else tracemalloc) or tracemalloc")
    mem.add_argument("--top", type=int, default=memory.TOP_SITES, help="how many sites to report")

    sub.add_parser("inspect", parents=[common, target], help="interpreter, modules, threads, files, sockets")

    dbg = sub.add_parser(
        "debugger", parents=[common, target], help="start debugpy listening on 127.0.0.1:PORT"
    )
    dbg.add_argument("--port", type=int, required=True)
    dbg.add_argument("--pod", help="pod name for the port-forward command")
    dbg.add_argument("--namespace", help="namespace for the port-forward command")

    gop = sub.add_parser(
        "goprofile", parents=[common, target], help="Go: CPU profile and goroutine dump through net/http/pprof"
    )
    gop.add_argument("--duration", type=int, required=True, help="whole seconds, 1-300")
    gop.add_argument("--port", type=int, help="the pprof port (default: probe the program's listening ports)")

    nodep = sub.add_parser(
        "nodeprofile", parents=[common, target], help="Node.js: CPU profile through the inspector (SIGUSR1)"
    )
    nodep.add_argument("--duration", type=int, required=True, help="whole seconds, 1-300")
    nodep.add_argument("--port", type=int, help="an inspector port already open (default: open one)")
    nodep.add_argument("--interval", type=int, default=1000, help="sampling interval in microseconds")
    nodep.add_argument(
        "--keep-jit", action="store_true",
        help="leave V8's optimized code alone (a little cheaper; inlined functions count as their caller)",
    )

    sub.add_parser(
        "javathreads", parents=[common, target], help="Java: thread dump and deadlocks through the JVM's attach mechanism"
    )
    jheap = sub.add_parser(
        "javaheap", parents=[common, target], help="Java: class histogram (GC.class_histogram) through attach"
    )
    jheap.add_argument("--top", type=int, default=30, help="how many classes to report (default 30)")
    jheap.add_argument("--all", action="store_true", help="count unreachable objects too (no full GC first)")
    jprof = sub.add_parser(
        "javaprofile", parents=[common, target], help="Java: JFR recording: hot methods and allocating classes"
    )
    jprof.add_argument("--duration", type=int, required=True, help="whole seconds, 1-300")

    net = sub.add_parser(
        "network", parents=[common], help="sockets, DNS, TCP and HTTP(S) checks from the pod's network namespace"
    )
    net.add_argument("--pid", type=int, help="whose network namespace (default: the scope's, else the agent's own)")
    net.add_argument("--resolve", action="append", default=[], metavar="NAME", help="resolve NAME (repeatable)")
    net.add_argument("--connect", action="append", default=[], metavar="HOST:PORT", help="TCP connect (repeatable)")
    net.add_argument("--http", action="append", default=[], metavar="URL", help="HTTP(S) GET (repeatable)")
    net.add_argument("--timeout", type=float, default=5.0, help="seconds per check (default 5)")
    net.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                     help="ask these DNS servers instead of the target's resolv.conf ones")
    net.add_argument("--insecure", action="store_true", help="do not verify HTTPS certificates")
    net.add_argument("--no-sockets", action="store_true", help="leave out the socket listing")

    sub.add_parser(
        "wait", parents=[common], help="sleep until SIGTERM (an ephemeral container's main process)"
    )
    return parser


def _wait() -> WaitResult:
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    started = time.monotonic()
    while not stop.wait(3600):
        pass
    return WaitResult(signal=received[0], waited_seconds=round(time.monotonic() - started, 3))


def _dispatch(args: argparse.Namespace) -> Wire:
    sink = ArtifactSink(args.out)
    if (args.pod_uid is None) != (args.container_id is None):
        raise BadArgument("--pod-uid and --container-id go together")
    if args.pod_uid is not None and args.action != "wait":
        select_container(args.pod_uid, args.container_id)
    if args.action == "ps":
        return ps.run()
    if args.action == "wait":
        return _wait()
    if args.action == "profile":
        profile.validate(args.duration, args.rate)
    elif args.action == "stacktrace":
        stacktrace.validate(args.count, args.interval)
    elif args.action == "memory":
        memory.validate(args.duration, args.method)
    elif args.action == "debugger":
        debugger.validate(args.port)
    elif args.action == "goprofile":
        goprofile.validate(args.duration, args.port)
    elif args.action == "nodeprofile":
        nodeprofile.validate(args.duration, args.port, args.interval)
    elif args.action == "javaheap":
        javaheap.validate(args.top)
    elif args.action == "javaprofile":
        javaprofile.validate(args.duration)
    elif args.action == "network":
        network.validate(args.resolve, args.connect, args.http, args.timeout, args.nameserver)
        # Without --pid: the scope's process when there is one (locally), else the agent's own
        # namespace, which in a pod is the pod's.
        whose = args.pid if args.pid is not None else scope_pid()
        return network.run(
            None if whose is None else resolve_target(whose, runtime=None),
            names=args.resolve,
            connects=args.connect,
            urls=args.http,
            timeout=args.timeout,
            nameservers=args.nameserver,
            insecure=args.insecure,
            sockets=not args.no_sockets,
        )
    if args.action == "goprofile":
        return goprofile.run(resolve_target(args.pid, "go"), duration=args.duration, port=args.port, sink=sink)
    if args.action == "nodeprofile":
        return nodeprofile.run(
            resolve_target(args.pid, "node"),
            duration=args.duration,
            port=args.port,
            interval=args.interval,
            sink=sink,
            reset_jit=not args.keep_jit,
        )
    if args.action == "javathreads":
        return javathreads.run(resolve_target(args.pid, "jvm"), sink=sink)
    if args.action == "javaheap":
        return javaheap.run(resolve_target(args.pid, "jvm"), top=args.top, live_only=not args.all, sink=sink)
    if args.action == "javaprofile":
        return javaprofile.run(resolve_target(args.pid, "jvm"), duration=args.duration, sink=sink)
    target = resolve_target(args.pid)
    if args.action == "profile":
        return profile.run(
            target,
            duration=args.duration,
            rate=args.rate,
            idle=args.idle,
            subprocesses=args.subprocesses,
            native=args.native,
            sink=sink,
        )
    if args.action == "stacktrace":
        return stacktrace.run(target, count=args.count, interval=args.interval, with_locals=args.locals)
    if args.action == "memory":
        return memory.run(target, duration=args.duration, method=args.method, top=args.top, sink=sink)
    if args.action == "inspect":
        return inspect.run(target)
    if args.action == "debugger":
        return debugger.run(target, port=args.port, pod=args.pod, namespace=args.namespace)
    raise BadArgument(f"unknown action {args.action!r}")


def _configure_logging(verbose: bool) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose else logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def _emit(reply: Wire) -> None:
    sys.stdout.write(json.dumps(reply.to_wire(), separators=(",", ":")) + "\n")
    sys.stdout.flush()


def run(argv: Sequence[str]) -> int:
    """Run one agent command line; print its reply; return the exit status."""
    action: str | None = next((arg for arg in argv if not arg.startswith("-")), None)
    _configure_logging("--verbose" in argv)
    try:
        args = _parser().parse_args(list(argv))
        action = args.action
        result = _dispatch(args)
    except AgentError as exc:
        log.info("action failed", action=action, code=exc.code, message=exc.message)
        _emit(
            AgentFailed(
                action=action, error=ErrorBody(code=exc.code, message=exc.message, details=exc.details)
            )
        )
        return EXIT_BAD_ARGUMENT if isinstance(exc, BadArgument) else EXIT_ACTION_FAILED
    except Exception as exc:
        log.exception("internal error", action=action)
        details: dict[str, Any] = {"exception": type(exc).__name__}
        _emit(
            AgentFailed(
                action=action, error=ErrorBody(code="internal_error", message=str(exc), details=details)
            )
        )
        return EXIT_INTERNAL
    _emit(AgentOk(action=action or "", result=result.to_wire()))
    return EXIT_OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
