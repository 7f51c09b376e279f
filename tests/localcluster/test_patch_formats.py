"""The patch engines on their own: RFC 6902, RFC 7386 and strategic merge with pod merge keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from host.localcluster import resources, schemas, status
from host.localcluster.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    MergeSchema,
    apply_patch,
)

POD: dict[str, Any] = {
    "metadata": {"name": "p", "finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "a:1",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            },
            {"name": "side", "image": "s:1"},
        ],
        "tolerations": [{"key": "t1"}],
    },
    "status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "restartCount": 1}, {"name": "side", "restartCount": 0}],
    },
}


def smp(patch: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(STRATEGIC_MERGE_PATCH, POD, patch, schemas.POD)


def test_strategic_merge_merges_containers_by_name_and_keeps_the_others() -> None:
    result = smp({"spec": {"containers": [{"name": "app", "image": "a:2"}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "side"]
    assert result["spec"]["containers"][0]["image"] == "a:2"
    assert result["spec"]["containers"][0]["env"] == POD["spec"]["containers"][0]["env"]


def test_strategic_merge_merges_env_inside_a_container_by_name() -> None:
    result = smp(
        {
            "spec": {
                "containers": [
                    {"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
                ]
            }
        }
    )
    assert result["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]


def test_strategic_merge_appends_a_new_ephemeral_container() -> None:
    result = smp({"spec": {"ephemeralContainers": [{"name": "debug", "image": "d:1"}]}})
    assert result["spec"]["ephemeralContainers"] == [{"name": "debug", "image": "d:1"}]


def test_strategic_merge_deletes_a_list_item_with_the_delete_directive() -> None:
    result = smp({"spec": {"containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["app"]


def test_strategic_merge_replaces_a_list_with_the_replace_directive() -> None:
    result = smp({"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o:1"}]}})
    assert result["spec"]["containers"] == [{"name": "only", "image": "o:1"}]


def test_strategic_merge_merges_conditions_by_type() -> None:
    result = smp({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
    ]


def test_strategic_merge_replaces_container_statuses_whole_as_the_real_schema_says() -> None:
    result = smp({"status": {"containerStatuses": [{"name": "app", "restartCount": 5}]}})
    assert result["status"]["containerStatuses"] == [{"name": "app", "restartCount": 5}]


def test_strategic_merge_replaces_lists_without_a_merge_key() -> None:
    result = smp({"spec": {"tolerations": [{"key": "t2"}]}})
    assert result["spec"]["tolerations"] == [{"key": "t2"}]


def test_strategic_merge_unions_finalizers_and_deletes_from_primitive_lists() -> None:
    added = smp({"metadata": {"finalizers": ["b"]}})
    assert added["metadata"]["finalizers"] == ["a", "b"]
    removed = apply_patch(
        STRATEGIC_MERGE_PATCH,
        added,
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
        schemas.POD,
    )
    assert removed["metadata"]["finalizers"] == ["b"]


def test_strategic_merge_removes_keys_set_to_null() -> None:
    result = smp({"metadata": {"labels": {"x": None}}})
    assert result["metadata"]["labels"] == {"y": "2"}


def test_strategic_merge_orders_a_list_by_set_element_order() -> None:
    result = smp({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["side", "app"]


def test_strategic_merge_rejects_a_keyed_list_item_without_its_merge_key() -> None:
    with pytest.raises(status.ApiError) as caught:
        smp({"spec": {"containers": [{"image": "nameless"}]}})
    assert caught.value.code == 400


def test_merge_patch_replaces_lists_and_removes_nulls() -> None:
    result = apply_patch(
        MERGE_PATCH,
        POD,
        {"spec": {"containers": [{"name": "x", "image": "x"}]}, "metadata": {"labels": {"x": None}}},
        schemas.POD,
    )
    assert result["spec"]["containers"] == [{"name": "x", "image": "x"}]
    assert result["metadata"]["labels"] == {"y": "2"}


def test_json_patch_applies_every_operation_kind() -> None:
    ops = [
        {"op": "add", "path": "/metadata/labels/z", "value": "3"},
        {"op": "remove", "path": "/metadata/labels/x"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "a:9"},
        {"op": "copy", "from": "/metadata/labels/y", "path": "/metadata/labels/w"},
        {"op": "move", "from": "/metadata/labels/w", "path": "/metadata/labels/v"},
        {"op": "test", "path": "/metadata/labels/v", "value": "2"},
        {"op": "add", "path": "/spec/tolerations/-", "value": {"key": "t2"}},
        {"op": "add", "path": "/metadata/annotations", "value": {"a~b/c": "1"}},
        {"op": "replace", "path": "/metadata/annotations/a~0b~1c", "value": "2"},
    ]
    result = apply_patch(JSON_PATCH, POD, ops, schemas.POD)
    assert result["metadata"]["labels"] == {"y": "2", "z": "3", "v": "2"}
    assert result["spec"]["containers"][0]["image"] == "a:9"
    assert result["spec"]["tolerations"] == [{"key": "t1"}, {"key": "t2"}]
    assert result["metadata"]["annotations"] == {"a~b/c": "2"}
    assert POD["metadata"]["labels"] == {"x": "1", "y": "2"}, "the original must not change"


def test_json_patch_failing_test_operation_is_unprocessable() -> None:
    with pytest.raises(status.ApiError) as caught:
        apply_patch(
            JSON_PATCH, POD, [{"op": "test", "path": "/metadata/name", "value": "other"}], schemas.POD
        )
    assert caught.value.code == 422


def test_json_patch_on_a_missing_path_is_unprocessable() -> None:
    with pytest.raises(status.ApiError) as caught:
        apply_patch(JSON_PATCH, POD, [{"op": "remove", "path": "/spec/nope"}], schemas.POD)
    assert caught.value.code == 422


def _definitions() -> dict[str, Any]:
    import kubernetes_validate

    root = (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / "v1.37.0-local"
        / "_definitions.json"
    )
    definitions: dict[str, Any] = json.loads(root.read_text())["$defs"]
    return definitions


def _openapi_lists(definition: str = "io.k8s.api.core.v1.Pod") -> dict[str, tuple[str | None, str | None]]:
    """Every list under a kind in the OpenAPI shipped with kubernetes-validate: path -> (merge key, patch strategy)."""
    definitions = _definitions()
    found: dict[str, tuple[str | None, str | None]] = {}

    def walk(name: str, path: tuple[str, ...], seen: frozenset[str]) -> None:
        if name in seen:
            return
        for key, prop in definitions[name].get("properties", {}).items():
            here = (*path, key)
            kinds = prop.get("type")
            is_list = kinds == "array" or (isinstance(kinds, list) and "array" in kinds)
            if is_list:
                found[".".join(here)] = (
                    prop.get("x-kubernetes-patch-merge-key"),
                    prop.get("x-kubernetes-patch-strategy"),
                )
                ref = prop.get("items", {}).get("$ref")
            else:
                ref = prop.get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref")
            if ref:
                walk(ref.rsplit("/", 1)[-1], here, seen | {name})

    walk(definition, (), frozenset())
    return found


def _ours(path: str, schema: MergeSchema = schemas.POD) -> MergeSchema | None:
    node: MergeSchema | None = schema
    for part in path.split("."):
        if node is None or part not in node.fields:
            return None
        node = node.fields[part]
    return node


def _schema_mismatches(definition: str, schema: MergeSchema) -> list[str]:
    lists = _openapi_lists(definition)

    def mergeable(path: str) -> bool:
        key, strategy = lists[path]
        return key is not None or bool(strategy and "merge" in strategy)

    def reachable(path: str) -> bool:
        """No ancestor is an atomic list (a patch replaces those whole, so what is below cannot merge)."""
        parts = path.split(".")
        return all(
            mergeable(".".join(parts[:i])) for i in range(1, len(parts)) if ".".join(parts[:i]) in lists
        )

    wrong = []
    for path, (merge_key, strategy) in sorted(lists.items()):
        if not reachable(path):
            continue
        ours = _ours(path, schema)
        if mergeable(path):
            if ours is None or ours.merge_key != merge_key or ours.set_list != (merge_key is None):
                wrong.append(f"{path}: openapi ({merge_key}, {strategy}), ours {ours}")
        elif ours is not None and (ours.merge_key or ours.set_list):
            wrong.append(f"{path}: atomic upstream, ours {ours}")
    return wrong


def test_pod_merge_schema_matches_the_kubernetes_openapi_definitions() -> None:
    lists = _openapi_lists()
    assert lists.get("spec.containers") == ("name", "merge"), (
        "the OpenAPI walk found nothing; did the file move?"
    )
    assert _schema_mismatches("io.k8s.api.core.v1.Pod", schemas.POD) == []
    key, strategy = lists["status.containerStatuses"]
    assert key is None and not strategy, "containerStatuses became mergeable upstream"


_OPENAPI_PACKAGES = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "coordination.k8s.io": "coordination",
    "networking.k8s.io": "networking",
    "policy": "policy",
    "autoscaling": "autoscaling",
}


@pytest.mark.parametrize("rt", resources.ALL, ids=lambda rt: rt.key)
def test_every_served_kind_merges_as_its_openapi_definition_says(rt: resources.ResourceType) -> None:
    definition = f"io.k8s.api.{_OPENAPI_PACKAGES[rt.group]}.{rt.version}.{rt.kind}"
    assert definition in _definitions(), definition
    assert "metadata.finalizers" in _openapi_lists(definition)
    assert _schema_mismatches(definition, rt.schema) == []


def test_no_patch_kind_shares_structure_with_the_original() -> None:
    for kind, body in [
        (MERGE_PATCH, {"spec": {"restartPolicy": "Never"}}),
        (STRATEGIC_MERGE_PATCH, {"spec": {"restartPolicy": "Never"}}),
        (JSON_PATCH, [{"op": "add", "path": "/spec/restartPolicy", "value": "Never"}]),
    ]:
        result = apply_patch(kind, POD, body, schemas.POD)
        result["metadata"]["labels"]["mutated"] = "yes"
        result["status"]["conditions"].append({"type": "X"})
        assert "mutated" not in POD["metadata"]["labels"], kind
        assert len(POD["status"]["conditions"]) == 2, kind
