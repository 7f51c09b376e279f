"""Strategies of the kinds the stand-in stores as plain objects: workloads, config, networking, policy.

No controller acts on these objects (no Deployment, ReplicaSet, Job, CronJob, garbage-collector
or endpoints controller runs): the stand-in does what the API server itself does and no more.
That is the defaults (applied on every write, as the real server defaults every decoded
object), the validation that a client most often trips over, the status rules (status is reset
on create, a main-resource write keeps the old status, a status write changes status and
metadata only), `metadata.generation` (1 on create, +1 on a spec change, for the kinds whose
real strategy tracks it) and a few immutable fields. Each rule here was compared with
kube-apiserver 1.37; `tests/localcluster/test_divergences.py` keeps some of them honest.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from host.localcluster.pods import PodStrategy, default_template_spec
from host.localcluster.strategies import (
    Cause,
    Obj,
    Strategy,
    check_subdomain,
    forbidden,
    go_value,
    invalid_value,
    required,
)

_POD = PodStrategy()
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


def immutable(field: str, value: Any) -> Cause:
    return invalid_value(field, value, "field is immutable")


def unsupported(field: str, value: Any, supported: tuple[str, ...]) -> Cause:
    listed = ", ".join(go_value(v) for v in supported)
    return (
        field,
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {listed}",
    )


def _dict(parent: Obj, key: str) -> Obj:
    """`parent[key]` as a dict, created when missing (a non-dict is left for validation to refuse)."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class StoredStrategy(Strategy):
    """A kind the stand-in stores and serves without any controller.

    `initial_status` (kinds with a status subresource) is what status is on create, whatever the
    client sent, and the zero fields a status write keeps (the real server's typed status always
    has them). `default` runs on create and on every update; `check` validates any write of the
    main resource, `check_update` an update against the stored object.
    """

    initial_status: ClassVar[Obj | None] = None
    # A status write changes status and metadata; only these metadata fields stay as stored.
    status_keeps_metadata: tuple[str, ...] = ("deletionTimestamp",)

    def default(self, obj: Obj) -> None:
        """Fill in the kind's defaults in place."""

    def check(self, obj: Obj) -> list[Cause]:
        return []

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        return []

    def prepare_create(self, obj: Obj) -> None:
        if self.has_status:
            obj["status"] = copy.deepcopy(self.initial_status or {})
        self.default(obj)

    def prepare_update(self, new: Obj, old: Obj) -> None:
        super().prepare_update(new, old)
        self.default(new)

    def prepare_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_status_update(new, old)
        written = new.get("status")
        if not isinstance(written, dict):
            written = new["status"] = {}
        for key, value in (self.initial_status or {}).items():
            written.setdefault(key, copy.deepcopy(value))

    def validate(self, obj: Obj) -> list[Cause]:
        return [*check_subdomain("metadata.name", obj.get("metadata", {}).get("name")), *self.check(obj)]

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return [*self.validate(new), *self.check_update(new, old)]


# -- pod templates and label selectors ------------------------------------------------------


def check_pod_template(prefix: str, template: Any, restart_policies: tuple[str, ...]) -> list[Cause]:
    """Validate a pod template's spec as the pod's own, with fields under `prefix` (e.g.
    `spec.template.spec`); the restart policy must be one of `restart_policies`."""
    spec = _get(template, "spec")
    if not isinstance(spec, dict):
        spec = {}
    causes = [
        (prefix + field.removeprefix("spec"), reason, message)
        for field, reason, message in _POD.validate({"metadata": {"name": "template"}, "spec": spec})
        if field != "spec.restartPolicy"
    ]
    policy = spec.get("restartPolicy")
    if policy not in restart_policies:
        if len(restart_policies) == 1:
            causes.append(unsupported(f"{prefix}.restartPolicy", policy, restart_policies))
        else:
            valid = ", ".join(go_value(p) for p in restart_policies)
            causes.append(
                (f"{prefix}.restartPolicy", "FieldValueRequired", f"Required value: valid values: {valid}")
            )
    return causes


def _default_template(template: Any) -> None:
    if isinstance(template, dict):
        spec = _dict(template, "spec")
        default_template_spec(spec)


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A `metav1.LabelSelector` (matchLabels and matchExpressions) against a label set."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            return False
        key, operator = expression.get("key"), expression.get("operator")
        if not isinstance(key, str):
            return False
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _check_selector_and_template(obj: Obj, noun: str) -> list[Cause]:
    spec = _spec(obj)
    causes: list[Cause] = []
    selector = spec.get("selector")
    labels = _get(spec, "template", "metadata", "labels")
    if selector is None:
        causes.append(required("spec.selector"))
    elif not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        causes.append(invalid_value("spec.selector", selector, f"empty selector is invalid for {noun}"))
    if (
        not isinstance(selector, dict)
        or not isinstance(labels, dict)
        or not selector_matches(selector, labels)
    ):
        causes.append(
            invalid_value(
                "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
            )
        )
    return causes


def _check_replicas(spec: Any) -> list[Cause]:
    replicas = _get(spec, "replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        return [invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")]
    return []


def _unchanged(new: Obj, old: Obj, *path: str) -> list[Cause]:
    value = _get(new, *path)
    return [] if value == _get(old, *path) else [immutable(".".join(path), value)]


# -- apps/v1 ---------------------------------------------------------------------------------


class _AppsStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    noun: ClassVar[str] = ""

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        template = _get(spec, "template")
        return [
            *_check_replicas(spec),
            *_check_selector_and_template(obj, self.noun),
            *check_pod_template("spec.template.spec", template, ("Always",)),
        ]

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _unchanged(new, old, "spec", "selector")


class DeploymentStrategy(_AppsStrategy):
    noun = "deployment"
    initial_status: ClassVar[Obj | None] = {}
    # deploymentStatusStrategy keeps the labels too (not the annotations).
    status_keeps_metadata = ("deletionTimestamp", "labels")

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("replicas", 1)
        strategy = _dict(spec, "strategy")
        strategy.setdefault("type", "RollingUpdate")
        if strategy.get("type") == "RollingUpdate":
            rolling = _dict(strategy, "rollingUpdate")
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_template(spec.get("template"))


class ReplicaSetStrategy(_AppsStrategy):
    noun = "replicaset"
    initial_status: ClassVar[Obj | None] = {"replicas": 0}

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("replicas", 1)
        _default_template(spec.get("template"))


