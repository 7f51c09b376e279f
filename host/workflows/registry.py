"""The registry: every workflow file in the configured directories, loaded, watched and hot-reloaded.

A changed file is validated (snapshot, module graph, a worker answering `initialize` with a
valid manifest, params from config) before it replaces the running version; a broken version
leaves the last good one serving, with its error kept in the file's status. A deleted file is
unloaded. Any change in a directory triggers a rescan of that whole directory, compared by
content digest: that is what makes a ConfigMap volume's atomic `..data` symlink swap work,
since the files' own paths never change there. Only the workflows whose own module graph (the
file and the local modules it imports, `PreparedWorkflow.graph`) reads differently are reloaded:
editing one of a hundred files restarts one workflow, editing a shared `_helpers.ts` restarts
the ones that import it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import structlog
import watchfiles

from host.capabilities.policy import Grant, custom_grant, declared_grant
from host.capabilities.reads import read_grant
from host.capabilities.router import CapabilityRouter
from host.config import HostConfig
from host.errors import WfhostError, WorkflowRefused
from host.model.events import utcnow
from host.model.manifest import Manifest
from host.sandbox.prepare import SandboxEnv, graph_digest
from host.sandbox.snapshot import DirScan, scan_directory
from host.workflows.builtins import builtin_settings
from host.workflows.loaded import LoadedWorkflow, Origin, is_workflow_file
from host.workflows.loader import load_workflow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkflowDir:
    path: Path
    origin: Origin


@dataclass
class FileStatus:
    path: Path
    origin: Origin
    workflow: LoadedWorkflow | None = None
    error: str | None = None
    tried_digest: str | None = None
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def state(self) -> str:
        if self.workflow is None:
            return "error" if self.error else "pending"
        return "degraded" if self.error else "loaded"


Listener = Callable[[], None]


class Registry:
    def __init__(self, *, env: SandboxEnv, router: CapabilityRouter, config: HostConfig, dirs: list[WorkflowDir]) -> None:
        self.env = env
        self.router = router
        self.config = config
        self.dirs = dirs
        self._files: dict[Path, FileStatus] = {}
        self._lock = asyncio.Lock()
        self._watch_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._listeners: list[Listener] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self.reloads = 0
        self.kept = 0  # workflows an edit elsewhere in their directory left running

    # -- queries ----------------------------------------------------------------------------
    def workflows(self) -> list[LoadedWorkflow]:
        return [s.workflow for s in self._files.values() if s.workflow is not None]

    def get(self, name: str) -> LoadedWorkflow | None:
        return next((w for w in self.workflows() if w.name == name), None)

    def statuses(self) -> list[FileStatus]:
        return sorted(self._files.values(), key=lambda s: str(s.path))

    def status_of(self, path: Path) -> FileStatus | None:
        return self._files.get(path)

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self, *, watch: bool = True) -> None:
        for d in self.dirs:
            await self.rescan(d)
        if watch:
            ready = asyncio.Event()
            self._watch_task = asyncio.create_task(self._watch(ready), name="registry-watch")
            await ready.wait()

    async def stop(self) -> None:
        self._stop.set()
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        for status in self._files.values():
            if status.workflow is not None:
                await status.workflow.pool.close(drain=False)
                status.workflow = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _watch(self, ready: asyncio.Event) -> None:
        paths = [d.path for d in self.dirs if d.path.is_dir()]
        if not paths:
            ready.set()
            return
        by_path = {d.path.resolve(): d for d in self.dirs}
        prefixes = [(root, d.path.absolute()) for root, d in by_path.items()]
        watcher = watchfiles.awatch(
            *paths, watch_filter=None, debounce=200, step=50, stop_event=self._stop, recursive=True,
            yield_on_timeout=True, rust_timeout=500,
        )
        ready.set()
        async for changes in watcher:
            if not changes:
                continue
            touched: set[Path] = set()
            for _, raw in changes:
                p = Path(raw)
                for root, given in prefixes:
                    if p.is_relative_to(root) or p.is_relative_to(given):
                        touched.add(root)
            for root in touched:
                log.info("registry.change_seen", directory=str(root))
                try:
                    await self.rescan(by_path[root])
                except Exception:  # the watch loop must survive anything one rescan does; logged
                    log.exception("registry.rescan_failed", directory=str(root))

    # -- loading ----------------------------------------------------------------------------
    async def rescan(self, d: WorkflowDir) -> None:
        """Bring every workflow file in `d` up to date with what is on disk now.

        Listing and reading run in a thread (a directory may be large); whatever the directory
        holds or does meanwhile ends as a refusal of its workflows, never as an error here.
        """
        async with self._lock:
            listed = await asyncio.to_thread(self._workflow_files, d)
            if isinstance(listed, WorkflowRefused):
                for path in [p for p, s in self._files.items() if s.origin == d.origin and p.parent == d.path]:
                    self._fail(path, d.origin, listed.reason, digest=None)
                return
            present = listed
            for path in [p for p, s in self._files.items() if s.origin == d.origin and p.parent == d.path]:
                if path not in present:
                    await self._unload(path)
            if not present:
                return
            try:
                scan = await asyncio.to_thread(scan_directory, d.path, caps=self.env.scan_caps)
            except WorkflowRefused as exc:
                for path in present:
                    self._fail(path, d.origin, exc.reason, digest=None)
                return
            changed = False
            for path in present:
                status = self._files.get(path)
                if status is not None and status.tried_digest == scan.digest:
                    continue
                if status is not None and self._unchanged(status, scan):
                    status.tried_digest = scan.digest  # an edit elsewhere in the directory: keep it running
                    self.kept += 1
                    continue
                changed |= await self._load(path, d.origin, scan)
            if changed:
                self._notify()

    @staticmethod
    def _unchanged(status: FileStatus, scan: DirScan) -> bool:
        """A loaded, healthy workflow whose own module graph reads the same in this scan.

        A directory's digest changes with any file in it; a workflow's version is what its graph
        reaches (its file and the local modules it imports). A workflow whose last try failed is
        tried again, as before: its failed version's graph is not known."""
        workflow = status.workflow
        if workflow is None or status.error is not None:
            return False
        prepared = workflow.pool.prepared
        return bool(prepared.modules) and graph_digest(scan.files, prepared.modules) == prepared.graph

    def _workflow_files(self, d: WorkflowDir) -> list[Path] | WorkflowRefused:
        """The workflow files in `d` (run in a thread); listing stops one entry past the cap."""
        cap = self.env.caps.max_files_per_directory
        names: list[str] = []
        try:
            if not d.path.is_dir():
                return []
            with os.scandir(d.path) as it:
                for count, item in enumerate(it, start=1):
                    if count > cap:
                        return WorkflowRefused(str(d.path), f"holds more than {cap} files and folders")
                    names.append(item.name)
        except OSError as exc:
            return WorkflowRefused(str(d.path), f"cannot list the workflow directory: {exc.strerror}")
        files = []
        for name in sorted(names):
            entry = d.path / name
            if not is_workflow_file(entry) or len(name) > self.env.caps.max_name_length:
                continue
            try:
                if not entry.is_file():
                    continue
            except OSError:
                continue
            if d.origin == "builtin":
                settings = builtin_settings(self.config, entry.stem)
                if settings is not None and not settings.enabled:
                    continue
            files.append(entry)
        return files

    def _grant_for(self, origin: Origin, path: Path, manifest: Manifest) -> Grant:
        if origin == "builtin":
            settings = builtin_settings(self.config, path.stem)
            if settings is not None:
                # A built-in may do what it declares: its code ships with the host, and the chart's
                # RBAC grants exactly what the enabled built-ins declare (host.workflows.builtins).
                return replace(
                    settings.grant, capabilities=frozenset(manifest.capabilities),
                    reads=read_grant(manifest.reads, source=settings.config_key),
                )
            return declared_grant(manifest, source="builtin")
        if origin == "file":
            return declared_grant(manifest, source="local file (invoke)")
        root = self.config.custom_workflows.typescript.volume.mount_path
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        return custom_grant(self.config, manifest.name, file=rel)

    async def _load(self, path: Path, origin: Origin, scan: DirScan) -> bool:
        status = self._files.setdefault(path, FileStatus(path=path, origin=origin))
        status.tried_digest = scan.digest

        def check_name(manifest: Manifest) -> None:
            clash = next((w for w in self.workflows() if w.name == manifest.name and w.source != path), None)
            if clash is not None:
                raise WorkflowRefused(str(path), f"workflow name {manifest.name!r} is already used by {clash.source}")

        try:
            loaded = await load_workflow(
                path, origin=origin, env=self.env, router=self.router, scan=scan, check_name=check_name,
                grant_for=lambda manifest: self._grant_for(origin, path, manifest),
            )
        except WfhostError as exc:
            reason = exc.reason if isinstance(exc, WorkflowRefused) else str(exc)
            self._fail(path, origin, reason, digest=scan.digest)
            return False
        except Exception as exc:  # the boundary: whatever a version does refuses it, never the host; logged
            log.exception("registry.load_failed", file=str(path))
            self._fail(path, origin, f"could not be loaded ({type(exc).__name__})", digest=scan.digest)
            return False
        old = status.workflow
        status.workflow = loaded
        status.error = None
        status.updated_at = utcnow()
        self.reloads += 1
        log.info("registry.workflow_loaded", workflow=loaded.name, file=str(path), version=loaded.version,
                 replaced=old is not None, origin=origin)
        if old is not None:
            self._retire(old)
        return True

    def _fail(self, path: Path, origin: Origin, reason: str, *, digest: str | None) -> None:
        status = self._files.setdefault(path, FileStatus(path=path, origin=origin))
        status.error = reason
        status.tried_digest = digest
        status.updated_at = utcnow()
        log.error("registry.workflow_refused", file=str(path), error=reason,
                  still_serving=status.workflow.version if status.workflow else None)

    def _retire(self, old: LoadedWorkflow) -> None:
        task = asyncio.create_task(old.pool.close(drain=True), name=f"retire:{old.name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _unload(self, path: Path) -> None:
        status = self._files.pop(path, None)
        if status is not None and status.workflow is not None:
            log.info("registry.workflow_unloaded", workflow=status.workflow.name, file=str(path))
            self._retire(status.workflow)
            self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # one bad listener must not stop the others; logged with its traceback
                log.exception("registry.listener_failed")
