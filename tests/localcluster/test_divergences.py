"""The stand-in's once-dangerous divergences, checked on the stand-in AND the real kube-apiserver.

Each test runs on both control planes with the same assertions, so the stand-in is held to what
the real server answers (dry runs that never persist, validation of quantities, ports, env names
and labels, unknown fields under each fieldValidation, a resourceVersion from the future; for
the kinds the stand-in stores without controllers: status subresource separation, generation,
a Job's generated selector, Secret stringData and base64). Where the two differ on purpose
(protobuf bodies), the test says so and runs on the stand-in.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clusters import CONTROL_PLANES, open_cluster, raw_request

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture(params=CONTROL_PLANES)
def plane(request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_cluster(request.param, request, kubelet=False) as cluster:
        yield cluster


def pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "app", "image": "python:3.12", "command": ["sleep", "60"], **container}]
        },
    }


def post(
    plane: Any, body: dict[str, Any], query: str = ""
) -> tuple[int, dict[str, list[str]], dict[str, Any]]:
    code, headers, raw = raw_request(plane, "POST", PODS + query, json.dumps(body).encode())
    return code, headers, json.loads(raw)


def exists(plane: Any, name: str) -> bool:
    return raw_request(plane, "GET", f"{PODS}/{name}")[0] == 200


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_dry_run_create_answers_the_object_and_stores_nothing(plane: Any) -> None:
    name = unique("dry")
    code, _, answer = post(plane, pod(name), "?dryRun=All")
    assert code == 201
    assert answer["metadata"]["name"] == name and answer["metadata"]["uid"]
    assert not exists(plane, name)


def test_dry_run_deletes_and_patches_in_query_or_body_keep_the_pod(plane: Any) -> None:
    name = unique("keep")
    assert post(plane, pod(name))[0] == 201
    kubectl = ["kubectl", "--kubeconfig", str(plane.kubeconfig_path)]
    done = subprocess.run(
        [*kubectl, "delete", "pod", name, "--dry-run=server"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "(server dry run)" in done.stdout, done.stderr
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}
    assert raw_request(plane, "DELETE", f"{PODS}/{name}", json.dumps(options).encode())[0] == 200
    patch = json.dumps({"metadata": {"labels": {"patched": "yes"}}}).encode()
    assert (
        raw_request(plane, "PATCH", f"{PODS}/{name}?dryRun=All", patch, "application/merge-patch+json")[0]
        == 200
    )
    code, _, raw = raw_request(plane, "GET", f"{PODS}/{name}")
    stored = json.loads(raw)
    assert code == 200 and stored["metadata"].get("deletionTimestamp") is None
    assert "patched" not in (stored["metadata"].get("labels") or {})


def test_a_bad_dry_run_or_field_validation_value_is_invalid(plane: Any) -> None:
    code, _, answer = post(plane, pod(unique("bad")), "?dryRun=Bad")
    assert code == 422
    assert 'dryRun: Unsupported value: ["Bad"]: supported values: "All"' in answer["message"]
    code, _, answer = post(plane, pod(unique("bad")), "?fieldValidation=Loose")
    assert code == 422 and "fieldValidation: Unsupported value" in answer["message"]


@pytest.mark.parametrize(
    ("container", "code", "field", "words"),
    [
        (
            {"resources": {"limits": {"cpu": "lots"}}},
            400,
            None,
            "quantities must match the regular expression",
        ),
        (
            {"ports": [{"containerPort": 70000}]},
            422,
            "spec.containers[0].ports[0].containerPort",
            "must be between 1 and 65535",
        ),
        (
            {"env": [{"name": "1 bad=", "value": "x"}]},
            422,
            "spec.containers[0].env[0].name",
            "other than '='",
        ),
    ],
)
def test_invalid_container_fields_are_refused_as_the_real_server_refuses_them(
    plane: Any, container: dict[str, Any], code: int, field: str | None, words: str
) -> None:
    name = unique("invalid")
    answered, _, status = post(plane, pod(name, **container))
    assert answered == code, status
    assert words in status["message"]
    if field is not None:
        assert [c["field"] for c in status["details"]["causes"]] == [field]
    assert not exists(plane, name)


def test_a_label_value_with_a_space_is_invalid(plane: Any) -> None:
    body = pod(unique("label"))
    body["metadata"]["labels"] = {"app": "a b"}
    code, _, status = post(plane, body)
    assert code == 422
    assert status["details"]["causes"][0]["field"] == "metadata.labels"
    assert "a valid label must be an empty string" in status["message"]


def test_unknown_fields_are_refused_under_strict_warned_by_default_and_dropped(plane: Any) -> None:
    body = pod(unique("strict"))
    body["spec"]["colour"] = "blue"
    code, _, status = post(plane, body, "?fieldValidation=Strict")
    assert code == 400
    assert 'strict decoding error: unknown field "spec.colour"' in status["message"]
    body["metadata"]["name"] = name = unique("warn")
    code, headers, stored = post(plane, body)
    assert code == 201
    assert any('unknown field \\"spec.colour\\"' in warning for warning in headers.get("warning", [])), (
        headers
    )
    assert "colour" not in stored["spec"]
    assert exists(plane, name)


def test_a_list_from_a_future_resource_version_answers_504(plane: Any) -> None:
    code, _, raw = raw_request(plane, "GET", f"{PODS}?resourceVersion=999999999")
    status = json.loads(raw)
    assert code == 504
    assert status["reason"] == "Timeout"
    assert "Too large resource version: 999999999" in status["message"]


def test_a_watch_from_a_future_resource_version_waits_without_events(plane: Any) -> None:
    code, _, raw = raw_request(plane, "GET", f"{PODS}?watch=1&resourceVersion=999999999&timeoutSeconds=2")
    assert code == 200
    assert raw == b""  # the real server waits for that version too; nothing is sent


@pytest.mark.parametrize("plane", ["builtin"], indirect=True)
def test_the_stand_in_answers_415_to_protobuf_bodies(plane: Any) -> None:
    # The real server decodes protobuf (and answers 400 for a malformed one); the stand-in speaks
    # JSON only and says so, instead of the old misleading "400 not valid JSON".
    code, _, raw = raw_request(plane, "POST", PODS, b"k8s\x00\x0a\x02", "application/vnd.kubernetes.protobuf")
    assert code == 415
    assert "application/vnd.kubernetes.protobuf" in json.loads(raw)["message"]


@pytest.fixture(params=CONTROL_PLANES)
def node_plane(request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_cluster(request.param, request) as cluster:
        yield cluster


def test_a_cordoned_node_gets_no_new_pods_until_it_is_uncordoned(node_plane: Any) -> None:
    from host.localcluster.testing import wait_for

    kubectl = ["kubectl", "--kubeconfig", str(node_plane.kubeconfig_path)]
    subprocess.run([*kubectl, "cordon", "localnode"], check=True, capture_output=True, timeout=60)
    try:
        name = unique("cordoned")
        assert post(node_plane, pod(name))[0] == 201

        def unschedulable() -> Any:
            conditions = (
                json.loads(raw_request(node_plane, "GET", f"{PODS}/{name}")[2])["status"].get("conditions")
                or []
            )
            return next(
                (c for c in conditions if c["type"] == "PodScheduled" and c["status"] == "False"), None
            )

        condition = wait_for(unschedulable, what="the scheduler to leave it Pending")
        assert "1 node(s) were unschedulable" in condition["message"]
    finally:
        subprocess.run([*kubectl, "uncordon", "localnode"], check=True, capture_output=True, timeout=60)

    def bound() -> bool:
        return bool(json.loads(raw_request(node_plane, "GET", f"{PODS}/{name}")[2])["spec"].get("nodeName"))

    wait_for(bound, timeout=60, what="the pod to be scheduled after the uncordon")


# -- the kinds stored without controllers on the stand-in -----------------------------------
# On the real control plane the controllers do run; these objects are made so that they stay
# out of the way (no replicas, a suspended Job and CronJob) and each check reads the answer to
# the test's own write.

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
CRONJOBS = "/apis/batch/v1/namespaces/default/cronjobs"
SERVICES = "/api/v1/namespaces/default/services"
SECRETS = "/api/v1/namespaces/default/secrets"
MERGE = "application/merge-patch+json"


def call(
    plane: Any, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    code, _, raw = raw_request(plane, method, path, data, content_type)
    return code, json.loads(raw)


def pod_template(restart_policy: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "div"}},
        "spec": {"restartPolicy": restart_policy, "containers": [{"name": "app", "image": "python:3.12"}]},
    }


def idle_deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"made": "here"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "div"}},
            "template": pod_template("Always"),
        },
    }


def suspended_job(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"suspend": True, "template": pod_template("Never")}}


def suspended_cronjob(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"made": "here"}},
        "spec": {
            "schedule": "0 3 * * *",
            "suspend": True,
            "jobTemplate": {"spec": {"template": pod_template("Never")}},
        },
    }


def test_status_writes_change_status_and_metadata_but_never_the_spec(plane: Any) -> None:
    cases = [
        # (collection, object, status, spec change, a status write keeps the labels)
        (DEPLOYMENTS, idle_deployment(unique("st")), {"collisionCount": 42}, {"replicas": 5}, True),
        (
            CRONJOBS,
            suspended_cronjob(unique("st")),
            {"lastScheduleTime": "2026-01-01T00:00:00Z"},
            {"schedule": "0 4 * * *"},
            False,
        ),
    ]
    for collection, body, status, spec_change, keeps_labels in cases:
        name = body["metadata"]["name"]
        path = f"{collection}/{name}"
        try:
            code, created = call(plane, "POST", collection, {**body, "status": status})
            assert code == 201, created
            assert not status.items() <= (created.get("status") or {}).items()
            code, main = call(plane, "PATCH", path, {"status": status}, MERGE)
            assert code == 200 and not status.items() <= (main.get("status") or {}).items()
            code, written = call(
                plane,
                "PATCH",
                f"{path}/status",
                {
                    "spec": spec_change,
                    "metadata": {"labels": {"via": "status"}, "annotations": {"via": "status"}},
                    "status": status,
                },
                MERGE,
            )
            assert code == 200, written
            assert status.items() <= written["status"].items()
            assert all(written["spec"][field] == main["spec"][field] for field in spec_change)
            assert written["metadata"]["annotations"]["via"] == "status"
            assert ("via" in written["metadata"]["labels"]) is not keeps_labels
            assert written["metadata"]["generation"] == 1
        finally:
            call(plane, "DELETE", path)


def test_generation_counts_spec_changes_and_a_job_selects_its_pods_by_uid(plane: Any) -> None:
    deployment = f"{DEPLOYMENTS}/{unique('gen')}"
    job = f"{JOBS}/{unique('gen')}"
    service = f"{SERVICES}/{unique('gen')}"
    bodies = {
        deployment: idle_deployment(deployment.rsplit("/", 1)[1]),
        job: suspended_job(job.rsplit("/", 1)[1]),
        service: {"metadata": {"name": service.rsplit("/", 1)[1]}, "spec": {"ports": [{"port": 80}]}},
    }
    created: dict[str, dict[str, Any]] = {}
    try:
        for path, body in bodies.items():
            code, created[path] = call(plane, "POST", path.rsplit("/", 1)[0], body)
            assert code == 201, created[path]
        assert created[deployment]["metadata"]["generation"] == 1
        _, labelled = call(plane, "PATCH", deployment, {"metadata": {"labels": {"x": "y"}}}, MERGE)
        assert labelled["metadata"]["generation"] == 1
        _, changed = call(plane, "PATCH", deployment, {"spec": {"minReadySeconds": 3}}, MERGE)
        assert changed["metadata"]["generation"] == 2

        spec = created[job]["spec"]
        uid = created[job]["metadata"]["uid"]
        assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        assert spec["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == job.rsplit("/", 1)[1]
        assert (spec["backoffLimit"], spec["completionMode"]) == (6, "NonIndexed")
        _, widened = call(plane, "PATCH", job, {"spec": {"parallelism": 2}}, MERGE)
        assert widened["metadata"]["generation"] == 2
        code, refused = call(plane, "PATCH", job, {"spec": {"completions": 3}}, MERGE)
        assert code == 422 and [c["field"] for c in refused["details"]["causes"]] == ["spec.completions"]

        assert "generation" not in created[service]["metadata"]  # a Service's strategy keeps none
    finally:
        for path in created:
            call(plane, "DELETE", path)


def test_secret_string_data_lands_in_data_and_bad_base64_is_refused(plane: Any) -> None:
    name = unique("secret")
    try:
        code, created = call(
            plane,
            "POST",
            SECRETS,
            {
                "metadata": {"name": name},
                "data": {"a": "YWJj", "b": "YWJj"},
                "stringData": {"b": "xyz", "c": "hé"},
            },
        )
        assert code == 201, created
        assert created["data"] == {"a": "YWJj", "b": "eHl6", "c": "aMOp"}
        assert "stringData" not in created and created["type"] == "Opaque"
        _, patched = call(plane, "PATCH", f"{SECRETS}/{name}", {"stringData": {"d": "1"}}, MERGE)
        assert patched["data"]["d"] == "MQ==" and "stringData" not in patched
        for data, where in [({"a": "not base64!"}, 3), ({"a": "YWJj="}, 4)]:
            code, refused = call(plane, "POST", SECRETS, {"metadata": {"name": unique("bad")}, "data": data})
            assert code == 400
            assert refused["message"] == (
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte {where}'
            )
    finally:
        call(plane, "DELETE", f"{SECRETS}/{name}")
