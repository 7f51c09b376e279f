"""The host's configuration: one YAML file whose keys mirror the Helm chart's values.

Every model forbids unknown keys, so a typo fails fast; `load_config` turns pydantic's
errors into one `ConfigError` whose lines name each bad key by its dotted path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from host.errors import ConfigError
from host.model.resources import BadKind, parse_kind
from host.model.vocabulary import Capability as Capability  # re-exported; defined once there
from host.model.vocabulary import EventKind as EventKind
from host.validation import dotted_path


def check_read_patterns(patterns: list[str] | None) -> list[str] | None:
    """Each entry an apiVersion/Kind (or a glob over them); Secrets named outright are refused."""
    if patterns is None:
        return None
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?["):
            try:
                parse_kind(pattern)
            except BadKind as exc:
                raise ValueError(str(exc)) from None
            if pattern == "v1/Secret":
                raise ValueError("v1/Secret: Secrets are never readable by workflows")
    return patterns


# What custom workflows may read by default: the workload, scheduling and networking kinds a
# troubleshooting workflow needs to explain a pod. Never Secrets; ConfigMap data only by name.
DEFAULT_READS = (
    "v1/Node", "v1/Namespace", "v1/Service", "v1/Endpoints", "v1/PersistentVolumeClaim", "v1/PersistentVolume",
    "v1/ResourceQuota", "v1/LimitRange", "v1/ReplicationController",
    "apps/v1/Deployment", "apps/v1/ReplicaSet", "apps/v1/StatefulSet", "apps/v1/DaemonSet",
    "batch/v1/Job", "batch/v1/CronJob",
    "autoscaling/v2/HorizontalPodAutoscaler", "policy/v1/PodDisruptionBudget",
    "networking.k8s.io/v1/Ingress", "networking.k8s.io/v1/NetworkPolicy",
    "storage.k8s.io/v1/StorageClass", "discovery.k8s.io/v1/EndpointSlice",
)


class Model(BaseModel):
    """Base for config sections: camelCase keys as in values.yaml, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    @field_validator("*")
    @classmethod
    def _no_nul_in_a_path(cls, value: Any) -> Any:
        """A path with a NUL byte names no file: refused here, naming its key, not at first use
        (where `open` raised a bare ValueError, "embedded null byte", with no key in it)."""
        if isinstance(value, Path) and "\x00" in str(value):
            raise ValueError("a path cannot contain a NUL byte")
        return value


class TriggerBinding(Model):
    """An extra trigger bound to a workflow from config (on top of the triggers it declares)."""

    on: EventKind = Field(description="Event kind that starts the workflow.")
    namespaces: list[str] = Field(default_factory=list, description="Only these namespaces; empty means all.")
    label_selector: str | None = Field(default=None, description="Kubernetes label selector on the subject.")
    name_pattern: str | None = Field(default=None, description="Glob on the subject's name.")
    schedule: str | None = Field(default=None, description="Interval such as '5m' for on: schedule.")
    resource: str | None = Field(
        default=None, description="For k8s.create/update/delete: the kind as apiVersion/Kind, e.g. apps/v1/Deployment."
    )


class BuiltinWorkflow(Model):
    """Settings every built-in workflow shares."""

    enabled: bool = Field(default=True, description="Load this workflow.")
    triggers: list[TriggerBinding] = Field(
        default_factory=list, description="Extra triggers, e.g. the profiler on pod.crashLoop."
    )
    namespaces: list[str] = Field(
        default_factory=list, description="Namespaces this workflow may act on; empty means all."
    )


class PythonProfilerConfig(BuiltinWorkflow):
    default_duration: int = Field(default=2, ge=1, le=300, description="Seconds to sample.")
    include_idle: bool = Field(default=False, description="Include idle (sleeping) threads.")


class PythonMemoryAnalysisConfig(BuiltinWorkflow):
    default_duration: int = Field(default=60, ge=1, le=300, description="Seconds to trace allocations.")


class DebuggerStackTraceConfig(BuiltinWorkflow):
    traces_amount: int = Field(default=1, ge=1, le=100, description="How many dumps to take.")
    sleep_duration: float = Field(default=1, ge=0, le=60, description="Seconds between dumps.")


class PythonDebuggerConfig(BuiltinWorkflow):
    default_port: int = Field(default=5678, ge=1024, le=65535, description="Port debugpy listens on.")


