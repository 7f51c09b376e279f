"""The findings store's volume: the state emptyDir by default, a PersistentVolumeClaim with
persistence.enabled (a new one or an existing one), the host config pointing at it, NOTES.txt
saying which, and the values it takes (findings.*, persistence.*) checked by the schema."""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from host.config import HostConfig, parse_config
from host.errors import ConfigError
from tests.chart.support import CHART_DIR, KUBE_VERSION, Rendered, chart, fullname, render

STORE_DIR = "/var/lib/wfhost/store"
PERSISTENT = {"persistence": {"enabled": True}}


def _notes(rendered: Rendered) -> str:
    return next(text for path, text in rendered.files.items() if path.endswith("NOTES.txt"))


def _claims(rendered: Rendered) -> list[dict[str, Any]]:
    return rendered.of_kind("PersistentVolumeClaim")


def test_by_default_the_store_is_in_the_state_emptydir_and_the_notes_say_it_does_not_survive_the_pod() -> None:
    rendered = render()
    assert str(rendered.host_config.findings.store.directory) == "/tmp/wfhost/findings"
    assert rendered.volume("state") == {"name": "state", "emptyDir": {"sizeLimit": "1Gi"}}
    assert rendered.mount("state") == {"name": "state", "mountPath": "/tmp/wfhost"}
    assert rendered.volume("findings-store") is None and rendered.mount("findings-store") is None
    assert _claims(rendered) == []
    notes = _notes(rendered)
    assert ("Findings store: SQLite on the pod's emptyDir (/tmp/wfhost/findings); findings and their pending "
            "deliveries are lost when the pod is deleted (an upgrade, a drained node). Set persistence.enabled=true "
            "to keep them on a PersistentVolumeClaim.") in notes
    assert "survive the pod" not in notes


def test_without_persistence_the_store_follows_the_state_dir() -> None:
    rendered = render({"sandbox": {"stateDir": "/var/lib/wfhost/state"}})
    assert str(rendered.host_config.findings.store.directory) == "/var/lib/wfhost/state/findings"
    assert "emptyDir (/var/lib/wfhost/state/findings)" in _notes(rendered)


def test_with_persistence_a_claim_of_its_own_holds_the_store_and_the_notes_say_so() -> None:
    rendered = render({"persistence": {"enabled": True, "size": "5Gi", "storageClass": "fast-ssd"}})
    (claim,) = _claims(rendered)
    name = f"{fullname()}-findings"
    assert claim["metadata"]["name"] == name
    assert claim["metadata"]["namespace"] == "observability"
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                             "resources": {"requests": {"storage": "5Gi"}}}
    assert rendered.volume("findings-store") == {"name": "findings-store",
                                                 "persistentVolumeClaim": {"claimName": name}}
    assert rendered.mount("findings-store") == {"name": "findings-store", "mountPath": STORE_DIR}
    assert str(rendered.host_config.findings.store.directory) == STORE_DIR
    assert (f"Findings store: SQLite on PersistentVolumeClaim {name} (5Gi); findings and their pending deliveries "
            "survive the pod.") in _notes(rendered)
    assert "emptyDir" not in _notes(rendered)
    writable = {m["mountPath"] for m in rendered.container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp/wfhost", "/tmp", STORE_DIR}  # the claim is the one more writable place
    for obj in rendered.objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_without_a_storage_class_the_claim_takes_the_clusters_default() -> None:
    (claim,) = _claims(render(PERSISTENT))
    assert "storageClassName" not in claim["spec"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "2Gi"}}


def test_an_existing_claim_is_used_as_it_is() -> None:
    rendered = render({"persistence": {"enabled": True, "existingClaim": "wfhost-findings-keep"}})
    assert _claims(rendered) == []
    assert rendered.volume("findings-store") == {"name": "findings-store",
                                                 "persistentVolumeClaim": {"claimName": "wfhost-findings-keep"}}
    notes = _notes(rendered)
    assert ("Findings store: SQLite on PersistentVolumeClaim wfhost-findings-keep; findings and their pending "
            "deliveries survive the pod.") in notes


