"""CRUD semantics on top of the store: what the API server does between a request and etcd.

Create fills uid, creationTimestamp, generation and defaults, then validates; update and patch
check the resourceVersion precondition (a stale one is 409 Conflict), keep what the
subresource may not change, skip no-op writes (no new version, no watch event) and bump
`generation` when the spec changes; delete honours preconditions, finalizers and graceful
pod deletion (the kubelet finishes it); lists come from the current state or, for a
`continue` token or an exact resourceVersion, from the state at that version.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from host.localcluster import objects, resources, status
from host.localcluster.patch import apply_patch
from host.localcluster.resources import ResourceType
from host.localcluster.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from host.localcluster.store import Key, Obj, Store, Stored, encode
from host.localcluster.strategies import check_labels

_IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)
_EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter."
)


@dataclass(frozen=True, slots=True)
class ListQuery:
    label_selector: str | None = None
    field_selector: str | None = None
    limit: int | None = None
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[Stored]
    resource_version: int
    continue_token: str | None
    remaining: int | None


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None


def parse_rv(value: str | None) -> int | None:
    """A resourceVersion query value as a number; "" and None mean "unset"."""
    if value is None or value == "":
        return None
    try:
        parsed = int(value)
    except ValueError:
        raise status.bad_request(f"invalid resource version: {value!r}") from None
    if parsed < 0:
        raise status.bad_request(f"invalid resource version: {value!r}")
    return parsed


def encode_continue(rv: int, key: Key) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": rv, "start": f"{key[0]}/{key[1]}\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def decode_continue(token: str) -> tuple[int, Key]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv = int(data["rv"])
        namespace, _, name = str(data["start"]).rstrip("\x00").partition("/")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise status.bad_request(f"continue key is not valid: {exc}") from None
    return rv, (namespace, name)


class Registry:
    """The API semantics for every served resource type."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dry = False

    @contextlib.contextmanager
    def dry_run(self, enabled: bool = True) -> Iterator[None]:
        """Inside, writes are checked and answered as usual but nothing is stored (`dryRun=All`).

        Registry writes are synchronous, so on one event loop no other request sees the switch."""
        before, self._dry = self._dry, enabled
        try:
            yield
        finally:
            self._dry = before

    def _put(self, rt: ResourceType, key: Key, obj: Obj) -> Stored:
        if self._dry:
            current = self.store.get(rt.store_key, key)
            if current is not None:
                obj.setdefault("metadata", {})["resourceVersion"] = str(current.rv)
            return Stored(obj, encode(obj), current.rv if current is not None else 0)
        return self.store.put(rt.store_key, key, obj)

    def _remove(self, rt: ResourceType, key: Key, last: Obj | None = None) -> Stored | None:
        if self._dry:
            current = self.store.get(rt.store_key, key)
            if current is None:
                return None
            final = last if last is not None else current.copy()
            return Stored(final, encode(final), current.rv)
        return self.store.remove(rt.store_key, key, last)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def key(rt: ResourceType, namespace: str | None, name: str) -> Key:
        return (namespace or "", name) if rt.namespaced else ("", name)

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Stored:
        found = self.store.get(rt.store_key, self.key(rt, namespace, name))
        if found is None:
            raise status.not_found(rt.plural, name, rt.group)
        return found

    def require_namespace(self, namespace: str) -> None:
        if self.store.get(resources.NAMESPACES.store_key, ("", namespace)) is None:
            raise status.not_found("namespaces", namespace)

    def selectors(
        self, rt: ResourceType, label: str | None, field: str | None
    ) -> tuple[LabelSelector, FieldSelector]:
        return parse_label_selector(label), parse_field_selector(field, rt.fields, rt.field_label_error)

    def matches(self, rt: ResourceType, obj: Obj, label: LabelSelector, field: FieldSelector) -> bool:
        return label.matches(objects.labels(obj)) and field.matches(obj, rt.fields)

    # -- list ------------------------------------------------------------------------------

    def list_objects(self, rt: ResourceType, namespace: str | None, query: ListQuery) -> ListPage:
        label, field = self.selectors(rt, query.label_selector, query.field_selector)
        start: Key | None = None
        if query.continue_token:
            list_rv, start = decode_continue(query.continue_token)
            try:
                items = self.store.snapshot(rt.store_key, namespace, list_rv)
            except status.ApiError as exc:
                raise status.expired(_EXPIRED_CONTINUE) from exc
        else:
            requested = parse_rv(query.resource_version)
            if query.resource_version_match == "Exact" and requested is not None:
                items = self.store.snapshot(rt.store_key, namespace, requested)
                list_rv = requested
            else:
                items = self.store.items(rt.store_key, namespace)
                list_rv = self.store.current_rv
        selected = [
            stored
            for key, stored in items
            if (start is None or key > start) and self.matches(rt, stored.obj, label, field)
        ]
        limit = query.limit if query.limit and query.limit > 0 else None
        if limit is None or len(selected) <= limit:
            return ListPage(selected, list_rv, None, None)
        page = selected[:limit]
        last = page[-1].obj["metadata"]
        token = encode_continue(list_rv, self.key(rt, last.get("namespace"), last["name"]))
        remaining = len(selected) - limit if label.empty and field.empty else None
        return ListPage(page, list_rv, token, remaining)

    # -- create ----------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str | None, body: Any) -> Stored:
        obj = self._check_body(rt, body)
        meta = objects.meta(obj)
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            self.require_namespace(str(namespace))
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            for _ in range(8):
                candidate = objects.generated_name(str(meta["generateName"]))
                if self.store.get(rt.store_key, self.key(rt, namespace, candidate)) is None:
                    meta["name"] = candidate
                    break
        for field in (*_IMMUTABLE_META, "resourceVersion", "managedFields"):
            meta.pop(field, None)
        meta["uid"] = objects.new_uid()  # before the strategy: a Job's generated selector holds it
        rt.strategy.prepare_create(obj)
        causes = [*check_labels(obj), *rt.strategy.validate_create(obj)]
        if causes:
            raise status.invalid(rt.kind, str(meta.get("name", "")), causes, rt.group)
        key = self.key(rt, namespace, meta["name"])
        if self.store.get(rt.store_key, key) is not None:
            raise status.already_exists(rt.plural, meta["name"], rt.group)
        meta["creationTimestamp"] = objects.now()
        if rt.strategy.tracks_generation:
            meta["generation"] = 1
        return self._put(rt, key, obj)

    def _check_body(self, rt: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise status.bad_request("the request body must be a JSON object")
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        if kind not in (None, "", rt.kind) or api_version not in (None, "", rt.api_version):
            raise status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
                if api_version not in (None, "", rt.api_version)
                else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        obj: Obj = json.loads(json.dumps(body))
        obj["kind"] = rt.kind
        obj["apiVersion"] = rt.api_version
        return obj

    # -- update and patch ------------------------------------------------------------------

    def update(
        self, rt: ResourceType, namespace: str | None, name: str, body: Any, subresource: str | None = None
    ) -> Stored:
        old = self.get(rt, namespace, name)
        new = self._check_body(rt, body)
        meta = objects.meta(new)
        if meta.get("name") not in (None, name):
            raise status.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return self._commit(rt, old, new, subresource)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: Any,
        subresource: str | None = None,
        decode: Callable[[Obj], object] | None = None,
    ) -> Stored:
        """Patch the stored object; `decode` then sees (and may clean or refuse) the patched
        object, as the API server decodes it into its typed form."""
        old = self.get(rt, namespace, name)
        patched = apply_patch(patch_type, old.obj, body, rt.schema)
        if decode is not None:
            decode(patched)
        meta = objects.meta(patched)
        if meta.get("name") != name or (rt.namespaced and meta.get("namespace") != namespace):
            raise status.invalid(
                rt.kind, name, [("metadata.name", "FieldValueInvalid", "field is immutable")], rt.group
            )
        return self._commit(rt, old, patched, subresource)

    def _commit(self, rt: ResourceType, old: Stored, new: Obj, subresource: str | None) -> Stored:
        meta = objects.meta(new)
        name = str(old.obj["metadata"]["name"])
        requested_rv = meta.get("resourceVersion")
        if requested_rv not in (None, "") and str(requested_rv) != str(old.rv):
            raise status.stale(rt.plural, name, rt.group)
        old_meta = old.obj.get("metadata", {})
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = old_meta.get("namespace")
        for field in _IMMUTABLE_META:
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        new["kind"] = rt.kind
        new["apiVersion"] = rt.api_version
        strategy = rt.strategy
        if subresource == "status":
            strategy.prepare_status_update(new, old.obj)
            causes: list[tuple[str, str, str]] = []
        elif subresource == "ephemeralcontainers":
            new = strategy.prepare_ephemeral_update(new, old.obj)
            causes = strategy.validate_ephemeral_update(new, old.obj)
        elif subresource is None:
            strategy.prepare_update(new, old.obj)
            causes = [*check_labels(new), *strategy.validate_update(new, old.obj)]
        else:
            raise status.no_such_resource()
        if causes:
            raise status.invalid(rt.kind, name, causes, rt.group)
        return self._write(rt, old, new)

    def _write(self, rt: ResourceType, old: Stored, new: Obj) -> Stored:
        meta = objects.meta(new)
        if rt.strategy.tracks_generation and rt.strategy.spec_changed(new, old.obj):
            meta["generation"] = int(old.obj["metadata"].get("generation", 1)) + 1
        meta["resourceVersion"] = str(old.rv)
        if new == old.obj:
            return old
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and meta.get("deletionGracePeriodSeconds", 0) == 0
        ):
            removed = self._remove(rt, self._key_of(rt, new), new)
            assert removed is not None
            return removed
        return self._put(rt, self._key_of(rt, new), new)

    def _key_of(self, rt: ResourceType, obj: Obj) -> Key:
        meta = obj["metadata"]
        return self.key(rt, meta.get("namespace"), meta["name"])

    # -- delete ----------------------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str | None, name: str, options: DeleteOptions) -> Stored:
        old = self.get(rt, namespace, name)
        meta = old.obj.get("metadata", {})
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise status.conflict(
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {options.precondition_uid}, UID in object meta: {meta.get('uid')}",
                rt.group,
            )
        if options.precondition_rv and options.precondition_rv != str(old.rv):
            raise status.conflict(
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {options.precondition_rv}, "
                f"ResourceVersion in object meta: {old.rv}",
                rt.group,
            )
        if rt is resources.NAMESPACES and not self._dry:
            self._empty_namespace(name)
        grace = options.grace_period_seconds
        if grace is None:
            grace = (
                int(old.obj.get("spec", {}).get("terminationGracePeriodSeconds", 30))
                if rt is resources.PODS
                else 0
            )
        graceful = grace > 0 and rt is resources.PODS and _deletes_gracefully(old.obj)
        if meta.get("deletionTimestamp"):
            if graceful or meta.get("finalizers"):
                return old
            return self._remove_or_wait(rt, old)
        if graceful or meta.get("finalizers"):
            new = old.copy()
            new_meta = new["metadata"]
            new_meta["deletionTimestamp"] = (
                datetime.now(UTC) + timedelta(seconds=grace if graceful else 0)
            ).strftime("%Y-%m-%dT%H:%M:%SZ")
            new_meta["deletionGracePeriodSeconds"] = grace if graceful else 0
            if rt.strategy.tracks_generation:
                new_meta["generation"] = int(new_meta.get("generation", 1)) + 1
            return self._put(rt, self._key_of(rt, new), new)
        removed = self._remove(rt, self._key_of(rt, old.obj))
        assert removed is not None
        return removed

    def _remove_or_wait(self, rt: ResourceType, old: Stored) -> Stored:
        new = old.copy()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        return self._write(rt, old, new)

    def finish_graceful_delete(self, key: Key, uid: str) -> None:
        """The kubelet has stopped the pod's containers: delete it now (grace 0), unless finalizers remain."""
        current = self.store.get(resources.PODS.store_key, key)
        if current is None or current.uid != uid:
            return
        self._remove_or_wait(resources.PODS, current)

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, query: ListQuery, options: DeleteOptions
    ) -> list[Stored]:
        page = self.list_objects(rt, namespace, ListQuery(query.label_selector, query.field_selector))
        deleted: list[Stored] = []
        for stored in page.items:
            meta = stored.obj["metadata"]
            try:
                deleted.append(self.delete(rt, meta.get("namespace"), meta["name"], options))
            except status.ApiError as exc:
                if exc.code != 404:
                    raise
        return deleted

    def _empty_namespace(self, namespace: str) -> None:
        for rt in resources.ALL:
            if not rt.namespaced:
                continue
            for key, _ in self.store.items(rt.store_key, namespace):
                self.store.remove(rt.store_key, key)

    # -- writes by the control plane (scheduler, kubelet) ------------------------------------

    def mutate(self, rt: ResourceType, key: Key, uid: str, change: Callable[[Obj], None]) -> Stored | None:
        """Apply `change` to a copy of the object and store it, bypassing client rules; None if it is gone."""
        current = self.store.get(rt.store_key, key)
        if current is None or current.uid != uid:
            return None
        new = current.copy()
        change(new)
        return self._write(rt, current, new)


def _deletes_gracefully(pod: Obj) -> bool:
    """The API server's own rule: a pod bound to a node and not finished waits for its kubelet
    (deletionTimestamp set); an unbound or finished pod is removed at once."""
    return bool(pod.get("spec", {}).get("nodeName")) and pod.get("status", {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )
