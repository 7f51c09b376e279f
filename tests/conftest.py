"""Fixtures shared by the whole suite: a sandbox environment in a temp dir, workflow files, loaders."""

from __future__ import annotations

import functools
import shutil
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from host.agent import kernel_probe
from host.capabilities.policy import declared_grant
from host.capabilities.router import CapabilityRouter
from host.capabilities.routes import build_router
from host.config import HostConfig, parse_config
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.logs import configure_logging
from host.sandbox.prepare import SandboxEnv
from host.workflows.loaded import LoadedWorkflow
from host.workflows.loader import load_workflow

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def gdb_call_refusal() -> str | None:
    """Why gdb cannot call into a process here (the agent's own probe), or None when it can.

    Only the kernel's refusal to restore registers counts: a missing gdb or any other failure
    returns None, so the tests run and fail with their own message."""
    if shutil.which("gdb") is None:
        return None
    words = kernel_probe.refusal()
    return None if words is None else f"this machine's kernel refuses gdb's register writes ({words})"


@pytest.fixture(autouse=True)
def _needs_gdb_calls(request: pytest.FixtureRequest) -> None:
    """Tests marked `gdb_call` inject code with gdb; skipped, with the kernel's reason, where it cannot."""
    if request.node.get_closest_marker("gdb_call") is not None and (why := gdb_call_refusal()) is not None:
        pytest.skip(why)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[KubernetesControlPlane]:
    """One real control plane (etcd, kube-apiserver, controller-manager, scheduler, our node) per
    session. It never skips: when Go is missing or it does not come up, the tests that need it fail."""
    from tests.clusters import start_control_plane

    plane = start_control_plane()
    try:
        yield plane
    finally:
        plane.stop()

configure_logging(format="console", level="warning")


def make_config(tmp_path: Path, **sections: object) -> HostConfig:
    data: dict[str, object] = {"sandbox": {"stateDir": str(tmp_path / "state")}}
    for key, value in sections.items():
        if key == "sandbox" and isinstance(value, dict):
            data["sandbox"] = {**data["sandbox"], **value}  # type: ignore[dict-item]
        else:
            data[key] = value
    return parse_config(data)


@pytest.fixture
def config(tmp_path: Path) -> HostConfig:
    return make_config(tmp_path, sandbox={"invocationTimeoutSeconds": 10, "restartBackoff": {"initialSeconds": 0.05, "maxSeconds": 0.4}})


@pytest.fixture
def env(config: HostConfig) -> SandboxEnv:
    return SandboxEnv.from_config(config)


@pytest.fixture
def router() -> CapabilityRouter:
    return build_router()


WriteWorkflow = Callable[..., Path]


@pytest.fixture
def write_workflow(tmp_path: Path) -> WriteWorkflow:
    """Write `source` (dedented) to `<tmp>/workflows/<name>` (or `directory`) and return the path."""

    def write(name: str, source: str, *, directory: Path | None = None) -> Path:
        d = directory or tmp_path / "workflows"
        d.mkdir(parents=True, exist_ok=True)
        path = d / name
        path.write_text(textwrap.dedent(source).lstrip())
        return path

    return write


def simple_workflow(name: str, body: str = "await ctx.report({ title: 'hi' });", *, caps: str = '"findings.report"',
                    params: str = "{}") -> str:
    return f"""
    import {{ defineWorkflow }} from "@wfhost/sdk";
    export default defineWorkflow({{
      name: "{name}",
      triggers: [{{ on: "manual" }}],
      capabilities: [{caps}],
      params: {params},
      async run(ctx, event) {{
        {body}
      }},
    }});
    """


Loader = Callable[[Path], "AsyncIterator[LoadedWorkflow]"]


@pytest.fixture
async def loaded(env: SandboxEnv, router: CapabilityRouter) -> AsyncIterator[Callable[[Path], object]]:
    """`wf = await loaded(path)` loads with exactly the declared capabilities; pools are closed afterwards."""
    pools: list[LoadedWorkflow] = []

    async def load(path: Path) -> LoadedWorkflow:
        wf = await load_workflow(
            path, origin="file", env=env, router=router,
            grant_for=lambda m: declared_grant(m, source="test"),
        )
        pools.append(wf)
        return wf

    yield load
    for wf in pools:
        await wf.pool.close(drain=False)
