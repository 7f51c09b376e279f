"""The arena for the hostile-workflow suite: short limits, workflow templates, and the health check.

Every hostile case loads a real TypeScript workflow into the real host (real Deno, real pipes)
and then calls `Arena.healthy`, which proves the host survived: a good workflow still answers
with correctly attributed findings, each hostile workflow passed in serves a benign run again,
and no Deno child outlives the pools that own it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from host.capabilities.policy import Grant
from host.capabilities.router import CapabilityRouter
from host.capabilities.routes import build_router
from host.config import HostConfig
from host.model.events import Event, Subject
from host.model.invocation import InvocationResult
from host.runtime.invoker import invoke
from host.sandbox.prepare import SandboxEnv
from host.workflows.loaded import LoadedWorkflow
from host.workflows.loader import load_workflow
from tests.conftest import REPO, make_config

RAW_SDK = REPO / "tests" / "runtime" / "raw_sdk"

# Short limits so the whole suite fits in a few minutes on two cores; tests that are about one
# limit override it through `arena_factory`.
LIMITS: dict[str, Any] = {
    "invocationTimeoutSeconds": 5,
    "startTimeoutSeconds": 10,
    "maxHeapMb": 64,
    "maxMessageBytes": 64 << 10,
    "maxCallsPerInvocation": 40,
    "maxFindingsPerInvocation": 10,
    "maxLogBytesPerInvocation": 16 << 10,
    "restartBackoff": {"initialSeconds": 0.02, "maxSeconds": 0.2},
}


def hostile(name: str, body: str, *, caps: str = '"findings.report"', prelude: str = "", after: str = "") -> str:
    """A workflow whose `run` does `body` when `evil` (the default) and reports "clean" otherwise.

    `prelude` goes at the top of the module (imports), `after` after the workflow (module code).
    `ctx.params.arg` carries a string from the test (a path, an id, a payload).
    """
    return (
        textwrap.dedent(prelude).strip()
        + "\n"
        + textwrap.dedent(f"""
        import {{ defineWorkflow }} from "@wfhost/sdk";
        export default defineWorkflow({{
          name: "{name}",
          triggers: [{{ on: "manual" }}],
          capabilities: [{caps}],
          params: {{ evil: {{ type: "boolean", default: true }}, arg: {{ type: "string", default: "" }} }},
          async run(ctx: any, event: any) {{
            if (!ctx.params.evil) {{ await ctx.report({{ title: "clean" }}); return; }}
        """)
        + textwrap.indent(textwrap.dedent(body).strip(), "    ")
        + "\n  },\n});\n"
        + textwrap.dedent(after)
    )


def probe(name: str, attempt: str, *, prelude: str = "", caps: str = '"findings.report"') -> str:
    """A hostile workflow that runs `attempt` (the body of an async function) and reports what happened.

    The finding's body is `OK <value>` when the attempt succeeded and `DENIED <Error name>: <message>`
    when it threw; tests assert on that and that no secret appears anywhere.
    """
    body = f"""
    let out: string;
    try {{
      out = "OK " + String(await (async () => {{
    {textwrap.indent(textwrap.dedent(attempt).strip(), "    ")}
      }})());
    }} catch (e) {{
      out = "DENIED " + (e as Error)?.name + ": " + String((e as Error)?.message ?? e);
    }}
    await ctx.report({{ title: "probe", body: out.slice(0, 4000) }});
    """
    return hostile(name, body, caps=caps, prelude=prelude)


def raw_call(method: str, params: str, *, then: str = "") -> str:
    """Raw-SDK body: send one request, then fail the run with the host's whole reply as JSON."""
    return f"""
    const reply: any = await ctx.call({json.dumps(method)}, {params});
    {then}
    throw new Error("REPLY " + JSON.stringify(reply));
    """


def reply_of(result: InvocationResult) -> dict[str, Any]:
    """The host's reply a `raw_call` workflow smuggled out through its error message."""
    assert result.outcome == "failed", (result.outcome, result.error)
    match = re.search(r"REPLY (\{.*\})", result.error or "", re.S)
    assert match, result.error
    reply: dict[str, Any] = json.loads(match.group(1))
    return reply


def probe_body(result: InvocationResult) -> str:
    assert result.outcome == "ok", (result.outcome, result.error)
    bodies = [f.body for f in result.findings if f.title == "probe"]
    assert len(bodies) == 1, result.findings
    return bodies[0]


def assert_no_leak(result: InvocationResult, *secrets: str) -> None:
    """No secret in anything the invocation produced: findings, attachments, error text."""
    dumped = result.model_dump_json()
    blobs = [a.data for f in result.findings for a in f.attachments]
    for secret in secrets:
        assert secret not in dumped, f"secret {secret!r} leaked into {dumped[:2000]}"
        assert all(secret.encode() not in b for b in blobs), f"secret {secret!r} leaked into an attachment"


GOOD = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "good",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report"],
  async run(ctx: any, event: any) {
    await ctx.report({ title: "healthy", body: String(event.kind) });
  },
});
"""


def deno_children() -> set[int]:
    """Pids of every live (non-zombie) `deno` process below this test process."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "deno" in child.name():
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


@dataclass
class Arena:
    """One host-side sandbox setup (real SDK and raw SDK envs) with the suite's short limits."""

    root: Path
    config: HostConfig
    env: SandboxEnv
    raw_env: SandboxEnv
    router: CapabilityRouter
    pools: list[LoadedWorkflow] = field(default_factory=list)
    siblings: list[Arena] = field(default_factory=list, repr=False)  # every arena of the test, for the orphan check
    _good: LoadedWorkflow | None = None
    _count: int = 0

    @property
    def timeout(self) -> float:
        return self.config.sandbox.invocation_timeout_seconds

    def write(self, source: str, *, name: str = "wf.ts", directory: Path | None = None) -> Path:
        """Write a workflow into its own fresh directory (or `directory`) and return its path."""
        if directory is None:
            self._count += 1
            directory = self.root / "workflows" / f"d{self._count}"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_text(source)
        return path

    async def load(self, source: str | Path, *, raw: bool = False, grant: Grant | None = None,
                   router: CapabilityRouter | None = None) -> LoadedWorkflow:
        """Load a workflow (source text or a file) granted what it declares, or `grant`."""
        path = source if isinstance(source, Path) else self.write(source)
        wf = await load_workflow(
            path, origin="file", env=self.raw_env if raw else self.env, router=router or self.router,
            grant_for=lambda m: grant or Grant(capabilities=frozenset(m.capabilities), source="test"),
        )
        self.pools.append(wf)
        return wf

    async def run(self, wf: LoadedWorkflow, *, timeout: float | None = None, event: Event | None = None,
                  invocation_id: str | None = None, **params: Any) -> InvocationResult:
        return await invoke(wf, event or Event(kind="manual"), overrides=params, timeout=timeout,
                            invocation_id=invocation_id)

    async def good(self) -> LoadedWorkflow:
        if self._good is None:
            self._good = await self.load(GOOD)
        return self._good

    async def healthy(self, *hostile: LoadedWorkflow) -> None:
        """The host survived: a good workflow works, each hostile one serves a benign run, no orphans."""
        good = await self.good()
        result = await self.run(good, invocation_id="inv-health-check")
        assert result.outcome == "ok", result.error
        assert [(f.title, f.workflow, f.invocation_id) for f in result.findings] == [
            ("healthy", "good", "inv-health-check")
        ]
        for wf in hostile:
            scope = sorted(wf.policy.granted.namespaces)
            event = Event(kind="manual", subject=Subject(kind="Pod", namespace=scope[0], name="p")) if scope else None
            again = await self.run(wf, evil=False, timeout=max(self.timeout, 10), event=event)
            assert again.outcome == "ok", again.error
            reported = [("clean", wf.name)] if "findings.report" in wf.policy.effective else []
            assert [(f.title, f.workflow) for f in again.findings] == reported
        await self.no_orphans()

    async def no_orphans(self, timeout: float = 10) -> None:
        """Every Deno process below us belongs to a live pool (restarts may still be settling)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            owned = {pid for arena in (self, *self.siblings) for wf in arena.pools for pid in wf.pool.worker_pids()}
            stray = deno_children() - owned
            if not stray:
                return
            if loop.time() > deadline:
                raise AssertionError(f"deno processes outside any pool: {sorted(stray)}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for wf in self.pools:
            await wf.pool.close(drain=False)
        self.pools.clear()


class ArenaFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.made: list[Arena] = []

    def __call__(self, *, router: CapabilityRouter | None = None, **sandbox: Any) -> Arena:
        root = self.tmp_path / f"arena{len(self.made)}"
        limits = {**LIMITS, **sandbox, "stateDir": str(root / "state")}
        config = make_config(root, sandbox=limits)
        raw = make_config(root, sandbox={**limits, "stateDir": str(root / "raw-state"), "sdkPath": str(RAW_SDK)})
        arena = Arena(root=root, config=config, env=SandboxEnv.from_config(config),
                      raw_env=SandboxEnv.from_config(raw), router=router or build_router(), siblings=self.made)
        self.made.append(arena)
        return arena


@pytest.fixture
async def arena_factory(tmp_path: Path) -> AsyncIterator[ArenaFactory]:
    """`arena_factory(maxHeapMb=512)`: an arena with some limits changed."""
    factory = ArenaFactory(tmp_path)
    yield factory
    for arena in factory.made:
        await arena.close()


@pytest.fixture
async def arena(arena_factory: ArenaFactory) -> Arena:
    return arena_factory()


@dataclass(frozen=True)
class Secrets:
    """Things no workflow may read: a file outside its directory, a fake service-account token, an env var."""

    file: Path
    file_text: str
    token: Path
    token_text: str
    env_name: str
    env_value: str

    @property
    def all(self) -> tuple[str, ...]:
        return (self.file_text, self.token_text, self.env_value)


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Secrets:
    marker = os.urandom(8).hex()
    outside = tmp_path / "outside"
    outside.mkdir()
    file = outside / "secret.txt"
    file.write_text(f"file-secret-{marker}")
    sa = tmp_path / "var" / "run" / "secrets" / "kubernetes.io" / "serviceaccount"
    sa.mkdir(parents=True)
    token = sa / "token"
    token.write_text(f"eyJhbGciOiJSUzI1NiJ9.token-secret-{marker}")
    # The host process carries this variable; no guest may see it (the child's env is scrubbed).
    monkeypatch.setenv("WFHOST_TEST_SECRET", f"env-secret-{marker}")
    return Secrets(file=file, file_text=f"file-secret-{marker}", token=token,
                   token_text=f"eyJhbGciOiJSUzI1NiJ9.token-secret-{marker}",
                   env_name="WFHOST_TEST_SECRET", env_value=f"env-secret-{marker}")