class GoProfilerConfig(BuiltinWorkflow):
    default_duration: int = Field(default=5, ge=1, le=300, description="Seconds of CPU profile.")
    pprof_port: int = Field(
        default=0, ge=0, le=65535,
        description="The programs' net/http/pprof port; 0: probe each program's listening ports.",
    )


class NodeProfilerConfig(BuiltinWorkflow):
    default_duration: int = Field(default=5, ge=1, le=300, description="Seconds of CPU profile.")


class JavaProfilerConfig(BuiltinWorkflow):
    default_duration: int = Field(default=10, ge=1, le=300, description="Seconds of JFR recording.")
    heap_histogram: bool = Field(
        default=False, description="Also count the live heap by class (the JVM runs a full GC first)."
    )


def _check_network_entries(values: list[str], what: str) -> list[str]:
    if len(values) > 20:
        raise ValueError(f"at most 20 {what}, not {len(values)}")
    for value in values:
        if not value or len(value) > 2048 or any(ch.isspace() or ch == "," for ch in value):
            raise ValueError(f"{value!r}: {what} are single words without spaces or commas")
    return values


class NetworkCheckConfig(BuiltinWorkflow):
    names: list[str] = Field(
        default_factory=lambda: ["kubernetes.default"],
        description="DNS names to resolve from the pod, with its resolv.conf (search list, ndots).",
    )
    targets: list[str] = Field(
        default_factory=list,
        description="What to reach from the pod: host:port for a TCP connect, an http:// or https:// URL for a GET.",
    )
    timeout_seconds: float = Field(default=5, ge=0.1, le=60, description="Seconds each check may take.")
    slow_seconds: float = Field(
        default=1, ge=0, le=60, description="An HTTP answer whose first byte took longer is reported as slow."
    )

    @field_validator("names")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        return _check_network_entries(values, "names")

    @field_validator("targets")
    @classmethod
    def _targets(cls, values: list[str]) -> list[str]:
        return _check_network_entries(values, "targets")


class PodTroubleshooting(Model):
    python_profiler: PythonProfilerConfig = PythonProfilerConfig()
    pod_process_list: BuiltinWorkflow = BuiltinWorkflow()
    python_memory_analysis: PythonMemoryAnalysisConfig = PythonMemoryAnalysisConfig()
    debugger_stack_trace: DebuggerStackTraceConfig = DebuggerStackTraceConfig()
    python_process_inspector: BuiltinWorkflow = BuiltinWorkflow()
    python_debugger: PythonDebuggerConfig = PythonDebuggerConfig()
    go_profiler: GoProfilerConfig = GoProfilerConfig()
    node_profiler: NodeProfilerConfig = NodeProfilerConfig()
    java_profiler: JavaProfilerConfig = JavaProfilerConfig()
    network_check: NetworkCheckConfig = NetworkCheckConfig()


class LogTailConfig(BuiltinWorkflow):
    tail_lines: int = Field(default=40, ge=1, le=1000, description="Log lines of each run shown in the finding.")


class RestartLoopReporterConfig(LogTailConfig):
    group_seconds: float = Field(
        default=5, ge=0, le=60,
        description="Seconds after a crash loop began to wait before listing the workload's other crash-looping "
        "pods, so replicas failing together are named in one finding.",
    )


class PodEnrichment(Model):
    """Explainers of pod failures: each reads objects and reports why, never touches a process."""

    restart_loop_reporter: RestartLoopReporterConfig = Field(
        default_factory=RestartLoopReporterConfig, description="Why a container crash-loops (exit code, logs, owner)."
    )
    image_pull_backoff_enricher: BuiltinWorkflow = Field(
        default_factory=BuiltinWorkflow, description="Why an image cannot be pulled, and the fix."
    )
    pod_investigator_enricher: BuiltinWorkflow = Field(
        default_factory=BuiltinWorkflow,
        description="Why a pod stays Pending, cannot start its containers, or fails its probes.",
    )
    pod_evicted_enrichments: BuiltinWorkflow = Field(
        default_factory=BuiltinWorkflow, description="Why a pod was evicted (the starved resource, the usage)."
    )
    pod_creation_enricher: BuiltinWorkflow = Field(
        default_factory=BuiltinWorkflow,
        description="Why a workload cannot create its pods (RBAC, Pod Security, webhooks, quotas).",
    )


class OomKillerEnricherConfig(BuiltinWorkflow):
    attach_logs: bool = Field(default=True, description="Attach the previous run's log tail.")
    container_memory_graph: bool = Field(
        default=False,
        description="A memory graph of the container; needs a metrics source, which wfhost does not have yet "
        "(when on, the finding says so).",
    )


class OomKiller(Model):
    pod_oom_killer_enricher: OomKillerEnricherConfig = Field(
        default_factory=OomKillerEnricherConfig, description="Why a container was OOM-killed."
    )


class Jobs(Model):
    job_failure_reporter: LogTailConfig = Field(
        default_factory=LogTailConfig, description="Why a Job failed: its condition, its pods, its CronJob."
    )


class Nodes(Model):
    node_status_enricher: BuiltinWorkflow = Field(
        default_factory=BuiltinWorkflow, description="A NotReady or pressured node, with its pods' requests."
    )


class DefaultEnricherConfig(BuiltinWorkflow):
    alert_annotations_enrichment: bool = Field(
        default=True, description="Quote the alert's annotations (summary, description, runbook) in the finding."
    )


class AlertEnrichment(Model):
    default_enricher: DefaultEnricherConfig = Field(
        default_factory=DefaultEnricherConfig,
        description="An Alertmanager alert about a pod, workload, Job or node gets the matching explanation.",
    )


class WorkflowsConfig(Model):
    pod_troubleshooting: PodTroubleshooting = PodTroubleshooting()
    pod_enrichment: PodEnrichment = PodEnrichment()
    oom_killer: OomKiller = OomKiller()
    jobs: Jobs = Jobs()
    nodes: Nodes = Nodes()
    alert_enrichment: AlertEnrichment = AlertEnrichment()
    builtin_directory: Path | None = Field(
        default=None, description="Where the built-in workflows live; defaults to the installed ones."
    )


class ConfigMapRef(Model):
    name: str = "custom-workflows-config"


class WorkflowVolume(Model):
    mount_path: Path = Field(default=Path("/workflows"), description="Directory holding custom workflows.")
    config_map: ConfigMapRef = ConfigMapRef()


class Grant(Model):
    """What the operator allows custom workflows to do, matched by name and/or by file.

    A workflow's name is chosen by its author; its file name is the ConfigMap key the operator
    controls, so `file` is the safer way to bind a powerful grant.
    """

    workflow: str = Field(default="*", description="Workflow name, or a glob such as 'team-a-*'.")
    file: str | None = Field(
        default=None,
        description="Glob on the workflow file's path relative to the custom workflows directory, e.g. 'team-a-*.ts'.",
    )
    capabilities: list[Capability] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list, description="Empty means all namespaces.")
    params: dict[str, Any] = Field(default_factory=dict, description="Param values for this workflow.")
    triggers: list[TriggerBinding] = Field(default_factory=list, description="Extra triggers.")
    reads: list[str] | None = Field(
        default=None,
        description="Kinds (apiVersion/Kind; globs such as 'apps/v1/*') the workflow may read beyond pods and "
        "events; unset means customWorkflows.typescript.defaultReads. Secrets are never readable.",
    )
    config_map_data: list[str] = Field(
        default_factory=list,
        description="ConfigMaps whose data the workflow may read, as namespace/name (globs allowed); "
        "other ConfigMaps are returned without data.",
    )

    @field_validator("reads")
    @classmethod
    def _reads(cls, value: list[str] | None) -> list[str] | None:
        return check_read_patterns(value)


class TypescriptWorkflows(Model):
    enabled: bool = False
    volume: WorkflowVolume = WorkflowVolume()
    default_capabilities: list[Capability] = Field(
        default_factory=lambda: list[Capability](["k8s.read", "findings.report"]),
        description="Granted to custom workflows no grant names.",
    )
    default_reads: list[str] = Field(
        default_factory=lambda: list(DEFAULT_READS),
        description="Kinds custom workflows may read when their grant names no reads (apiVersion/Kind, globs allowed).",
    )

    @field_validator("default_reads")
    @classmethod
    def _reads(cls, value: list[str]) -> list[str]:
        return check_read_patterns(value) or []
    grants: list[Grant] = Field(default_factory=list)


class CustomWorkflows(Model):
    typescript: TypescriptWorkflows = TypescriptWorkflows()


