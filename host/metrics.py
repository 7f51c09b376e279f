"""Prometheus metrics of one host, in a registry of its own (so tests can run several hosts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total, ... (Linux /proc).
        ProcessCollector(registry=self.registry)
        self.asyncio_tasks = Gauge("wfhost_asyncio_tasks", "Tasks alive on the host's event loop (set when scraped)",
                                   registry=self.registry)
        self.events_seen = Counter("wfhost_events_seen_total", "Events seen, by kind", ["kind"], registry=self.registry)
        self.invocations = Counter(
            "wfhost_invocations_total", "Invocations, by workflow and outcome", ["workflow", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "wfhost_invocation_duration_seconds", "Invocation wall-clock time", ["workflow"], registry=self.registry,
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.queue_depth = Gauge("wfhost_queue_depth", "Invocations waiting, by workflow", ["workflow"],
                                 registry=self.registry)
        self.dropped = Counter("wfhost_invocations_dropped_total", "Invocations dropped, by workflow and reason",
                               ["workflow", "reason"], registry=self.registry)
        self.worker_restarts = Gauge("wfhost_worker_restarts", "Worker restarts of the loaded version, by workflow",
                                     ["workflow"], registry=self.registry)
        self.cold_invocations = Gauge(
            "wfhost_worker_cold_invocations", "Invocations of the loaded version that had to start their worker, by workflow",
            ["workflow"], registry=self.registry,
        )
        self.idle_stops = Gauge(
            "wfhost_worker_idle_stops", "Workers of the loaded version stopped for being idle (or by the warm bound), by workflow",
            ["workflow"], registry=self.registry,
        )
        self.workers_warm = Gauge("wfhost_workers_warm", "Workers alive across all workflows", registry=self.registry)
        self.findings = Counter("wfhost_findings_total", "Findings reported, by workflow and severity",
                                ["workflow", "severity"], registry=self.registry)
        self.sink_failures = Gauge("wfhost_sink_failures", "Failed deliveries, by sink", ["sink"], registry=self.registry)
        # The findings store (host/findings/store.py) and its outbox (host/findings/outbox.py).
        self.findings_stored = Gauge("wfhost_findings_stored", "Findings in the findings store", registry=self.registry)
        self.findings_store_bytes = Gauge(
            "wfhost_findings_store_bytes", "Bytes of the findings in the store (JSON, labels, attachments)",
            registry=self.registry,
        )
        self.findings_store_file_bytes = Gauge(
            "wfhost_findings_store_file_bytes", "Size of the store's files on disk (database and write-ahead log)",
            registry=self.registry,
        )
        self.findings_retention_deleted = Counter(
            "wfhost_findings_retention_deleted_total", "Findings deleted by retention, by reason (count, age, bytes)",
            ["reason"], registry=self.registry,
        )
        self.findings_store_errors = Counter(
            "wfhost_findings_store_errors_total",
            "Findings the store could not write (each then delivered once, best effort, outside the outbox)",
            registry=self.registry,
        )
        self.findings_attachments_capped = Counter(
            "wfhost_findings_attachments_capped_total",
            "Attachments larger than findings.store.maxAttachmentBytes, by action (truncated, dropped)",
            ["action"], registry=self.registry,
        )
        self.findings_outbox_pending = Gauge(
            "wfhost_findings_outbox_pending", "Deliveries waiting in the outbox, by sink", ["sink"],
            registry=self.registry,
        )
        self.findings_outbox_oldest = Gauge(
            "wfhost_findings_outbox_oldest_seconds", "Age of the oldest delivery waiting in the outbox, by sink",
            ["sink"], registry=self.registry,
        )
        self.findings_delivery_attempts = Counter(
            "wfhost_findings_delivery_attempts_total", "Delivery attempts, by sink and outcome (delivered, failed)",
            ["sink", "outcome"], registry=self.registry,
        )
        self.findings_deliveries_dropped = Counter(
            "wfhost_findings_deliveries_dropped_total",
            "Deliveries given up, by sink and reason (retention: the finding was deleted first; unreadable: "
            "the stored finding no longer loads)",
            ["sink", "reason"], registry=self.registry,
        )
        self.leader = Gauge("wfhost_leader", "1 while this replica leads", registry=self.registry)
        self.handover_pending = Gauge(
            "wfhost_handover_pending",
            "Events a standby holds that the leader's record does not cover yet (set when scraped)",
            registry=self.registry,
        )
        self.handover_pending_bytes = Gauge(
            "wfhost_handover_pending_bytes",
            "Bytes of JSON those pending events take (bounded; set when scraped)",
            registry=self.registry,
        )
        self.handover_unfinished = Gauge(
            "wfhost_handover_unfinished_events",
            "Events the leader emitted whose invocations have not all finished, so its record stays below "
            "them (set when scraped)",
            registry=self.registry,
        )
        self.handover_dropped = Gauge(
            "wfhost_handover_pending_dropped",
            "Events a standby dropped past its bounds of pending events (count, bytes), this run (set when scraped)",
            registry=self.registry,
        )
        self.handover_fired = Gauge(
            "wfhost_handover_takeover_fired",
            "Pending events the last take-over fired: the transitions of the gap (set when scraped)",
            registry=self.registry,
        )
        self.workflows_loaded = Gauge("wfhost_workflows_loaded", "Workflows loaded", registry=self.registry)
        self.workflow_errors = Gauge("wfhost_workflow_load_errors", "Workflow files with a load error",
                                     registry=self.registry)
        self.schedule_skipped = Counter(
            "wfhost_schedule_skipped_total",
            "Schedule firings skipped because that workflow's previous scheduled run was still queued or running",
            ["workflow"], registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
