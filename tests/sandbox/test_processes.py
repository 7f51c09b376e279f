"""Hostile workflows that try to leave the JavaScript world: subprocesses, FFI, signals, Workers, exiting.

Deno denies run, FFI and sys access; a guest that exits or crashes its own process only loses
its own invocation: the host notices, restarts the worker with backoff, and serves the next one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from host.errors import WorkflowRefused
from tests.sandbox.conftest import Arena, Secrets, assert_no_leak, hostile, probe, probe_body

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"

ATTEMPTS = {
    "Deno.Command-absolute": ('return new Deno.Command("/bin/sh", { args: ["-c", "touch " + ctx.params.arg] }).outputSync().code;',
                              "Requires run access"),
    "Deno.Command-spawn": ('const c = new Deno.Command("/bin/sh", { args: ["-c", "touch " + ctx.params.arg] }).spawn();'
                           " return (await c.status).code;", "Requires run access"),
    "Deno.Command-by-name": ('return new Deno.Command("sh", { args: ["-c", "touch " + ctx.params.arg] }).outputSync().code;',
                             "Failed to spawn"),
    "node-child_process": ('const cp: any = await import("node:" + "child_process");'
                           ' return cp.execFileSync("/bin/sh", ["-c", "touch " + ctx.params.arg]);', "Requires"),
    "Deno.kill-host": ('Deno.kill(Deno.ppid, "SIGKILL"); return "killed";', "Requires run access"),
    "Deno.kill-everyone": ('Deno.kill(-1, "SIGKILL"); return "killed";', "Requires run access"),
    "process.kill-host": ('const proc: any = (await import("node:" + "process")).default; proc.kill(proc.ppid, "SIGTERM"); return 1;',
                          "Requires run access"),
    "Deno.dlopen": (f'return Deno.dlopen("{LIBC}", {{ getpid: {{ parameters: [], result: "i32" }} }}).symbols.getpid();',
                    "Requires ffi access"),
    "process.dlopen": (f'const p: any = (await import("node:" + "process")).default; return p.dlopen({{ exports: {{}} }}, "{LIBC}");',
                       "Requires ffi access"),
    "UnsafePointer.create": ("return (Deno as any).UnsafePointer.create(4096n);", "Requires ffi access"),
    "UnsafeCallback": ('return new (Deno as any).UnsafeCallback({ parameters: [], result: "void" }, () => {});',
                       "Requires ffi access"),
    "internal-ffi-op": ("return (Deno as any)[(Deno as any).internal].core.ops.op_ffi_ptr_create(4096n);", "Requires ffi access"),
    "node-inspector": ('const i: any = await import("node:" + "inspector"); i.open(0); return i.url();', "Requires sys access"),
    "node-os": ('const os: any = await import("node:" + "os"); return os.hostname() + JSON.stringify(os.userInfo());',
                "Requires sys access"),
    "Deno.hostname": ("return Deno.hostname();", "Requires sys access"),
    "write-a-file": ('Deno.writeTextFileSync(ctx.params.arg, "pwned"); return "written";', "Requires write access"),
}


@pytest.mark.parametrize("how", list(ATTEMPTS))
async def test_no_subprocess_ffi_signal_or_system_access(arena: Arena, tmp_path: Path, how: str) -> None:
    code, words = ATTEMPTS[how]
    marker = tmp_path / "pwned"
    wf = await arena.load(probe("proc", code))
    result = await arena.run(wf, arg=str(marker))
    body = probe_body(result)
    assert body.startswith("DENIED"), body
    assert words in body, body
    assert not marker.exists()
    await arena.healthy(wf)


@pytest.mark.parametrize(
    ("raw", "body", "words"),
    [
        (True, "Deno.exit(0);", "exit code 0"),
        (True, "Deno.exit(7);", "exit code 7"),
        (False, "(Deno as any)[(Deno as any).internal].core.ops.op_exit(9);", "worker died during the run"),
        (False, '((await import("node:" + "process")).default as any).abort();', "worker died during the run"),
        (True, "setTimeout(() => { Promise.reject(new Error('nobody catches this')); }, 0);"
               " await new Promise((r) => setTimeout(r, 3000));", "worker died during the run"),
    ],
    ids=["raw-exit-0", "raw-exit-7", "internal-exit-op", "process-abort", "raw-unhandled-rejection"],
)
async def test_a_guest_that_ends_its_own_process_mid_run_loses_only_that_invocation(
    arena: Arena, raw: bool, body: str, words: str
) -> None:
    wf = await arena.load(hostile("exiter", body), raw=raw)
    (pid,) = wf.pool.worker_pids()
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert words in (result.error or ""), result.error
    await arena.healthy(wf)
    assert wf.pool.worker_pids() != [pid]


@pytest.mark.parametrize(
    "body",
    ["Deno.exit(0);", "(globalThis as any).process.exit(1);", "globalThis.close();"],
    ids=["Deno.exit", "process.exit", "close"],
)
async def test_the_real_sdk_turns_exit_calls_into_a_failed_invocation(arena: Arena, body: str) -> None:
    wf = await arena.load(hostile("exiter", body))
    (pid,) = wf.pool.worker_pids()
    result = await arena.run(wf)
    assert result.outcome == "failed", (result.outcome, result.error)
    # Deno.exit and close() are replaced; the `process` global is removed altogether
    assert any(w in (result.error or "") for w in ("Exiting the process is not available", "reading 'exit'"))
    assert wf.pool.worker_pids() == [pid]  # the worker was not even restarted
    await arena.healthy(wf)


async def test_a_guest_that_exits_while_idle_is_restarted_before_the_next_invocation(arena: Arena) -> None:
    wf = await arena.load(hostile("idle-exit", 'setTimeout(() => Deno.exit(3), 50); await ctx.report({ title: "bye" });'),
                          raw=True)
    (pid,) = wf.pool.worker_pids()
    first = await arena.run(wf)
    assert first.outcome == "ok", first.error
    await arena.healthy(wf)
    assert wf.pool.worker_pids() != [pid]
    assert wf.pool.stats.restarts >= 1


async def test_exiting_at_the_top_level_refuses_the_workflow(arena: Arena) -> None:
    source = hostile("top-exit", "", after="Deno.exit(4);\n")
    with pytest.raises(WorkflowRefused) as info:
        await arena.load(source, raw=True)
    assert "exited while starting" in info.value.reason
    assert "exit code 4" in info.value.reason
    await arena.healthy()


async def test_the_real_sdk_refuses_to_start_a_worker(arena: Arena) -> None:
    wf = await arena.load(probe("worker", 'return new Worker("data:text/javascript,1", { type: "module" });'))
    body = probe_body(await arena.run(wf))
    assert body.startswith("DENIED") and "Worker is not available" in body, body
    await arena.healthy(wf)


async def test_a_worker_smuggled_in_through_node_worker_threads_cannot_even_start(arena: Arena) -> None:
    # The SDK's guard does not cover node:worker_threads, but RLIMIT_DATA (1 GiB for a 64 MiB heap)
    # leaves no room to reserve a second isolate: the whole child dies, and only it.
    body = """
    const { Worker: W } = await import("node:" + "worker_threads");
    const src = 'import { parentPort } from "node:worker_threads"; parentPort.postMessage("started");';
    const m = await new Promise((res) => { const w = new W(new URL("data:text/javascript," + encodeURIComponent(src)));
      w.on("message", res); w.on("error", (e: unknown) => res("error " + e)); });
    await ctx.report({ title: String(m) });
    """
    wf = await arena.load(hostile("threads", body))
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error, result.findings)
    assert "Failed to reserve virtual memory" in (result.error or ""), result.error
    await arena.healthy(wf)


WORKER_ATTEMPTS = {
    "read-file": ("let out; try { out = Deno.readTextFileSync(@PATH@); } catch (e) { out = String(e); } postMessage(out);",
                  "Requires read access"),
    "import-file": ("let out; try { out = (await import(@URL@, { with: { type: 'text' } })).default; }"
                    " catch (e) { out = String(e); } postMessage(out);", "Requires read access"),
    "env": ("let out; try { out = Deno.env.get('WFHOST_TEST_SECRET'); } catch (e) { out = String(e); } postMessage(out);",
            "Requires env access"),
    "net": ("let out; try { out = String((await fetch('http://127.0.0.1:8080/')).status); } catch (e) { out = String(e); }"
            " postMessage(out);", "Requires net access"),
}


@pytest.mark.parametrize("what", list(WORKER_ATTEMPTS))
async def test_a_worker_has_no_more_permissions_than_its_parent(
    arena_factory: object, secrets: Secrets, what: str
) -> None:
    # A larger heap cap lifts RLIMIT_DATA to 2 GiB, so Workers can start; the raw SDK does not block them.
    arena = arena_factory(maxHeapMb=512)  # type: ignore[operator]
    code, words = WORKER_ATTEMPTS[what]
    code = code.replace("@PATH@", repr(str(secrets.file))).replace("@URL@", repr(secrets.file.as_uri()))
    body = f"""
    const src = {code!r};
    const m = await new Promise((res) => {{
      const w = new Worker("data:text/javascript," + encodeURIComponent(src), {{ type: "module" }});
      w.onmessage = (e) => {{ res(e.data); w.terminate(); }};
      w.onerror = (e) => {{ e.preventDefault(); res("error " + e.message); w.terminate(); }};
    }});
    throw new Error("WORKER " + m);
    """
    wf = await arena.load(hostile("workers", body), raw=True)
    result = await arena.run(wf)
    assert result.outcome == "failed", (result.outcome, result.error)
    assert words in (result.error or ""), result.error
    assert_no_leak(result, *secrets.all)
    await arena.healthy(wf)


async def test_a_worker_cannot_be_granted_permissions_its_parent_lacks(arena_factory: object) -> None:
    # Per-worker permissions are an unstable API the host never enables: asking for them ends the child.
    arena = arena_factory(maxHeapMb=512)  # type: ignore[operator]
    body = """
    new Worker("data:text/javascript,postMessage(1)", { type: "module", deno: { permissions: { read: true, run: true } } } as any);
    await new Promise((r) => setTimeout(r, 3000));
    """
    wf = await arena.load(hostile("escalate", body), raw=True)
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert "--unstable-worker-options" in (result.error or ""), result.error
    await arena.healthy(wf)


async def test_a_workers_console_output_breaks_framing_and_only_its_child_dies(arena_factory: object) -> None:
    arena = arena_factory(maxHeapMb=512)  # type: ignore[operator]
    body = """
    new Worker("data:text/javascript," + encodeURIComponent("console.log('straight to fd 1')"), { type: "module" });
    await new Promise((r) => setTimeout(r, 3000));
    """
    wf = await arena.load(hostile("chatty-worker", body), raw=True)
    result = await arena.run(wf)
    assert result.outcome == "crashed", (result.outcome, result.error)
    assert "not JSON" in (result.error or ""), result.error
    await arena.healthy(wf)
