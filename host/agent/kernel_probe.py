"""Can gdb call into a process on this node and give it back intact? Asked of a throwaway process.

Calling a function in a target (the way the memory, inspect and debugger actions inject code)
makes gdb save the thread's registers, run the call, and write them back. Some kernels refuse
the write of the x86 extended state (`PTRACE_SETREGSET`, seen on a Firecracker VM with Linux
6.18: "Couldn't write extended state status: Bad address"), and then the target dies when gdb
detaches. So before touching a real process, the agent makes the same call in a process of its
own; the answer is cached per boot of the node, since it is the kernel's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog

from host.agent.errors import InjectionUnsupported
from host.agent.tools import gdb_argv, run_tool

log = structlog.get_logger(__name__)

REFUSALS = ("Couldn't write extended state status", "Couldn't write registers")
# In every InjectionUnsupported message: what callers (the demo's summary) recognise it by.
UNSUPPORTED_MARK = "refuses the register writes gdb needs"
_PROBE_TIMEOUT_SECONDS = 30.0


def _cache_file() -> Path:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    return Path(tempfile.gettempdir()) / f"wfhost-agent-gdb-probe-{boot}"


def refusal() -> str | None:
    """The kernel's refusal (gdb's words) when calling into a process would break it, else None."""
    cache = _cache_file()
    try:
        cached = cache.read_text()
        return cached or None
    except OSError:
        pass
    dummy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        run = run_tool(
            [*gdb_argv(), "-p", str(dummy.pid), "-ex", "call (int)getpid()"], timeout=_PROBE_TIMEOUT_SECONDS
        )
    finally:
        dummy.kill()
        dummy.wait()
    text = run.stdout + run.stderr
    found = next((words for words in REFUSALS if words in text), None)
    try:
        cache.write_text(found or "")
    except OSError as exc:
        log.debug("gdb probe not cached", error=str(exc))
    return found


def ensure_injection_is_safe(pid: int) -> None:
    """Raise InjectionUnsupported, before anything touches `pid`, where gdb's call would kill it."""
    words = refusal()
    if words is not None:
        raise InjectionUnsupported(
            f"this node's kernel {UNSUPPORTED_MARK} after calling into a process "
            f"({words}); injecting into process {pid} would kill it, so it was not attempted. "
            "py-spy actions (profile, stack trace, process list) still work here.",
            details={"pid": pid, "kernel": words},
        )
