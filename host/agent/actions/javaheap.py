"""`javaheap`: a JVM's class histogram (`jcmd GC.class_histogram`) through its attach mechanism.

By default only live objects are counted, so the JVM runs a full GC first: a stop-the-world
pause as long as a full collection of that heap (docs/debugging.md has the cost). `--all`
counts unreachable objects too, without the GC, walking the heap as it is.
"""

from __future__ import annotations

from host.agent import jvm_attach
from host.agent.artifacts import ArtifactSink
from host.agent.errors import BadArgument
from host.agent.jvm_dumps import parse_histogram
from host.agent.models import JavaHeapHistogramResult
from host.agent.procs import Target
from host.agent.tools import exclusive_target

MAX_TOP = 200
HISTOGRAM_TIMEOUT_SECONDS = 120.0


def validate(top: int) -> None:
    if not 1 <= top <= MAX_TOP:
        raise BadArgument(f"--top must be 1 to {MAX_TOP}, not {top}")


def run(target: Target, *, top: int, live_only: bool, sink: ArtifactSink) -> JavaHeapHistogramResult:
    """Take the histogram and keep its `top` classes by bytes."""
    validate(top)
    with exclusive_target(target):
        command = "GC.class_histogram" if live_only else "GC.class_histogram -all"
        reply = jvm_attach.jcmd(target, command, timeout=HISTOGRAM_TIMEOUT_SECONDS)
    histogram = parse_histogram(reply.output, top=top)
    return JavaHeapHistogramResult(
        pid=target.pid,
        java_version=target.runtime.version,
        live_only=live_only,
        total_instances=histogram.total_instances,
        total_bytes=histogram.total_bytes,
        class_count=histogram.class_count,
        top_classes=histogram.classes,
        attach_seconds=round(reply.seconds, 3),
        artifacts=[sink.add("histogram.txt", "text/plain", reply.output.encode("utf-8"))],
    )
