"""`wfhost run` sees the whole cluster: triggers on any kind, full objects, owner chains, semantic
events, read policy, and watches opened only for the kinds some workflow wants.

On the real control plane the Deployment, ReplicaSet and Job controllers and the scheduler do the
work; on the builtin stand-in (which runs no controllers) the test writes what they would.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from tests.clusters import RealCluster
from tests.integration.conftest import RunningHost, titles, wait_for

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

DEPLOY_WATCHER = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "deploy-watcher",
  triggers: [{ on: "k8s.update", resource: "apps/v1/Deployment" }],
  capabilities: ["findings.report", "k8s.read"],
  reads: ["apps/v1/Deployment"],
  async run(ctx, event) {
    if (event.kind !== "k8s.update") return;
    const now = event.object as { metadata?: { name?: string; resourceVersion?: string } };
    const before = event.oldObject as { metadata?: { resourceVersion?: string } } | undefined;
    await ctx.report({
      title: `k8s.update ${now.metadata?.name}`,
      body: JSON.stringify({
        changes: event.changes, rv: now.metadata?.resourceVersion, oldRv: before?.metadata?.resourceVersion,
      }),
    });
  },
});
"""

OWNER_CHAIN = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "owner-chain",
  triggers: [{ on: "pod.crashLoop" }],
  capabilities: ["findings.report", "k8s.read"],
  reads: ["apps/v1/ReplicaSet", "apps/v1/Deployment"],
  async run(ctx, event) {
    if (event.kind !== "pod.crashLoop" || !event.object) return;
    const owners = await ctx.k8s.owners(event.object);
    const chain = owners.map((o) => `${o.kind}/${o.metadata?.name}`).join(" > ");
    await ctx.report({ title: `owners ${event.subject?.name}: ${chain}` });
  },
});
"""

FAILURES = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "failures",
  triggers: [{ on: "job.failed" }, { on: "pod.pending" }, { on: "deployment.rolloutStuck" }],
  reads: ["batch/v1/Job", "apps/v1/Deployment"],
  capabilities: ["findings.report"],
  async run(ctx, event) {
    await ctx.report({
      title: `${event.kind} ${event.subject?.name}`,
      body: JSON.stringify({ reason: event.reason ?? null, message: event.message ?? null }),
    });
  },
});
"""

REFUSALS = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "refusals",
  triggers: [{ on: "manual" }],
  capabilities: ["findings.report", "k8s.read"],
  reads: ["apps/v1/Deployment", "v1/Node"],
  async run(ctx) {
    const attempts: Record<string, string> = {};
    const tries: [string, () => Promise<unknown>][] = [
      ["secret", () => ctx.k8s.get({ apiVersion: "v1", kind: "Secret", namespace: "default", name: "creds" })],
      ["undeclared", () => ctx.k8s.list({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: "default" })],
      ["ungranted", () => ctx.k8s.get({ apiVersion: "v1", kind: "Node", name: "localnode" })],
      ["declared", async () =>
        (await ctx.k8s.list({ apiVersion: "apps/v1", kind: "Deployment", namespace: "default" })).items.length],
    ];
    for (const [what, attempt] of tries) {
      try {
        const got = await attempt();
        attempts[what] = `ok ${typeof got === "number" ? got : typeof got}`;
      } catch (error) {
        attempts[what] = `${(error as Error).name}: ${(error as Error).message}`;
      }
    }
    await ctx.report({ title: "refusals", body: JSON.stringify(attempts) });
  },
});
"""


def _write(start_host: Any, tmp_path: Path, files: dict[str, str]) -> None:
    workflows = tmp_path / "workflows"
    for name, text in files.items():
        (workflows / name).write_text(textwrap.dedent(text))


def _bodies(findings: Path, prefix: str) -> list[dict[str, Any]]:
    found = []
    for doc in sorted(findings.glob("*/finding.json")):
        if doc.parent.name.startswith("."):
            continue
        finding = json.loads(doc.read_text())
        if finding["title"].startswith(prefix):
            found.append(json.loads(finding.get("body") or "{}"))
    return found


def _deployment(name: str, command: list[str], replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "app", "image": "python:3.11", "command": command}],
                },
            },
        },
    }


def _settle(host: RunningHost, cluster: Any) -> None:
    """Wait until the host's watches are past their baseline: the recorder sees a new pod."""
    cluster.core_v1().create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "sentinel"},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": "python:3.11", "command": ["sleep", "300"]}],
            },
        },
    )
    wait_for(
        lambda: "pod.create sentinel" in titles(host.findings), timeout=60, what="the sentinel's pod.create"
    )


