"""`javathreads`: a JVM's thread dump through its attach mechanism, with the JVM's own deadlock check.

The same request `jstack` sends (`threaddump`, `jvm_attach.py`), answered by the JVM at a
safepoint: every thread's name, state and stack, and the `Found one Java-level deadlock` cycles
HotSpot's detector reports (monitors and java.util.concurrent locks), read by `jvm_dumps.py`.
"""

from __future__ import annotations

from host.agent import jvm_attach
from host.agent.artifacts import ArtifactSink
from host.agent.errors import ProtocolError
from host.agent.jvm_dumps import by_state, parse_thread_dump
from host.agent.models import JavaThreadDumpResult
from host.agent.procs import Target
from host.agent.tools import exclusive_target

DUMP_TIMEOUT_SECONDS = 60.0
MAX_THREADS = 500


def run(target: Target, *, sink: ArtifactSink) -> JavaThreadDumpResult:
    """Take one thread dump and summarize it."""
    with exclusive_target(target):
        reply = jvm_attach.execute(target, "threaddump", timeout=DUMP_TIMEOUT_SECONDS)
    if reply.status != 0:
        raise ProtocolError(
            f"the JVM of pid {target.pid} refused the thread dump (status {reply.status}): {reply.output.strip()[:300]}",
            details={"pid": target.pid, "status": reply.status},
        )
    dump = parse_thread_dump(reply.output)
    java_threads = [t for t in dump.threads if t.number is not None]
    return JavaThreadDumpResult(
        pid=target.pid,
        java_version=target.runtime.version,
        vm=dump.vm,
        thread_count=len(java_threads),
        by_state=by_state(dump.threads),
        deadlocks=dump.deadlocks,
        threads=java_threads[:MAX_THREADS],
        attach_seconds=round(reply.seconds, 3),
        artifacts=[sink.add("threads.txt", "text/plain", reply.output.encode("utf-8"))],
    )
