"""The three patch formats a Kubernetes client sends: JSON patch, JSON merge patch, strategic merge.

Strategic merge patch needs to know, per list, whether it is merged by a key (`containers` by
`name`, `ownerReferences` by `uid`, ...), merged as a set of primitives (`finalizers`) or
replaced whole (everything else, including `status.containerStatuses`, which the real schema
marks atomic). `MergeSchema` carries that knowledge; `host.localcluster.schemas` holds the
schemas of the kinds we serve, taken from the Kubernetes OpenAPI definitions.

Supported directives: `$patch: replace|delete|merge` (in maps and list items),
`$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from host.localcluster import status

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)


@dataclass(frozen=True)
class MergeSchema:
    """How strategic merge treats one field and what lies below it."""

    fields: Mapping[str, MergeSchema] = field(default_factory=dict)
    merge_key: str | None = None  # a list of maps merged by this key
    set_list: bool = False  # a list of primitives merged as a set

    def child(self, name: str) -> MergeSchema:
        return self.fields.get(name, OPAQUE)


OPAQUE = MergeSchema()


def apply_patch(patch_type: str, original: dict[str, Any], body: Any, schema: MergeSchema) -> dict[str, Any]:
    """Apply a patch of `patch_type` to a copy of `original`; malformed patches raise ApiError."""
    if patch_type == JSON_PATCH:
        if not isinstance(body, list):
            raise status.bad_request("json patch must be a list of operations")
        result: Any = json_patch(copy.deepcopy(original), body)
    elif patch_type == MERGE_PATCH:
        if not isinstance(body, dict):
            raise status.bad_request("merge patch must be a JSON object")
        result = merge_patch(copy.deepcopy(original), body)
    elif patch_type == STRATEGIC_MERGE_PATCH:
        if not isinstance(body, dict):
            raise status.bad_request("strategic merge patch must be a JSON object")
        result = strategic_merge(original, body, schema)
    else:
        raise status.unsupported_media_type(patch_type)
    if not isinstance(result, dict):
        raise status.bad_request("the patch did not produce an object")
    return result


# -- RFC 7386 JSON merge patch ------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- RFC 6902 JSON patch ------------------------------------------------------------------


def _invalid_patch(message: str) -> status.ApiError:
    return status.ApiError(
        422, "Invalid", f"the server rejected our request due to an error in our request: {message}"
    )


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise status.bad_request(f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node:
                raise _invalid_patch(f"missing path component {part!r}")
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, allow_end=False)]
        else:
            raise _invalid_patch(f"cannot descend into {part!r}")
    return node


def _index(items: list[Any], part: str, *, allow_end: bool) -> int:
    if allow_end and part == "-":
        return len(items)
    if not part.isdigit():
        raise _invalid_patch(f"invalid array index {part!r}")
    index = int(part)
    limit = len(items) if allow_end else len(items) - 1
    if index > limit:
        raise _invalid_patch(f"array index {index} out of bounds")
    return index


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _invalid_patch(f"path {'/' + '/'.join(parts)!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise _invalid_patch("cannot index a scalar")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _invalid_patch("cannot add to a scalar")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise _invalid_patch("cannot remove the whole document")
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _invalid_patch(f"path {'/' + '/'.join(parts)!r} does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, allow_end=False))
    raise _invalid_patch("cannot remove from a scalar")


def json_patch(doc: Any, operations: list[Any]) -> Any:
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise status.bad_request(f"invalid JSON patch operation {op!r}")
        kind = op["op"]
        path = _pointer(op.get("path"))
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            if not path:
                doc = copy.deepcopy(op.get("value"))
                continue
            _get(doc, path)
            parent = _parent(doc, path)
            if isinstance(parent, dict):
                parent[path[-1]] = copy.deepcopy(op.get("value"))
            else:
                parent[_index(parent, path[-1], allow_end=False)] = copy.deepcopy(op.get("value"))
        elif kind == "move":
            source = _pointer(op.get("from"))
            value = _remove(doc, source)
            doc = _add(doc, path, value)
        elif kind == "copy":
            value = copy.deepcopy(_get(doc, _pointer(op.get("from"))))
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise _invalid_patch(f"testing value {op.get('path')} failed")
        else:
            raise status.bad_request(f"unknown JSON patch operation {kind!r}")
    return doc


# -- strategic merge patch ----------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], schema: MergeSchema) -> dict[str, Any]:
    merged = _merge_map(copy.deepcopy(original), patch, schema)
    return merged if merged is not None else {}


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: MergeSchema) -> dict[str, Any] | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise status.bad_request(f"unknown patch directive {directive!r}")
    retain = patch.get(_RETAIN)
    if retain is not None:
        if not isinstance(retain, list):
            raise status.bad_request("$retainKeys must be a list")
        for key in list(original):
            if key not in retain:
                del original[key]
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            if isinstance(value, list):
                orders[key[len(_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field_name = key[len(_DELETE_PRIMITIVE) :]
            current = original.get(field_name)
            if isinstance(current, list) and isinstance(value, list):
                original[field_name] = [item for item in current if item not in value]
            continue
        if value is None:
            original.pop(key, None)
            continue
        child = schema.child(key)
        current = original.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged = _merge_map(current, value, child)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, dict):
            if value.get(_DIRECTIVE) == "delete":
                original.pop(key, None)
            else:
                original[key] = _strip_directives(value)
        elif isinstance(value, list) and isinstance(current, list):
            original[key] = _merge_list(current, value, child)
        elif isinstance(value, list):
            original[key] = _merge_list([], value, child)
        else:
            original[key] = copy.deepcopy(value)
    for field_name, order in orders.items():
        items = original.get(field_name)
        if isinstance(items, list):
            original[field_name] = _apply_order(items, order, schema.child(field_name))
    return original


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if k not in (_DIRECTIVE, _RETAIN)
            and not k.startswith((_ORDER, _DELETE_PRIMITIVE))
            and v is not None
        }
    if isinstance(value, list):
        return [
            _strip_directives(v)
            for v in value
            if not (isinstance(v, dict) and _DIRECTIVE in v and len(v) == 1)
        ]
    return copy.deepcopy(value)


def _merge_list(original: list[Any], patch: list[Any], schema: MergeSchema) -> list[Any]:
    if schema.merge_key is None and not schema.set_list:
        return [_strip_directives(item) for item in patch]
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" and len(item) == 1 for item in patch):
        return [
            _strip_directives(item) for item in patch if not (isinstance(item, dict) and _DIRECTIVE in item)
        ]
    if schema.merge_key is None:
        result = list(original)
        for item in patch:
            if item not in result:
                result.append(copy.deepcopy(item))
        return result
    key = schema.merge_key
    result = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise status.bad_request(f"list item {item!r} is not an object with merge key {key!r}")
        if key not in item:
            raise status.bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        position = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(key) == item[key]
            ),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                result.pop(position)
            continue
        if position is None:
            result.append(_strip_directives(item))
        else:
            merged = _merge_map(result[position], item, schema)
            if merged is None:
                result.pop(position)
            else:
                result[position] = merged
    return result


def _apply_order(items: list[Any], order: list[Any], schema: MergeSchema) -> list[Any]:
    key = schema.merge_key

    def identity(item: Any) -> Any:
        if key is not None and isinstance(item, dict):
            return item.get(key)
        return item

    wanted = [identity(entry) for entry in order]

    def rank(item: Any) -> int:
        ident = identity(item)
        return wanted.index(ident) if ident in wanted else len(wanted)

    return sorted(items, key=rank)
