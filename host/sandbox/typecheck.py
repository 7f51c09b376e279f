"""`deno check` of a prepared workflow, with its own time and memory limits.

Type-checking is costly (about 1 s and 180 MB for a small file, far more for a hostile type),
so it runs only from `wfhost check`, never on the invocation path.
"""

from __future__ import annotations

import asyncio
import resource
from pathlib import Path

from host.sandbox.deno import COMMON_FLAGS, scrubbed_env
from host.sandbox.prepare import PreparedWorkflow


def _limit(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


async def type_check(prepared: PreparedWorkflow, *, deno: Path, timeout: float, max_memory_mb: int) -> str | None:
    """None when the workflow type-checks; otherwise deno's diagnostics (paths shown as the original file)."""
    proc = await asyncio.create_subprocess_exec(
        str(deno), "check", *COMMON_FLAGS, "--quiet", f"--import-map={prepared.import_map}", str(prepared.snapshot.entry),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=scrubbed_env(prepared.deno_dir), cwd=str(prepared.deno_dir),
        preexec_fn=lambda: _limit(max_memory_mb << 20),
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"type check took longer than {timeout:g}s"
    if proc.returncode == 0:
        return None
    text = out.decode(errors="replace")
    text = text.replace(prepared.snapshot.root.as_uri(), prepared.source.parent.as_uri())
    text = text.replace(str(prepared.snapshot.root), str(prepared.source.parent))
    return text.strip() or f"deno check exited with {proc.returncode}"
