"""Hostile workflows after the host's environment: variables, the working directory, the command line.

The child starts with a scrubbed environment (nothing inherited from the host) in its own
DENO_DIR, and Deno runs it with `--deny-env`, so even a variable that were there stays unread.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sandbox.conftest import Arena, Secrets, assert_no_leak, hostile, probe, probe_body

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(120)]

ENV_READS = {
    "Deno.env.get": "return Deno.env.get(ctx.params.arg);",
    "Deno.env.has": "return Deno.env.has(ctx.params.arg);",
    "Deno.env.toObject": "return JSON.stringify(Deno.env.toObject());",
    "process.env-global": "return (globalThis as any).process.env[ctx.params.arg];",
    "node-process-env": 'const p: any = await import("node:" + "process"); return JSON.stringify(p.default.env);',
    "Deno.env.set": 'Deno.env.set("LD_PRELOAD", "/tmp/evil.so"); return "set";',
}


@pytest.mark.parametrize("how", list(ENV_READS))
async def test_environment_variables_are_out_of_reach(arena: Arena, secrets: Secrets, how: str) -> None:
    assert os.environ[secrets.env_name] == secrets.env_value  # the host process does carry it
    wf = await arena.load(probe("env", ENV_READS[how]))
    result = await arena.run(wf, arg=secrets.env_name)
    body = probe_body(result)
    assert body.startswith("DENIED"), body
    if how == "process.env-global":  # the SDK removes the `process` global altogether
        assert "reading 'env'" in body, body
    else:
        assert "Requires env access" in body, body
    assert_no_leak(result, *secrets.all)
    await arena.healthy(wf)


async def test_the_child_inherits_nothing_from_the_host_environment_or_working_directory(
    arena: Arena, secrets: Secrets
) -> None:
    wf = await arena.load(probe("where", "return Deno.cwd();"))
    (pid,) = wf.pool.worker_pids()
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = sorted(e.split(b"=", 1)[0].decode() for e in environ if e)
    assert names == ["DENO_DIR", "DENO_NO_PROMPT", "DENO_NO_UPDATE_CHECK", "HOME", "LANG", "NO_COLOR", "PATH"]
    assert secrets.env_value.encode() not in b"\0".join(environ)
    # The working directory is the workflow's own DENO_DIR, never the host's.
    cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    assert cwd == wf.pool.prepared.deno_dir
    assert cwd != Path.cwd()
    body = probe_body(await arena.run(wf))
    assert body == f"OK {cwd}"  # Deno 2 reveals its cwd without --allow-read; it holds nothing secret
    await arena.healthy(wf)


async def test_the_host_command_line_and_the_workflow_source_dir_stay_unreadable(arena: Arena, secrets: Secrets) -> None:
    attempt = """
    const found: string[] = [];
    for (const p of ["/proc/self/cmdline", "/proc/" + Deno.ppid + "/cmdline", "/proc/self/maps", "/proc/self/status"]) {
      try { Deno.readTextFileSync(p); found.push("read " + p); } catch (e) { found.push((e as Error).name); }
    }
    return found.join(",");
    """
    wf = await arena.load(hostile("cmdline", f"const r = await (async () => {{ {attempt} }})(); await ctx.report({{ title: r }});"))
    result = await arena.run(wf)
    assert result.outcome == "ok", result.error
    assert result.findings[0].title == "NotCapable,NotCapable,NotCapable,NotCapable"
    assert_no_leak(result, *secrets.all)
    await arena.healthy(wf)