def test_an_existing_claim_is_ignored_while_persistence_is_off() -> None:
    rendered = render({"persistence": {"existingClaim": "wfhost-findings-keep"}})
    assert rendered.volume("findings-store") is None
    assert str(rendered.host_config.findings.store.directory) == "/tmp/wfhost/findings"


def test_with_persistence_the_old_pod_lets_go_of_the_volume_first_even_with_leader_election() -> None:
    assert render({"leaderElection": {"enabled": True}}).deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    rendered = render({**PERSISTENT, "leaderElection": {"enabled": True}})
    assert rendered.deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert render(PERSISTENT).deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_persistence_needs_a_single_replica() -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(
            "persistence.enabled needs replicaCount 1, not 2: the findings store is one SQLite database on a "
            "ReadWriteOnce volume with one writer")):
        render({**PERSISTENT, "replicaCount": 2})
    standbys = render({"replicaCount": 2})  # without persistence each replica has a store of its own
    assert str(standbys.host_config.findings.store.directory) == "/tmp/wfhost/findings"


def test_the_chart_with_persistence_lints_clean() -> None:
    report = helm.lint(CHART_DIR, {"persistence": {"enabled": True, "storageClass": "fast-ssd"}}, strict=True,
                       kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_findings_values_are_the_host_configs_defaults_and_reach_it() -> None:
    rendered = render().host_config.findings
    defaults = HostConfig().findings
    assert rendered.store.model_dump(exclude={"directory"}) == defaults.store.model_dump(exclude={"directory"})
    assert rendered.delivery == defaults.delivery
    values = {"findings": {"store": {"maxFindings": 50, "maxAgeSeconds": 3600, "maxBytes": 1 << 20,
                                     "maxAttachmentBytes": 1024},
                           "delivery": {"retryBackoff": {"initialSeconds": 2, "maxSeconds": 60}}}}
    config = render(values).host_config.findings
    assert (config.store.max_findings, config.store.max_age_seconds, config.store.max_bytes,
            config.store.max_attachment_bytes) == (50, 3600, 1 << 20, 1024)
    assert (config.delivery.retry_backoff.initial_seconds, config.delivery.retry_backoff.max_seconds) == (2, 60)


@pytest.mark.parametrize(("values", "message"), [
    ({"persistence": {"enabled": "yes"}}, "want boolean"),
    ({"persistence": {"size": "lots"}}, "persistence/size"),
    ({"persistence": {"size": ""}}, "persistence/size"),
    ({"persistence": {"storageClass": "Not_A_Class"}}, "persistence/storageClass"),
    ({"persistence": {"existingClaim": "Bad Claim"}}, "persistence/existingClaim"),
    ({"persistence": {"accessMode": "ReadWriteMany"}}, "accessMode"),
    ({"findings": {"store": {"maxFindings": 0}}}, "minimum"),
    ({"findings": {"store": {"maxAgeSeconds": 0}}}, "exclusiveMinimum"),
    ({"findings": {"store": {"maxBytes": 1000}}}, "minimum"),
    ({"findings": {"store": {"maxAttachmentBytes": 100}}}, "minimum"),
    ({"findings": {"store": {"directory": "/data"}}}, "directory"),  # the chart picks it: the volume's mount
    ({"findings": {"delivery": {"retryBackoff": {"initialSeconds": 0}}}}, "exclusiveMinimum"),
    ({"findings": {"outbox": {}}}, "outbox"),
], ids=["enabled", "size", "empty-size", "class", "claim", "unknown", "count", "age", "bytes", "attachment",
        "directory", "backoff", "unknown-findings-key"])
def test_the_schema_refuses_bad_store_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        chart().validate_schema(values)
    assert message in str(caught.value), str(caught.value)


@pytest.mark.parametrize(("key", "value"), [
    ("maxFindings", 0), ("maxAgeSeconds", 0), ("maxBytes", 1000), ("maxAttachmentBytes", 100),
])
def test_the_host_refuses_what_the_schema_refuses(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"findings\.store\.{key}"):
        parse_config({"findings": {"store": {key: value}}})
