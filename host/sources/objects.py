"""Objects of any kind -> events that carry the full object (`event.object`, `event.oldObject`).

`ObjectDigest` follows one kind through an `ObjectTracker` whose classifiers say what a change
means: the generic `k8s.create/update/delete` (`host.sources.changes`) and, for Jobs, Nodes and
Deployments, the semantic events of `host.sources.semantic`. Only the kinds of event some trigger
wants leave the digest (`wants`). Objects are sent as the API server sent them, minus
`metadata.managedFields` (bookkeeping of server-side apply that kubectl hides too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from host.model.events import Event, Subject
from host.model.resources import Resource
from host.sources.classify import Derived
from host.sources.guard import guarded
from host.sources.tracker import Change, Classifier, ObjectTracker

Obj = dict[str, Any]


def without_managed_fields(obj: Obj) -> Obj:
    """`obj` without `metadata.managedFields` (a shallow copy when there were some)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def object_subject(resource: Resource, obj: Obj) -> Subject:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    namespace, name, uid = meta.get("namespace"), meta.get("name"), meta.get("uid")
    return Subject(
        kind=resource.kind,
        namespace=(namespace or None) if resource.namespaced and isinstance(namespace, str) else None,
        name=name if isinstance(name, str) else "",
        uid=(uid or None) if isinstance(uid, str) else None,
    )


def object_event(resource: Resource, derived: Derived, obj: Obj, old: Obj | None, **extra: Any) -> Event:
    """The `Event` for one classified change of an object of `resource`."""
    return Event(
        kind=derived.kind,
        subject=object_subject(resource, obj),
        resource=resource.key,
        object=without_managed_fields(obj),
        old_object=without_managed_fields(old)
        if old is not None and derived.kind.endswith(".update")
        else None,
        changes=list(derived.changes) if derived.changes is not None else None,
        container=derived.container,
        reason=derived.reason,
        message=derived.message,
        restart_count=derived.restart_count,
        **extra,
    )


class ObjectDigest:
    """Any kind through a tracker: each change classified once, wanted events out."""

    def __init__(
        self,
        resource: Resource,
        classifiers: Sequence[Classifier],
        *,
        wants: Callable[[str], bool] = lambda kind: True,
    ) -> None:
        self.resource = resource
        self.tracker = ObjectTracker(classifiers)
        self.wants = wants

    def _events(self, changes: list[Change]) -> list[Event]:
        return [
            object_event(self.resource, change.derived, change.obj, change.old)
            for change in changes
            if self.wants(change.derived.kind)
        ]

    def relist(self, items: list[Obj], *, namespace: str | None, baseline: bool) -> list[Event]:
        return guarded(self.resource.key, "relist", {"metadata": {"namespace": namespace}},
                       lambda: self._events(self.tracker.relist(items, namespace=namespace, baseline=baseline)))

    def apply(self, kind: str, obj: Obj) -> list[Event]:
        return guarded(self.resource.key, kind, obj, lambda: self._events(self.tracker.apply(kind, obj)))

    def tick(self, now: float) -> list[Event]:
        return []
