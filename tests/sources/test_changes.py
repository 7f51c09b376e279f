"""Generic change events: the paths an update changed, and no event for a write that changed nothing."""

from __future__ import annotations

from typing import Any

from host.sources.changes import ChangeClassifier, changed_paths


def deployment(replicas: int, rv: str, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u1",
            "resourceVersion": rv,
            "labels": {"app": "web"},
            "managedFields": [{"manager": rv}],
        },
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}},
        },
        "status": dict(status),
    }


def test_changed_paths_name_what_differs_down_to_the_leaf() -> None:
    old = deployment(1, "10")
    new = deployment(3, "11", observedGeneration=2)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    assert changed_paths(old, new) == (
        "spec.replicas",
        "spec.template.spec.containers",
        "status.observedGeneration",
    )


def test_resource_version_and_managed_fields_alone_are_no_change() -> None:
    assert changed_paths(deployment(1, "10"), deployment(1, "11")) == ()
    classifier = ChangeClassifier()
    assert classifier.classify(deployment(1, "10"), deployment(1, "11"), None, deleted=False) == []


def test_the_classifier_emits_create_update_delete_only_when_wanted() -> None:
    wanted = {"k8s.update"}
    classifier = ChangeClassifier(lambda kind: kind in wanted)
    assert classifier.classify(None, deployment(1, "1"), None, deleted=False) == []
    [update] = classifier.classify(deployment(1, "1"), deployment(2, "2"), None, deleted=False)
    assert update.kind == "k8s.update" and update.changes == ("spec.replicas",)
    wanted.update({"k8s.create", "k8s.delete"})
    assert [d.kind for d in classifier.classify(None, deployment(1, "1"), None, deleted=False)] == [
        "k8s.create"
    ]
    assert [
        d.kind for d in classifier.classify(deployment(1, "1"), deployment(1, "2"), None, deleted=True)
    ] == ["k8s.delete"]


def test_lists_are_compared_as_a_whole_and_the_number_of_paths_is_bounded() -> None:
    old = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    new = {"status": {"conditions": [{"type": "Available", "status": "False"}]}}
    assert changed_paths(old, new) == ("status.conditions",)
    wide_old = {"data": {f"k{i}": "a" for i in range(500)}}
    wide_new = {"data": {f"k{i}": "b" for i in range(500)}}
    assert len(changed_paths(wide_old, wide_new)) == 64