class Backoff(Model):
    initial_seconds: float = Field(default=0.5, gt=0)
    max_seconds: float = Field(default=30, gt=0)


class SandboxConfig(Model):
    """Limits for every workflow child."""

    deno_path: Path | None = Field(default=None, description="Deno binary; default: the one from the deno package.")
    sdk_path: Path | None = Field(default=None, description="sdk-ts directory; default: the installed one.")
    state_dir: Path = Field(default=Path("/tmp/wfhost"), description="Snapshots, entry files, DENO_DIR.")
    max_heap_mb: int = Field(default=128, ge=16, le=8192)
    invocation_timeout_seconds: float = Field(default=120, gt=0, le=86400)
    cancel_grace_seconds: float = Field(
        default=1, ge=0, le=60,
        description="When an invocation times out or is cancelled, the host sends the workflow `$/cancel` "
        "and waits this long for its run to stop (its worker is then kept warm) before it kills the worker "
        "(0: kill at once).",
    )
    start_timeout_seconds: float = Field(default=15, gt=0)
    max_message_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    max_calls_per_invocation: int = Field(default=500, ge=1)
    max_findings_per_invocation: int = Field(default=50, ge=1)
    max_log_bytes_per_invocation: int = Field(default=256 << 10, ge=1024)
    max_workflow_bytes: int = Field(default=4 << 20, ge=1024, description="Cap on a workflow directory's code.")
    concurrency_per_workflow: int = Field(default=1, ge=1, le=64)
    idle_stop_seconds: float = Field(
        default=300, ge=0,
        description="Stop a workflow's worker after this long without an invocation (0: never); the next "
        "invocation starts one (~30-50 ms).",
    )
    max_warm_workers: int = Field(
        default=16, ge=0,
        description="At most this many workers alive across all workflows (0: no bound); past it the least "
        "recently used idle one is stopped first.",
    )
    queue_size: int = Field(default=100, ge=1)
    restart_backoff: Backoff = Backoff()
    shutdown_grace_seconds: float = Field(
        default=20, ge=0, description="On SIGTERM, how long running invocations may take to finish."
    )
    check_timeout_seconds: float = Field(default=60, gt=0)
    check_max_memory_mb: int = Field(default=1024, ge=128)


class LogSink(Model):
    enabled: bool = True


class FilesSink(Model):
    enabled: bool = False
    directory: Path = Path("/var/lib/wfhost/findings")


