"""Runs inside gdb's embedded Python (`gdb -x`), never imported by the agent itself.

It makes the attached CPython process run one line of Python, on a thread and at a moment where
that cannot deadlock or corrupt the interpreter:

1. Ask every thread whether it holds the GIL (`PyGILState_Check`, a read of thread-local state).
2. The holder sits in a system call: run the line on it (the GIL is re-entered, nobody waits).
   Nobody holds the GIL: run it on the main thread, or another thread, sitting in a system call.
3. The holder is running: queue a pending call (`Py_AddPendingCall`, with a breakpoint on its
   callback, the trick memray uses) so the main thread stops at its interpreter loop's safe
   point, holding the GIL; stop waiting after WFHOST_INJECT_WAIT seconds and retry step 2.
4. Otherwise give up and say so: a thread busy in native code while holding the GIL would make
   any injected call block, and gdb cannot abort a blocked call cleanly.

A thread stopped outside a system call, or with the allocator or dynamic loader on its stack, is
never used: calling back into Python there can deadlock on a lock it holds.

Input (environment): WFHOST_INJECT_CODE (the Python source line), WFHOST_INJECT_WAIT (seconds),
WFHOST_INJECT_SIGNAL (a signal the target ignores, sent to end the wait). Output: one line
`WFHOST-INJECT {json}` on stdout.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from typing import Any

import gdb  # type: ignore[import-untyped,import-not-found,unused-ignore]  # only exists inside gdb

_UNSAFE_FRAME = re.compile(r"malloc|calloc|realloc|free|_dl_|fork|brk|mmap_chunk|arena|PyGILState")
_SYSCALL_INSN = {"x86_64": (2, b"\x0f\x05"), "aarch64": (4, b"\x01\x00\x00\xd4")}


def _report(**fields: Any) -> None:
    print("WFHOST-INJECT " + json.dumps(fields), flush=True)


def _arch() -> str:
    name = str(gdb.selected_frame().architecture().name())
    return "aarch64" if "aarch64" in name else "x86_64"


def _at_safe_syscall(thread: Any) -> bool:
    """True when the thread sits in a system call and no frame near the top is the allocator's."""
    thread.switch()
    frame = gdb.newest_frame()
    width, insn = _SYSCALL_INSN[_arch()]
    try:
        before = bytes(gdb.selected_inferior().read_memory(int(frame.pc()) - width, width))
    except gdb.MemoryError:
        return False
    if before != insn:
        return False
    depth = 0
    while frame is not None and depth < 12:
        if _UNSAFE_FRAME.search(frame.name() or ""):
            return False
        frame = frame.older()
        depth += 1
    return True


def _threads() -> list[Any]:
    return sorted(gdb.selected_inferior().threads(), key=lambda t: t.ptid[1])


def _holds_gil(thread: Any) -> bool | None:
    """Whether the thread holds the GIL (PyGILState_Check only reads thread-local state, so it is
    safe to call wherever the thread stopped); None when that cannot be asked."""
    thread.switch()
    try:
        return int(gdb.parse_and_eval("(int)PyGILState_Check()")) == 1
    except gdb.error:
        return None


def _gil_holder(threads: list[Any]) -> tuple[bool, Any]:
    """(known, holder): the thread holding the GIL, None when none does; known=False if unclear."""
    gdb.execute("set scheduler-locking on")
    try:
        answers = [(thread, _holds_gil(thread)) for thread in threads]
    finally:
        gdb.execute("set scheduler-locking off")
    if any(answer is None for _, answer in answers):
        return False, None
    holders = [thread for thread, answer in answers if answer]
    if len(holders) > 1:
        return False, None
    return True, (holders[0] if holders else None)


def _run_code(code: str) -> int:
    escaped = code.replace("\\", "\\\\").replace('"', '\\"')
    state = int(gdb.parse_and_eval("(int)PyGILState_Ensure()"))
    try:
        return int(gdb.parse_and_eval(f'(int)PyRun_SimpleStringFlags("{escaped}", (void*)0)'))
    finally:
        gdb.parse_and_eval(f"(void)PyGILState_Release({state})")


def _wait_for_pending_call(pid: int, wait: float, stop_signal: int) -> bool:
    """Queue a pending call and run the target until the main thread services it."""
    gdb.parse_and_eval("(int)Py_AddPendingCall(&PyCallable_Check, (void*)0)")
    breakpoint = gdb.Breakpoint("PyCallable_Check", internal=True)
    timer = threading.Timer(wait, os.kill, args=(pid, stop_signal))
    timer.start()
    try:
        gdb.execute("continue", to_string=True)
    finally:
        timer.cancel()
        hit = int(breakpoint.hit_count) > 0
        breakpoint.delete()
    return hit


def _choose_without_waiting(threads: list[Any], main_thread: Any) -> str:
    """Pick a thread that can run Python right now; switch to it and name the strategy, or ''.

    - the GIL holder, when it sits in a system call (the injected call re-enters the GIL);
    - when no thread holds the GIL: the main thread, or another thread, sitting in a system call.
    A thread that is not in a system call might be inside malloc or hold other locks: never used.
    """
    known, holder = _gil_holder(threads)
    if known and holder is not None:
        if _at_safe_syscall(holder):
            holder.switch()
            return "gil-holder-syscall"
        return ""
    if not known:
        return ""
    if _at_safe_syscall(main_thread):
        main_thread.switch()
        return "main-thread-syscall"
    for thread in threads:
        if thread is not main_thread and _at_safe_syscall(thread):
            thread.switch()
            return "thread-syscall"
    return ""


def main() -> None:
    code = os.environ["WFHOST_INJECT_CODE"]
    wait = float(os.environ.get("WFHOST_INJECT_WAIT", "2"))
    stop_signal = int(os.environ.get("WFHOST_INJECT_SIGNAL", str(int(signal.SIGURG))))
    started = time.monotonic()
    gdb.execute("set unwindonsignal on")
    gdb.execute("set scheduler-locking off")
    gdb.execute(f"handle {signal.Signals(stop_signal).name} stop print nopass", to_string=True)
    inferior = gdb.selected_inferior()
    pid = int(inferior.pid)
    if pid == 0:
        _report(error="gdb did not attach to the process")
        return
    threads = _threads()
    main_thread = next((t for t in threads if t.ptid[1] == pid), threads[0])
    strategy = _choose_without_waiting(threads, main_thread)
    if not strategy:
        # Someone holds the GIL and is running: ask the main thread to run a pending call from
        # its interpreter loop (where running Python is always allowed), with a deadline.
        safe = [t for t in threads if _at_safe_syscall(t)]
        (safe[0] if safe else main_thread).switch()
        if _wait_for_pending_call(pid, wait, stop_signal):
            strategy = "pending-call"
        else:
            threads = _threads()
            if not threads:
                _report(error="the process exited")
                return
            main_thread = next((t for t in threads if t.ptid[1] == pid), threads[0])
            strategy = _choose_without_waiting(threads, main_thread)
    if not strategy:
        _report(
            error=f"no thread reached a point where Python code can run within {wait:.1f} s "
            "(a thread holding the GIL is busy in native code)",
            seconds=time.monotonic() - started,
        )
        return
    thread_id = int(gdb.selected_thread().ptid[1])
    call_started = time.monotonic()
    rc = _run_code(code)
    _report(
        rc=rc,
        strategy=strategy,
        thread=thread_id,
        callSeconds=time.monotonic() - call_started,
        seconds=time.monotonic() - started,
    )


try:
    main()
except gdb.error as exc:
    _report(error=f"gdb: {exc}")
