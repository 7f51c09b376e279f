"""`ctx.k8s.*` through the real SDK, the real host and the local cluster: each read method returns what the cluster holds."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from host.localcluster import LocalCluster, LocalClusterSettings
from host.model.events import Event, Target
from host.runtime.app import Host
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(120)

READER = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "reader",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report"],
  async run(ctx, event) {
    if (event.kind !== "manual") return;
    const ref = { namespace: event.target.namespace, name: event.target.pod };
    const pod = await ctx.k8s.getPod(ref);
    const pods = await ctx.k8s.listPods(ref.namespace, { labelSelector: "app=talker" });
    const logs = await ctx.k8s.podLogs(ref, { tailLines: 2 });
    const previous = await ctx.k8s.podLogs(ref, { previous: true, tailLines: 1 });
    const events = await ctx.k8s.events(ref);
    await ctx.report({ title: "read", body: JSON.stringify({
      phase: pod.phase, restarts: pod.containerStatuses[0]?.restartCount, names: pods.map((p) => p.name),
      logs, previous, reasons: events.map((e) => e.reason) }) });
  },
});
"""

# Prints a numbered line per run, then exits: the kubelet restarts it, so there are previous logs too.
TALKER = ["python", "-c", "import os, time\nfor i in range(3): print('line', i, flush=True)\ntime.sleep(2)"]


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[tuple[Host, LocalCluster]]:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "reader.ts").write_text(textwrap.dedent(READER))
    (tmp_path / "builtin").mkdir()
    async with LocalCluster(LocalClusterSettings.for_tests()) as lc:
        config = make_config(
            tmp_path, api={"enabled": False}, cluster={"kubeconfig": str(lc.kubeconfig_path)},
            workflows={"builtinDirectory": str(tmp_path / "builtin")},
            customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
        )
        h = Host(config)
        await h.start(watch=False)
        try:
            yield h, lc
        finally:
            await h.stop()


async def test_every_read_method_returns_what_the_cluster_holds(host: tuple[Host, LocalCluster]) -> None:
    h, lc = host
    api = lc.core_v1()
    body = {"metadata": {"name": "talker", "labels": {"app": "talker"}},
            "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": TALKER}]}}
    await asyncio.to_thread(api.create_namespaced_pod, "default", body)
    await asyncio.to_thread(api.create_namespaced_pod, "default", {
        "metadata": {"name": "quiet", "labels": {"app": "other"}},
        "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": ["sleep", "60"]}]}})
    assert h.kube is not None
    for _ in range(200):  # wait for a restart, so that previous logs exist
        pod = await h.kube.get_pod("default", "talker")
        st = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
        if st.get("restartCount", 0) >= 1 and "running" in (st.get("state") or {}):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    _, fut = h.dispatcher.trigger("reader", Event(kind="manual", target=Target(namespace="default", pod="talker")), {},
                                  wait=True)
    assert fut is not None
    result = await fut
    assert result.outcome == "ok", result.error
    doc: dict[str, Any] = json.loads(result.findings[0].body)
    assert doc["phase"] == "Running"
    assert doc["restarts"] >= 1
    assert doc["names"] == ["talker"]  # the label selector left "quiet" out
    assert doc["logs"].splitlines() == ["line 1", "line 2"]  # tailLines: 2
    assert doc["previous"].splitlines() == ["line 2"]
    assert "Started" in doc["reasons"]