class WebhookSink(Model):
    enabled: bool = False
    url: str = Field(default="", description="Where findings are POSTed.")
    url_file: Path | None = Field(
        default=None, description="A file holding the URL (a mounted Secret), read at each delivery."
    )
    timeout_seconds: float = Field(default=10, gt=0, description="Seconds one POST may take.")
    max_retries: int = Field(
        default=5, ge=0,
        description="Quick retries of one POST (after 0.5 s, 1 s, 2 s ...) before the delivery counts as failed "
        "and waits in the outbox for findings.delivery.retryBackoff.",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers, name -> value.")

    @model_validator(mode="after")
    def _url_when_enabled(self) -> WebhookSink:
        if self.enabled and not self.url and self.url_file is None:
            raise ValueError("url or urlFile is required when the sink is enabled")
        return self


class SlackSink(WebhookSink):
    pass


class SinksConfig(Model):
    """Either this mapping (as in the chart's values) or a list such as `[{type: files, path: DIR}]`."""

    log: LogSink = LogSink()
    files: FilesSink = FilesSink()
    webhook: WebhookSink = WebhookSink()
    slack: SlackSink = SlackSink()
    spool_directory: Path | None = Field(
        default=None,
        description="Where an earlier wfhost spooled undelivered webhook and Slack findings (default under "
        "sandbox.stateDir); files left there are moved into the findings store's outbox at start. Undelivered "
        "findings now wait in the outbox.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        """`[{type: files, path: DIR}, {type: webhook, url: U}]` means those sinks and no others."""
        if not isinstance(data, list):
            return data
        mapping: dict[str, Any] = {"log": {"enabled": False}}
        for index, item in enumerate(data):
            if not isinstance(item, dict) or "type" not in item:
                raise ValueError(f"[{index}]: a sink in list form is a mapping with a `type`")
            entry = {k: v for k, v in item.items() if k != "type"}
            kind = item["type"]
            if kind == "files" and "path" in entry:
                entry["directory"] = entry.pop("path")
            if kind not in ("log", "files", "webhook", "slack"):
                raise ValueError(f"[{index}].type: {kind!r} is not one of log, files, webhook, slack")
            mapping[kind] = {"enabled": True, **entry}
        return mapping


class FindingsStoreConfig(Model):
    """The durable findings store: one SQLite database (WAL mode) holding findings, their attachments
    and each sink's pending deliveries (the outbox)."""

    directory: Path | None = Field(
        default=None,
        description="Directory of the store's SQLite database (findings.db), on a local filesystem (not NFS); "
        "default: <sandbox.stateDir>/findings. One host per directory: a second one is refused.",
    )
    max_findings: int = Field(
        default=10000, ge=1, description="Findings kept; past it the oldest are deleted (retention by count)."
    )
    max_age_seconds: float = Field(
        default=30 * 86400, gt=0,
        description="Seconds a finding is kept after it was stored; older ones are deleted (retention by age).",
    )
    max_bytes: int = Field(
        default=256 << 20, ge=1 << 20,
        description="Bytes of findings kept (JSON, labels and attachments); past it the oldest are deleted "
        "(retention by bytes). The database file takes somewhat more, plus its write-ahead log.",
    )
    max_attachment_bytes: int = Field(
        default=8 << 20, ge=1024,
        description="Largest attachment stored; a larger text attachment is cut to this size, any other is "
        "not stored, and the finding's body says so.",
    )


class FindingsDeliveryConfig(Model):
    """How the outbox hands stored findings to the sinks."""

    retry_backoff: Backoff = Field(
        default_factory=lambda: Backoff(initial_seconds=1, max_seconds=300),
        description="Delay before retrying a delivery that failed: doubling from initialSeconds up to "
        "maxSeconds (with jitter), per delivery; a success makes every delivery waiting for that sink due.",
    )


class FindingsConfig(Model):
    """Where findings are kept and how they are delivered (at least once, the finding id as idempotency key)."""

    store: FindingsStoreConfig = Field(default_factory=FindingsStoreConfig, description="The durable store.")
    delivery: FindingsDeliveryConfig = Field(default_factory=FindingsDeliveryConfig, description="The outbox.")


class KubernetesAuthConfig(Model):
    """Accept Kubernetes identities on the API: TokenReview for who, SubjectAccessReview for what."""

    enabled: bool = Field(default=False, description="Check bearer tokens other than api.token with a TokenReview.")
    cache_seconds: float = Field(
        default=10, ge=0, le=300,
        description="How long a TokenReview or SubjectAccessReview answer is reused (0: ask every time).",
    )
    cache_entries: int = Field(default=4096, ge=1, le=1_000_000, description="Answers kept at most, per kind.")
    audiences: list[str] = Field(
        default_factory=list, description="Audiences a token must be for; empty: the API server's own."
    )


class ApiAuthConfig(Model):
    kubernetes: KubernetesAuthConfig = KubernetesAuthConfig()


class ApiConfig(Model):
    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port (tests, demo).")
    token: str | None = Field(default=None, description="Static bearer token: every right (Alertmanager, scripts).")
    token_file: Path | None = Field(default=None, description="File holding the token (a mounted Secret).")
    public_url: str | None = Field(default=None, description="How findings link back to the API.")
    auth: ApiAuthConfig = ApiAuthConfig()


class ClusterConfig(Model):
    kubeconfig: Path | None = Field(default=None, description="Kubeconfig file; default: in-cluster config.")
    namespaces: list[str] = Field(default_factory=list, description="Watch only these; empty means all.")
    watch_timeout_seconds: int = Field(default=300, ge=1)
    backoff: Backoff = Backoff(initial_seconds=0.5, max_seconds=30)


class TriggersConfig(Model):
    per_subject_interval_seconds: float = Field(
        default=60, ge=0, description="Run a workflow at most once per subject in this interval."
    )
    pod_pending_seconds: float = Field(
        default=60,
        ge=0,
        description="How long a pod must stay unschedulable (PodScheduled=False) before pod.pending fires.",
    )


class NodePodConfig(Model):
    """The `nodePod` mechanism: the agent in a short-lived hostPID pod on the target's node."""

    namespace: str | None = Field(
        default=None,
        description="Where node pods run (labelled pod-security.kubernetes.io/enforce=privileged or exempt); "
        "the host's own namespace when unset.",
    )


class DebugConfig(Model):
    image: str = "ghcr.io/wfhost/debug:0.1.0"
    max_ephemeral_containers_per_pod: int = Field(default=1, ge=1, le=10)
    action_timeout_seconds: float = Field(default=300, gt=0)
    container_start_timeout_seconds: float = Field(default=60, gt=0)
    mechanism: Literal["ephemeralContainer", "nodePod", "auto"] = Field(
        default="ephemeralContainer",
        description="How the agent reaches a pod: an ephemeral container in it, a node pod beside it, or the "
        "ephemeral container with the node pod when Pod Security rejects it.",
    )
    node_pod: NodePodConfig = NodePodConfig()


class LeaderElectionConfig(Model):
    enabled: bool = False
    lease_name: str = "wfhost"
    lease_namespace: str = "default"
    lease_duration_seconds: float = Field(default=15, gt=0)
    renew_deadline_seconds: float = Field(default=10, gt=0)
    retry_period_seconds: float = Field(default=2, gt=0)


class LoggingConfig(Model):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class LimitsConfig(Model):
    """Caps on what a workflow's author controls, checked before the host does the work they would cost."""

    max_file_bytes: int = Field(default=1 << 20, ge=1024, description="Largest code file in a workflow directory, in bytes.")
    max_files_per_directory: int = Field(
        default=500, ge=1, description="Entries (files and folders) a workflow directory may hold."
    )
    max_name_length: int = Field(default=253, ge=16, le=4096, description="Longest file or folder name, in characters.")
    max_triggers_per_workflow: int = Field(default=64, ge=1, description="Triggers one manifest may declare.")
    max_selector_length: int = Field(default=1024, ge=16, description="Longest trigger label selector, in characters.")
    max_pattern_length: int = Field(default=253, ge=16, description="Longest trigger name pattern, in characters.")
    recent_findings: int = Field(
        default=500, ge=1,
        description="Findings of this run kept in memory for in-process readers (the demo, tests); the API "
        "reads the findings store.",
    )
    finding_dedupe_seconds: float = Field(
        default=900, ge=0,
        description="A finding reported under a dedupeKey already used in this window is not published again "
        "(one finding per workload and episode).",
    )
    recent_findings_bytes: int = Field(
        default=64 << 20, ge=1 << 20, description="Bytes of this run's findings kept in memory (recentFindings)."
    )


class HostConfig(Model):
    """The whole configuration file."""

    workflows: WorkflowsConfig = WorkflowsConfig()
    custom_workflows: CustomWorkflows = CustomWorkflows()
    sandbox: SandboxConfig = SandboxConfig()
    sinks: SinksConfig = SinksConfig()
    findings: FindingsConfig = FindingsConfig()
    api: ApiConfig = ApiConfig()
    cluster: ClusterConfig = ClusterConfig()
    triggers: TriggersConfig = TriggersConfig()
    debug: DebugConfig = DebugConfig()
    leader_election: LeaderElectionConfig = LeaderElectionConfig()
    logging: LoggingConfig = LoggingConfig()
    limits: LimitsConfig = LimitsConfig()


def format_validation_error(exc: ValidationError, *, source: str) -> str:
    """One line per problem, each naming the key path the way values.yaml spells it."""
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        lines.append(f"  {dotted_path(err['loc']) or '(root)'}: {err['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, *, source: str = "<config>") -> HostConfig:
    """Validate already-parsed YAML/JSON data into a `HostConfig`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: the top level must be a mapping")
    try:
        return HostConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source=source)) from exc


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so a trigger's `on:` key stays the string "on"."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """Parse YAML the way Helm users write it: `on: manual` is a key named "on", not `True`."""
    return yaml.load(text, Loader=_Yaml12Loader)


def load_config(path: Path | None) -> HostConfig:
    """Read and validate the config file; `None` gives the defaults."""
    if path is None:
        return HostConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: byte {exc.start} is {exc.object[exc.start]:#04x}") from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    except RecursionError as exc:  # PyYAML's composer recurses once per level of nesting
        raise ConfigError(f"config file {path} nests collections too deeply to read") from exc
    return parse_config(data, source=str(path))
