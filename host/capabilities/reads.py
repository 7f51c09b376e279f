"""Which kinds a workflow may read: what it declares (`reads`) intersected with what it is granted.

Checked in the host on every `k8s.get`, `k8s.list` and every hop of `k8s.owners`, after the
`k8s.read` capability itself. The rules, in order:

1. `v1/Secret` is never readable, whatever is declared or granted.
2. Pods and core Events (`IMPLICIT`) come with `k8s.read`: the pod calls (`getPod`, `listPods`,
   `podLogs`, `events`) have always read them, so declaring them is optional.
3. Any other kind must be in the manifest's `reads` (exact `apiVersion/Kind`) *and* match the
   operator's grant (exact kinds or globs such as `apps/v1/*`; built-ins without a settings entry
   are granted what they declare, custom workflows `customWorkflows.typescript.defaultReads` unless
   their grant names `reads`).
4. ConfigMaps are readable as objects when rules 2-3 allow, but their `data` and `binaryData`
   only when the grant's `configMapData` names the ConfigMap (`namespace/name`, globs allowed);
   otherwise they are removed and `redacted_config_map` says so in an annotation.

A refusal is `CapabilityDenied` (the guest gets `CAPABILITY_DENIED`) naming the kind and the
missing declaration or grant.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from host.errors import CapabilityDenied

SECRET = "v1/Secret"
CONFIG_MAP = "v1/ConfigMap"
IMPLICIT = frozenset({"v1/Pod", "v1/Event"})
REDACTED_ANNOTATION = "wfhost.dev/redacted"


@dataclass(frozen=True)
class ReadGrant:
    """The operator's side: kind patterns and the ConfigMaps whose data is readable."""

    kinds: tuple[str, ...] = ()
    config_map_data: tuple[str, ...] = ()
    source: str = "default"

    def covers(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.kinds)


@dataclass(frozen=True)
class ReadPolicy:
    workflow: str
    declared: frozenset[str]
    granted: ReadGrant

    def check(self, key: str, *, method: str) -> None:
        """Raise `CapabilityDenied` unless this workflow may read objects of kind `key`."""
        data = {"capability": "k8s.read", "kind": key}
        if key == SECRET:
            raise CapabilityDenied(
                f"{method}: Secrets are never readable by workflows",
                {**data, "reason": "secret"},
            )
        if key in IMPLICIT:
            return
        if key not in self.declared:
            raise CapabilityDenied(
                f"{method}: {self.workflow} does not declare reads of {key}; add {key!r} to its manifest's reads",
                {**data, "reason": "not_declared"},
            )
        if not self.granted.covers(key):
            raise CapabilityDenied(
                f"{method}: the operator has not granted {self.workflow} reads of {key} "
                f"(grant: {self.granted.source}; add it to the grant's reads)",
                {**data, "reason": "not_granted"},
            )

    def readable(self, key: str) -> bool:
        try:
            self.check(key, method="read")
        except CapabilityDenied:
            return False
        return True

    def config_map_data_allowed(self, namespace: str | None, name: str) -> bool:
        ref = f"{namespace or ''}/{name}"
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.granted.config_map_data)

    def visible(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` as this workflow may see it (ConfigMap data removed unless granted by name)."""
        if key != CONFIG_MAP:
            return obj
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        if self.config_map_data_allowed(meta.get("namespace"), str(meta.get("name") or "")):
            return obj
        hidden = [k for k in ("data", "binaryData") if k in obj]
        if not hidden:
            return obj
        annotations = {**(meta.get("annotations") or {}), REDACTED_ANNOTATION: ",".join(hidden)}
        visible = {k: v for k, v in obj.items() if k not in hidden}
        visible["metadata"] = {**meta, "annotations": annotations}
        return visible


def read_grant(kinds: Iterable[str], config_map_data: Iterable[str] = (), *, source: str) -> ReadGrant:
    return ReadGrant(kinds=tuple(kinds), config_map_data=tuple(config_map_data), source=source)
