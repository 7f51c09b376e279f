"""Per-kind rules applied by the registry: defaults on create, validation, what an update may change.

This mirrors the API server's "registry strategies". The base `Strategy` covers kinds whose
whole object is writable (events, leases); kinds with a `status` subresource keep status out of
main-resource updates and keep everything but status out of status updates. Pods have their
own, larger strategy in `host.localcluster.pods`; the kinds stored without a controller
(workloads, config, networking) theirs in `host.localcluster.kinds`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from host.localcluster import status

Obj = dict[str, Any]
Cause = tuple[str, str, str]  # (field, reason, message) as in StatusCause

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
DNS_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)


def required(field: str) -> Cause:
    return (field, "FieldValueRequired", "Required value")


def go_value(value: Any) -> str:
    """A value as the API server prints it in `Invalid value: ...`: JSON, compact."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def invalid_value(field: str, value: Any, why: str) -> Cause:
    return (field, "FieldValueInvalid", f"Invalid value: {go_value(value)}: {why}")


def forbidden(field: str, why: str) -> Cause:
    return (field, "FieldValueForbidden", f"Forbidden: {why}")


def check_subdomain(field: str, value: Any) -> list[Cause]:
    if not isinstance(value, str) or not value:
        return [required(field)]
    if len(value) > 253 or not DNS_SUBDOMAIN.match(value):
        return [invalid_value(field, value, DNS_SUBDOMAIN_MESSAGE)]
    return []


def check_label(field: str, value: Any) -> list[Cause]:
    if not isinstance(value, str) or not value:
        return [required(field)]
    if len(value) > 63 or not DNS_LABEL.match(value):
        return [invalid_value(field, value, DNS_LABEL_MESSAGE)]
    return []


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
LABEL_KEY_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _quoted(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def check_labels(obj: Obj) -> list[Cause]:
    """metadata.labels as the API server validates them: qualified-name keys, label values."""
    labels = obj.get("metadata", {}).get("labels")
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [invalid_value("metadata.labels", labels, "must be a map of strings")]
    causes: list[Cause] = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (
            not name
            or len(name) > 63
            or not _LABEL_VALUE.match(name)
            or (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)))
        ):
            causes.append(
                (
                    "metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: {_quoted(key)}: {LABEL_KEY_MESSAGE}",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    "metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: {_quoted(value)}: {LABEL_VALUE_MESSAGE}",
                )
            )
    return causes


class Strategy:
    """Rules for a kind without a status subresource: everything is writable."""

    has_status = False
    tracks_generation = False
    # Metadata a status write may not change (the stand-in's older kinds keep all of these; the
    # real server keeps fewer, see `host.localcluster.kinds`).
    status_keeps_metadata: tuple[str, ...] = (
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        "deletionTimestamp",
    )

    def prepare_create(self, obj: Obj) -> None:
        """Fill in defaults and clear fields a client may not set."""

    def validate(self, obj: Obj) -> list[Cause]:
        """Causes that make the object invalid (empty when valid)."""
        return check_subdomain("metadata.name", obj.get("metadata", {}).get("name"))

    def validate_create(self, obj: Obj) -> list[Cause]:
        return self.validate(obj)

    def prepare_update(self, new: Obj, old: Obj) -> None:
        """Adjust a main-resource update (e.g. keep the old status)."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new)

    def prepare_status_update(self, new: Obj, old: Obj) -> None:
        """A status update changes status only."""
        for key in list(new):
            if key not in ("status", "metadata", "kind", "apiVersion"):
                del new[key]
        for key, value in old.items():
            if key not in ("status", "metadata"):
                new[key] = value
        new_meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata", {})
        for key in self.status_keeps_metadata:
            if key in old_meta:
                new_meta[key] = old_meta[key]
            else:
                new_meta.pop(key, None)

    def prepare_ephemeral_update(self, new: Obj, old: Obj) -> Obj:
        """Only pods have an `ephemeralcontainers` subresource."""
        raise status.no_such_resource()

    def validate_ephemeral_update(self, new: Obj, old: Obj) -> list[Cause]:
        raise status.no_such_resource()

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(new.get("spec") != old.get("spec"))


class NamespaceStrategy(Strategy):
    has_status = True

    def prepare_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def validate(self, obj: Obj) -> list[Cause]:
        return check_label("metadata.name", obj.get("metadata", {}).get("name"))


class NodeStrategy(Strategy):
    has_status = True


class EventStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        causes = check_subdomain("metadata.name", obj.get("metadata", {}).get("name"))
        involved = obj.get("involvedObject")
        if not isinstance(involved, dict):
            causes.append(required("involvedObject"))
        else:
            namespace = obj.get("metadata", {}).get("namespace", "")
            involved_ns = involved.get("namespace")
            if involved_ns and involved_ns != namespace:
                causes.append(
                    invalid_value("involvedObject.namespace", involved_ns, "does not match event.namespace")
                )
        if obj.get("type") not in (None, "", "Normal", "Warning"):
            causes.append(invalid_value("type", obj.get("type"), 'supported values: "Normal", "Warning"'))
        return causes


class LeaseStrategy(Strategy):
    tracks_generation = False

    def validate(self, obj: Obj) -> list[Cause]:
        causes = check_subdomain("metadata.name", obj.get("metadata", {}).get("name"))
        spec = obj.get("spec") or {}
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            causes.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
        transitions = spec.get("leaseTransitions")
        if transitions is not None and (not isinstance(transitions, int) or transitions < 0):
            causes.append(
                invalid_value("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
            )
        return causes
