"""Operator grants for custom workflows: by name glob, by file glob, first match wins, default otherwise."""

from __future__ import annotations

from pathlib import Path

from host.capabilities.router import CapabilityRouter
from host.sandbox.prepare import SandboxEnv
from host.workflows.registry import Registry, WorkflowDir
from tests.conftest import make_config, simple_workflow

CAPS = '"k8s.read", "findings.report", "debug.pythonProfile"'


async def test_a_grant_bound_to_a_file_cannot_be_claimed_by_picking_a_name(tmp_path: Path, router: CapabilityRouter) -> None:
    d = tmp_path / "custom"
    d.mkdir()
    (d / "team-a-profiler.ts").write_text(simple_workflow("team-a-profiler", caps=CAPS))
    # Another team's file declares a name that would match a name-based grant for team A.
    (d / "team-b.ts").write_text(simple_workflow("team-a-impostor", caps=CAPS))
    (d / "ops.ts").write_text(simple_workflow("ops-report", caps=CAPS))
    config = make_config(tmp_path, customWorkflows={"typescript": {
        "enabled": True, "volume": {"mountPath": str(d)},
        "grants": [
            {"file": "team-a-*.ts", "capabilities": ["k8s.read", "findings.report", "debug.pythonProfile"],
             "namespaces": ["team-a"]},
            {"workflow": "ops-*", "capabilities": ["findings.report"]},
        ],
    }})
    reg = Registry(env=SandboxEnv.from_config(config), router=router, config=config, dirs=[WorkflowDir(d, "custom")])
    await reg.start(watch=False)
    try:
        a, impostor, ops = reg.get("team-a-profiler"), reg.get("team-a-impostor"), reg.get("ops-report")
        assert a is not None and impostor is not None and ops is not None
        assert a.policy.effective == {"k8s.read", "findings.report", "debug.pythonProfile"}
        assert a.policy.granted.namespaces == {"team-a"}
        assert impostor.policy.effective == {"k8s.read", "findings.report"}  # the default grant only
        assert "defaultCapabilities" in impostor.policy.granted.source
        assert ops.policy.effective == {"findings.report"}
    finally:
        await reg.stop()