class StatefulSetStrategy(_AppsStrategy):
    noun = "statefulset"
    initial_status: ClassVar[Obj | None] = {"replicas": 0, "availableReplicas": 0}

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        update = _dict(spec, "updateStrategy")
        update.setdefault("type", "RollingUpdate")
        if update.get("type") == "RollingUpdate":
            rolling = _dict(update, "rollingUpdate")
            rolling.setdefault("partition", 0)
            rolling.setdefault("maxUnavailable", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
        retention.setdefault("whenDeleted", "Retain")
        retention.setdefault("whenScaled", "Retain")
        _default_template(spec.get("template"))

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        return [*super().check_update(new, old), *_unchanged(new, old, "spec", "serviceName")]


_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


class DaemonSetStrategy(_AppsStrategy):
    noun = "daemonset"
    initial_status: ClassVar[Obj | None] = {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        update = _dict(spec, "updateStrategy")
        update.setdefault("type", "RollingUpdate")
        if update.get("type") == "RollingUpdate":
            rolling = _dict(update, "rollingUpdate")
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        _default_template(spec.get("template"))

    def prepare_create(self, obj: Obj) -> None:
        super().prepare_create(obj)
        _dict(obj["metadata"], "annotations")[_TEMPLATE_GENERATION] = "1"

    def prepare_update(self, new: Obj, old: Obj) -> None:
        super().prepare_update(new, old)
        old_generation = _get(old, "metadata", "annotations", _TEMPLATE_GENERATION) or "1"
        if _get(new, "spec", "template") != _get(old, "spec", "template"):
            generation = int(old_generation) + 1 if str(old_generation).isdigit() else 1
            _dict(new["metadata"], "annotations")[_TEMPLATE_GENERATION] = str(generation)
        else:
            _dict(new["metadata"], "annotations")[_TEMPLATE_GENERATION] = str(old_generation)


# -- batch/v1 --------------------------------------------------------------------------------

_JOB_RESTART_POLICIES = ("OnFailure", "Never")
# What a suspended Job that never started may still change in its pod template.
_JOB_MUTABLE_WHILE_SUSPENDED = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def _default_job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("manualSelector", False)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )
    _default_template(spec.get("template"))


class JobStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    initial_status: ClassVar[Obj | None] = {}

    def default(self, obj: Obj) -> None:
        _default_job_spec(_dict(obj, "spec"))
        meta = obj["metadata"]
        template_labels = _get(obj, "spec", "template", "metadata", "labels")
        if not meta.get("labels") and isinstance(template_labels, dict) and template_labels:
            meta["labels"] = dict(template_labels)

    def prepare_create(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        if not spec.get("manualSelector"):
            # The API server selects the Job's pods by its uid and labels the template to match.
            meta = obj["metadata"]
            uid, name = str(meta["uid"]), str(meta.get("name", ""))
            template = _dict(spec, "template")
            labels = _dict(_dict(template, "metadata"), "labels")
            for key, value in (
                ("batch.kubernetes.io/controller-uid", uid),
                ("batch.kubernetes.io/job-name", name),
                ("controller-uid", uid),
                ("job-name", name),
            ):
                labels.setdefault(key, value)
            selector = _dict(spec, "selector")
            _dict(selector, "matchLabels").setdefault("batch.kubernetes.io/controller-uid", uid)
        super().prepare_create(obj)

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        causes: list[Cause] = []
        selector = _get(spec, "selector")
        labels = _get(spec, "template", "metadata", "labels")
        if selector is None:
            causes.append(required("spec.selector"))
        elif (
            not isinstance(selector, dict)
            or not isinstance(labels, dict)
            or not selector_matches(selector, labels)
        ):
            causes.append(
                invalid_value(
                    "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                )
            )
        for field in ("parallelism", "completions", "backoffLimit"):
            value = _get(spec, field)
            if value is not None and (not isinstance(value, int) or value < 0):
                causes.append(invalid_value(f"spec.{field}", value, "must be greater than or equal to 0"))
        return [
            *causes,
            *check_pod_template("spec.template.spec", _get(spec, "template"), _JOB_RESTART_POLICIES),
        ]

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = [*_unchanged(new, old, "spec", "selector"), *_unchanged(new, old, "spec", "completions")]
        new_spec = _get(new, "spec", "template", "spec")
        old_spec = _get(old, "spec", "template", "spec")
        if _get(old, "spec", "suspend") and not _get(old, "status", "startTime"):
            # A suspended Job that never started may change where its pods would run.
            if isinstance(new_spec, dict) and isinstance(old_spec, dict):
                new_spec = {k: v for k, v in new_spec.items() if k not in _JOB_MUTABLE_WHILE_SUSPENDED}
                old_spec = {k: v for k, v in old_spec.items() if k not in _JOB_MUTABLE_WHILE_SUSPENDED}
        elif _get(new, "spec", "template", "metadata") != _get(old, "spec", "template", "metadata"):
            causes.append(immutable("spec.template.metadata", _get(new, "spec", "template", "metadata")))
        if new_spec != old_spec:
            causes.append(immutable("spec.template.spec", _get(new, "spec", "template", "spec")))
        return causes


class CronJobStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    initial_status: ClassVar[Obj | None] = {}

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.get("jobTemplate")
        if isinstance(job_template, dict):
            job_spec = job_template.get("spec")
            if isinstance(job_spec, dict):
                _default_template(job_spec.get("template"))

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        causes = check_pod_template(
            "spec.jobTemplate.spec.template.spec",
            _get(spec, "jobTemplate", "spec", "template"),
            _JOB_RESTART_POLICIES,
        )
        schedule = _get(spec, "schedule")
        if not isinstance(schedule, str) or not schedule:
            causes.append(required("spec.schedule"))
        policy = _get(spec, "concurrencyPolicy")
        if policy not in ("Allow", "Forbid", "Replace"):
            causes.append(unsupported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
        return causes


# -- core/v1 ---------------------------------------------------------------------------------


def _check_config_keys(field: str, data: Any) -> list[Cause]:
    if not isinstance(data, dict):
        return []
    return [
        invalid_value(f"{field}[{key}]", key, CONFIG_KEY_MESSAGE)
        for key in data
        if len(key) > 253 or not _CONFIG_KEY.match(key) or key in (".", "..")
    ]


def _check_immutable_data(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[Cause]:
    """Once `immutable: true` is stored, the data and the flag itself stay as they are."""
    if old.get("immutable") is not True:
        return []
    causes = [forbidden(field, IMMUTABLE_WHEN_SET) for field in fields if new.get(field) != old.get(field)]
    if new.get("immutable") is not True:
        causes.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
    return causes


class ConfigMapStrategy(StoredStrategy):
    def check(self, obj: Obj) -> list[Cause]:
        causes = [
            *_check_config_keys("data", obj.get("data")),
            *_check_config_keys("binaryData", obj.get("binaryData")),
        ]
        data, binary = obj.get("data"), obj.get("binaryData")
        if isinstance(data, dict) and isinstance(binary, dict):
            causes += [
                invalid_value(f"data[{key}]", key, "duplicate of key present in binaryData")
                for key in data
                if key in binary
            ]
        return causes

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _check_immutable_data(new, old, ("data", "binaryData"))


class SecretStrategy(StoredStrategy):
    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        # As the API server's conversion does: stringData is written into data (and wins), then dropped.
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.get("data")
            if not isinstance(data, dict):
                data = obj["data"] = {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def check(self, obj: Obj) -> list[Cause]:
        return _check_config_keys("data", obj.get("data"))

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = _unchanged(new, old, "type")
        return [*causes, *_check_immutable_data(new, old, ("data",))]


_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def _spread(seed: str, span: int) -> int:
    """A number in [0, span) that depends only on `seed` (there is no allocator to ask)."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % span


class ServiceStrategy(StoredStrategy):
    """Services get a cluster IP (10.96.0.0/16, from the uid: there is no allocator) and node ports
    (30000-32767, likewise); nothing routes to them."""

    has_status = True
    initial_status: ClassVar[Obj | None] = {"loadBalancer": {}}

    def prepare_create(self, obj: Obj) -> None:
        super().prepare_create(obj)
        spec = _dict(obj, "spec")
        uid = str(obj["metadata"]["uid"])
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            offset = 2 + _spread(uid, 65533)  # not .0.0 or .0.1 (the `kubernetes` service's)
            spec["clusterIP"] = f"10.96.{offset // 256}.{offset % 256}"
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for index, port in enumerate(spec.get("ports") or []):
                if isinstance(port, dict) and not port.get("nodePort"):
                    port["nodePort"] = 30000 + _spread(f"{uid}/{index}", 2768)

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("type", "ClusterIP")
        service_type = spec.get("type")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if port.get("targetPort") in (None, 0, ""):
                    port["targetPort"] = port.get("port")
        if service_type != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if service_type in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")

    def prepare_update(self, new: Obj, old: Obj) -> None:
        spec = _dict(new, "spec")
        old_spec = _get(old, "spec") or {}
        # Allocated values the client left out stay as allocated.
        for field in ("clusterIP", "clusterIPs"):
            if not spec.get(field) and old_spec.get(field):
                spec[field] = copy.deepcopy(old_spec[field])
        super().prepare_update(new, old)

    def check(self, obj: Obj) -> list[Cause]:
        spec = _spec(obj)
        causes: list[Cause] = []
        service_type = spec.get("type")
        if service_type not in _SERVICE_TYPES:
            causes.append(unsupported("spec.type", service_type, _SERVICE_TYPES))
        headless = spec.get("clusterIP") == "None"
        ports = spec.get("ports")
        if service_type != "ExternalName" and not headless and not ports:
            causes.append(required("spec.ports"))
        for index, port in enumerate(ports if isinstance(ports, list) else []):
            number = port.get("port") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 1 <= number <= 65535:
                causes.append(
                    invalid_value(
                        f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive"
                    )
                )
        if service_type == "ExternalName" and not spec.get("externalName"):
            causes.append(required("spec.externalName"))
        return causes

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_ips, old_ips = _get(new, "spec", "clusterIPs"), _get(old, "spec", "clusterIPs")
        if old_ips and new_ips != old_ips:
            return [invalid_value("spec.clusterIPs[0]", new_ips, "may not change once set")]
        return []


_PVC_IMMUTABLE = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"


class PersistentVolumeClaimStrategy(StoredStrategy):
    has_status = True
    initial_status: ClassVar[Obj | None] = {"phase": "Pending"}

    def default(self, obj: Obj) -> None:
        _dict(obj, "spec").setdefault("volumeMode", "Filesystem")

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        causes: list[Cause] = []
        if not _get(spec, "accessModes"):
            causes.append(
                (
                    "spec.accessModes",
                    "FieldValueRequired",
                    "Required value: at least 1 access mode is required",
                )
            )
        if not _get(spec, "resources", "requests", "storage"):
            causes.append(required("spec.resources[storage]"))
        return causes

    def check_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec = copy.deepcopy(_get(new, "spec") or {})
        old_spec = copy.deepcopy(_get(old, "spec") or {})
        if _get(old, "status", "phase") == "Bound":
            for spec in (new_spec, old_spec):
                spec.pop("volumeAttributesClassName", None)
                resources = spec.get("resources")
                if isinstance(resources, dict):
                    resources.pop("requests", None)
        if new_spec != old_spec:
            return [forbidden("spec", _PVC_IMMUTABLE)]
        return []


class ServiceAccountStrategy(StoredStrategy):
    pass


# -- networking, policy, autoscaling ----------------------------------------------------------


class IngressStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    initial_status: ClassVar[Obj | None] = {"loadBalancer": {}}

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        if not _get(spec, "defaultBackend") and not _get(spec, "rules"):
            return [
                invalid_value(
                    "spec", _get(spec, "rules"), "either `defaultBackend` or `rules` must be specified"
                )
            ]
        return []


class NetworkPolicyStrategy(StoredStrategy):
    """networking.k8s.io/v1 NetworkPolicy has no status (and no status subresource) since 1.27."""

    tracks_generation = True

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


class PodDisruptionBudgetStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    initial_status: ClassVar[Obj | None] = {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    }

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        if _get(spec, "minAvailable") is not None and _get(spec, "maxUnavailable") is not None:
            return [
                invalid_value(
                    "spec",
                    spec,
                    "minAvailable and maxUnavailable cannot be both set",
                )
            ]
        return []


class HorizontalPodAutoscalerStrategy(StoredStrategy):
    has_status = True
    tracks_generation = True
    initial_status: ClassVar[Obj | None] = {"desiredReplicas": 0, "currentMetrics": None}

    def default(self, obj: Obj) -> None:
        spec = _dict(obj, "spec")
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ]

    def check(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        causes: list[Cause] = []
        for field in ("kind", "name"):
            if not _get(spec, "scaleTargetRef", field):
                causes.append(required(f"spec.scaleTargetRef.{field}"))
        minimum = _get(spec, "minReplicas")
        maximum = _get(spec, "maxReplicas")
        if not isinstance(maximum, int) or maximum < 1:
            causes.append(required("spec.maxReplicas"))
        elif isinstance(minimum, int) and maximum < minimum:
            causes.append(
                invalid_value("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`")
            )
        return causes