def test_a_deployment_update_trigger_fires_once_per_real_change(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    _write(start_host, tmp_path, {"deploy-watcher.ts": DEPLOY_WATCHER})
    host = start_host()
    _settle(host, cluster)
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    apps.create_namespaced_deployment("default", _deployment("web", ["sleep", "600"]))
    time.sleep(2)
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 2}})
    time.sleep(1)
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})  # no change: no event
    apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"tier": "front"}}})
    wait_for(
        lambda: (
            sum("metadata.labels.tier" in b["changes"] for b in _bodies(host.findings, "k8s.update web")) == 1
        ),
        timeout=60,
        what="the label change",
    )
    time.sleep(3)  # let controllers finish writing status
    bodies = _bodies(host.findings, "k8s.update web")
    # Each run is one distinct new version with a real difference from the one before it.
    versions = [b["rv"] for b in bodies]
    assert len(versions) == len(set(versions)), versions
    assert all(b["changes"] and b["oldRv"] and b["oldRv"] != b["rv"] for b in bodies), bodies
    assert sum("spec.replicas" in b["changes"] for b in bodies) == 2, bodies
    assert sum("metadata.labels.tier" in b["changes"] for b in bodies) == 1, bodies
    if isinstance(cluster, RealCluster):
        # The real controller's status writes are real changes too, and say so.
        assert any(any(c.startswith("status.") for c in b["changes"]) for b in bodies), bodies
    assert not any(t.startswith("k8s.update") and "web" not in t for t in titles(host.findings))


def test_a_crash_looping_pod_is_traced_to_its_deployment(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    _write(start_host, tmp_path, {"owner-chain.ts": OWNER_CHAIN})
    host = start_host()
    _settle(host, cluster)
    crash = ["python", "-c", "import sys; sys.exit(3)"]
    apps = kubernetes.client.AppsV1Api(cluster.api_client())
    deployment = apps.create_namespaced_deployment("default", _deployment("shop", crash))
    if not isinstance(cluster, RealCluster):
        # No controllers here: make the ReplicaSet and its pod as the real ones would.
        def owner(kind: str, obj: Any) -> dict[str, Any]:
            return {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": obj.metadata.name,
                "uid": obj.metadata.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }

        template = _deployment("shop", crash)["spec"]
        rs = apps.create_namespaced_replica_set(
            "default",
            {
                "metadata": {
                    "name": "shop-5d4f",
                    "labels": {"app": "shop"},
                    "ownerReferences": [owner("Deployment", deployment)],
                },
                "spec": {"replicas": 1, "selector": template["selector"], "template": template["template"]},
            },
        )
        cluster.core_v1().create_namespaced_pod(
            "default",
            {
                "metadata": {
                    "name": "shop-5d4f-x1",
                    "labels": {"app": "shop"},
                    "ownerReferences": [owner("ReplicaSet", rs)],
                },
                "spec": template["template"]["spec"],
            },
        )
    wait_for(
        lambda: any(t.startswith("owners shop-") for t in titles(host.findings)),
        timeout=120,
        what="the owner chain of the crash-looping pod",
    )
    [title] = [t for t in titles(host.findings) if t.startswith("owners shop-")]
    chain = title.split(": ", 1)[1].split(" > ")
    assert [link.split("/")[0] for link in chain] == ["ReplicaSet", "Deployment"], title
    assert chain[1] == "Deployment/shop" and chain[0].startswith("ReplicaSet/shop-"), title


def test_a_failed_job_fires_job_failed_once(cluster: Any, start_host: Any, tmp_path: Path) -> None:
    _write(start_host, tmp_path, {"failures.ts": FAILURES})
    host = start_host()
    _settle(host, cluster)
    batch = kubernetes.client.BatchV1Api(cluster.api_client())
    batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "migrate"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "job",
                                "image": "python:3.11",
                                "command": ["python", "-c", "raise SystemExit(2)"],
                            }
                        ],
                    }
                },
            },
        },
    )
    if not isinstance(cluster, RealCluster):
        time.sleep(1)
        now = "2026-12-03T10:00:00Z"
        failed = {
            "type": "Failed",
            "status": "True",
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
            "lastTransitionTime": now,
            "lastProbeTime": now,
        }
        batch.patch_namespaced_job_status(
            "migrate",
            "default",
            {
                "status": {
                    "failed": 1,
                    "startTime": now,
                    "conditions": [{**failed, "type": "FailureTarget"}, failed],
                }
            },
        )
        batch.patch_namespaced_job("migrate", "default", {"metadata": {"labels": {"seen": "yes"}}})
    wait_for(lambda: "job.failed migrate" in titles(host.findings), timeout=120, what="job.failed")
    time.sleep(3)
    assert Counter(titles(host.findings))["job.failed migrate"] == 1
    [body] = _bodies(host.findings, "job.failed migrate")
    assert body["reason"] == "BackoffLimitExceeded", body


@pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)
def test_a_pod_the_real_scheduler_cannot_place_fires_pod_pending(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    _write(start_host, tmp_path, {"failures.ts": FAILURES})
    host = start_host(triggers={"podPendingSeconds": 1})
    _settle(host, cluster)
    cluster.core_v1().create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "greedy"},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "python:3.11",
                        "command": ["sleep", "300"],
                        "resources": {"requests": {"cpu": "1000"}},
                    }
                ]
            },
        },
    )
    wait_for(lambda: "pod.pending greedy" in titles(host.findings), timeout=60, what="pod.pending")
    time.sleep(3)  # the scheduler retries and rewrites its message: still one episode
    assert Counter(titles(host.findings))["pod.pending greedy"] == 1
    [body] = _bodies(host.findings, "pod.pending greedy")
    assert body["reason"] == "Unschedulable" and "Insufficient cpu" in body["message"], body


@pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)
def test_a_rollout_the_real_controller_gives_up_on_fires_rollout_stuck_once(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    _write(start_host, tmp_path, {"failures.ts": FAILURES})
    host = start_host()
    _settle(host, cluster)
    body = _deployment("stuck", ["sleep", "600"])
    body["spec"]["progressDeadlineSeconds"] = 2
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/team/app:9.9.9"
    kubernetes.client.AppsV1Api(cluster.api_client()).create_namespaced_deployment("default", body)
    wait_for(lambda: "deployment.rolloutStuck stuck" in titles(host.findings), timeout=90,
             what="deployment.rolloutStuck")
    time.sleep(3)
    assert Counter(titles(host.findings))["deployment.rolloutStuck stuck"] == 1
    [found] = _bodies(host.findings, "deployment.rolloutStuck stuck")
    assert found["reason"] == "ProgressDeadlineExceeded" and "has timed out progressing" in found["message"], found


def test_reads_are_refused_for_secrets_and_for_kinds_not_declared_and_granted(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    _write(start_host, tmp_path, {"refusals.ts": REFUSALS})
    host = start_host(
        customWorkflows={
            "typescript": {
                "enabled": True,
                "volume": {"mountPath": str(tmp_path / "workflows")},
                "grants": [
                    {
                        "workflow": "refusals",
                        "capabilities": ["findings.report", "k8s.read"],
                        "reads": ["apps/v1/*", "v1/Secret*"],
                    }
                ],
            }
        }
    )
    _settle(host, cluster)
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "host.cli.main",
            "trigger",
            "refusals",
            "--pod",
            "default/sentinel",
            "--wait",
            "--url",
            host.url,
            "--token",
            host.token,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert answer.returncode == 0, answer.stderr
    [finding] = json.loads(answer.stdout)["findings"]
    attempts = json.loads(finding["body"])
    assert attempts["secret"] == "CapabilityDeniedError: k8s.get: Secrets are never readable by workflows", (
        attempts
    )
    assert "does not declare reads of apps/v1/StatefulSet" in attempts["undeclared"], attempts
    assert attempts["ungranted"].startswith("CapabilityDeniedError: "), attempts
    assert "has not granted refusals reads of v1/Node" in attempts["ungranted"], attempts
    assert attempts["declared"] == "ok 0", attempts


def _host_watches(cluster: Any, since: float) -> Counter[str]:
    """Watches the host (admin credentials, no test client watches) opened and closed since `since`."""
    opened: Counter[str] = Counter()
    for event in cluster.plane.audit_events(verb="watch"):
        user = event.get("user") or {}
        # The admin credentials the host runs with; the API server's own loopback client is in
        # system:masters too (its informers re-watch now and then) and is not the host.
        if "system:masters" not in (user.get("groups") or []) or user.get("username") == "system:apiserver":
            continue
        stamp = event.get("stageTimestamp") or ""
        if _epoch(stamp) < since:
            continue
        ref = event.get("objectRef") or {}
        resource = f"{ref.get('resource')}.{ref.get('apiGroup') or 'core'}"
        opened[f"{event['stage']} {resource}"] += 1
    return opened


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


def test_only_wanted_kinds_are_watched_and_a_watch_stops_when_no_workflow_wants_it(
    cluster: Any, start_host: Any, tmp_path: Path
) -> None:
    begin = time.time()
    host = start_host()  # the recorder alone: pod events only
    _settle(host, cluster)
    watching = cluster.open_watches if not isinstance(cluster, RealCluster) else None
    if watching is not None:
        assert watching() == 1
    else:
        seen = _host_watches(cluster, begin)
        assert {k.split(" ")[1] for k in seen} == {"pods.core"}, seen
    (tmp_path / "workflows" / "deploy-watcher.ts").write_text(textwrap.dedent(DEPLOY_WATCHER))
    if watching is not None:
        wait_for(lambda: watching() == 2, timeout=60, what="the deployment watch")
    else:
        wait_for(
            lambda: _host_watches(cluster, begin)["ResponseStarted deployments.apps"] >= 1,
            timeout=60,
            what="the host's deployment watch, in the API server's audit log",
        )
    (tmp_path / "workflows" / "deploy-watcher.ts").unlink()
    if watching is not None:
        wait_for(lambda: watching() == 1, timeout=60, what="the deployment watch to close")
    else:
        wait_for(
            lambda: _host_watches(cluster, begin)["ResponseComplete deployments.apps"] >= 1,
            timeout=60,
            what="the host's deployment watch to end, in the API server's audit log",
        )
        seen = _host_watches(cluster, begin)
        assert {k.split(" ")[1] for k in seen} == {"pods.core", "deployments.apps"}, seen
