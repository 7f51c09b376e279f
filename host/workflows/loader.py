"""Load one workflow file: prepare it, start its first worker, check its manifest and config params."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from host.capabilities.policy import Grant, Policy
from host.capabilities.router import CapabilityRouter
from host.errors import CapabilityDenied, WorkflowRefused
from host.model.manifest import Manifest, TriggerSpec, resolve_params
from host.sandbox.prepare import SandboxEnv, prepare
from host.sandbox.snapshot import DirScan
from host.sandbox.supervisor import WorkerPool
from host.sources.demand import FEED_OF_KIND
from host.triggers.index import TriggerError, check_triggers
from host.workflows.loaded import LoadedWorkflow, Origin

GrantFor = Callable[[Manifest], Grant]
NameCheck = Callable[[Manifest], None]


async def load_workflow(
    path: Path,
    *,
    origin: Origin,
    env: SandboxEnv,
    router: CapabilityRouter,
    grant_for: GrantFor,
    check_name: NameCheck | None = None,
    scan: DirScan | None = None,
) -> LoadedWorkflow:
    """Raise `WorkflowRefused` (or another `WfhostError`) if any step fails; nothing is left running then."""
    prepared = await prepare(path, env, scan=scan)
    pool = WorkerPool(prepared, env, router, size=env.limits.concurrency_per_workflow, label=path.stem)
    try:
        manifest = await pool.start_first()
        if check_name is not None:
            check_name(manifest)
        grant = grant_for(manifest)
        try:
            resolve_params(manifest, grant.params)
        except ValueError as exc:
            raise WorkflowRefused(str(path), f"params from config ({grant.source}): {exc}") from exc
        try:
            check_triggers(manifest.triggers, env.caps)
            check_triggers([TriggerSpec.model_validate(t.model_dump()) for t in grant.triggers], env.caps)
        except TriggerError as exc:
            raise WorkflowRefused(str(path), f"invalid manifest: {exc}") from exc
    except BaseException:
        await pool.close(drain=False)
        raise
    pool.label = manifest.name
    policy = Policy(
        workflow=manifest.name, declared=frozenset(manifest.capabilities), granted=grant,
        declared_reads=frozenset(manifest.reads),
    )
    loaded = LoadedWorkflow(
        name=manifest.name, source=path, origin=origin, manifest=manifest, pool=pool,
        policy=policy, config_params=dict(grant.params), extra_triggers=list(grant.triggers),
    )
    try:
        check_trigger_reads(loaded.triggers, policy)
    except CapabilityDenied as err:
        await pool.close(drain=False)
        raise WorkflowRefused(str(path), f"invalid manifest: {err}") from err
    return loaded


def check_trigger_reads(triggers: list[TriggerSpec], policy: Policy) -> None:
    """A trigger hands the workflow the objects of a kind: a change trigger those of its
    `resource`, a semantic one those its feed watches (`job.failed` Jobs, `node.*` Nodes,
    `deployment.rolloutStuck` Deployments). Each needs reads of that kind, as `k8s.get` would
    (pods and events come with every workflow). Raises the `CapabilityDenied` the read would."""
    for i, spec in enumerate(triggers):
        kind = spec.resource if spec.resource is not None else FEED_OF_KIND.get(spec.on)
        if kind is None:
            continue
        policy.reads.check(kind, method=f"triggers[{i}] ({spec.on}" + (f" of {kind})" if spec.resource else ")"))
