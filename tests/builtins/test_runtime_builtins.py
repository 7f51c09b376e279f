"""go-profiler, node-profiler and network-check end to end: local cluster, real host, real debug
backend and agent, against a Go service with pprof, one without, a Node.js service and an HTTP
server with a slow endpoint; and the clear findings for pods of another runtime."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.agent.conftest import TARGETS, build_go
from tests.builtins.conftest import (
    SLEEPER,
    BuiltinsEnv,
    attachment_named,
    free_port,
    host_with_pods,
    only,
    table_text,
)
from tests.clusters import CONTROL_PLANES, open_cluster

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow, pytest.mark.timeout(300)]

SLOW_SERVER_PORT = free_port()


def _pods() -> dict[str, list[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    return {
        "go-pprof": [str(build_go("go_pprof"))],
        "go-plain": [str(build_go("go_plain"))],
        "node-app": [node, str(TARGETS / "node_hot.js")],
        "web": [sys.executable, str(TARGETS / "net_server.py"), str(SLOW_SERVER_PORT)],
        "python-only": SLEEPER,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CONTROL_PLANES)
async def env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[BuiltinsEnv]:
    pods = _pods()
    root = tmp_path_factory.mktemp("runtimes")
    with open_cluster(request.param, request) as lc:
        async with host_with_pods(
            lc, root, pods,
            goProfiler={"defaultDuration": 2}, nodeProfiler={"defaultDuration": 2},
            networkCheck={"timeoutSeconds": 3},
        ) as built:
            yield built



async def test_the_process_list_names_each_runtime(env: BuiltinsEnv) -> None:
    go = only(await env.run("pod-process-list", "go-pprof"))
    node = only(await env.run("pod-process-list", "node-app"))
    assert "| go go1." in table_text(go) and "Go go1." in go.body and "go-profiler" in go.body
    assert "| node " in table_text(node) and "node-profiler" in node.body


async def test_go_profiler_finds_the_hot_function_and_the_blocked_goroutines(env: BuiltinsEnv) -> None:
    finding = only(await env.run("go-profiler", "go-pprof"))
    assert finding.title.startswith("Go profile of shop/go-pprof pid ")
    assert "main.burnCPU" in finding.title
    functions, states, blocked = finding.tables
    assert str(functions.rows[0][1]) == "main.burnCPU"
    assert ["chan receive", "3"] in [[str(cell) for cell in row] for row in states.rows]
    assert "main.waitForOrders" in {str(row[3]) for row in blocked.rows}
    assert "It is the only Go process in the container." in finding.body
    assert b"main.burnCPU" in attachment_named(finding, "flamegraph.svg")
    assert attachment_named(finding, "cpu.pb.gz")[:2] == b"\x1f\x8b"


async def test_go_profiler_on_a_program_without_pprof_says_how_to_enable_it(env: BuiltinsEnv) -> None:
    finding = only(await env.run("go-profiler", "go-plain"))
    assert finding.title.startswith("Could not profile shop/go-plain pid ")
    assert "pprof_unavailable" in finding.body
    assert 'import _ "net/http/pprof"' in finding.body


async def test_go_profiler_on_a_python_pod_finds_no_go_process(env: BuiltinsEnv) -> None:
    finding = only(await env.run("go-profiler", "python-only"))
    assert finding.title == "No Go process in shop/python-only (container app)"
    assert "none of them a Go program" in finding.body and "Runtimes seen: python 1" in finding.body


async def test_node_profiler_profiles_through_the_inspector_and_closes_it(env: BuiltinsEnv) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 9229)) == 0:
            pytest.skip("127.0.0.1:9229 is taken on this machine")
    finding = only(await env.run("node-profiler", "node-app"))
    assert finding.title.startswith("Node.js profile of shop/node-app pid ")
    # The pod has run for a while: V8 inlined burnCpu into its callers long before the profile,
    # and the agent's precise coverage makes the samples name it again.
    assert "burnCpu" in finding.title
    assert str(finding.tables[0].rows[0][1]) == "burnCpu"
    assert "opened with SIGUSR1 on 127.0.0.1:9229 for the profile and closed again" in finding.body
    assert finding.severity == "info"
    assert b"burnCpu" in attachment_named(finding, "flamegraph.svg")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 9229)) != 0  # the pods share this machine's network


async def test_network_check_reports_a_refused_port_a_dns_failure_and_a_slow_endpoint(env: BuiltinsEnv) -> None:
    refused = free_port()
    base = f"http://127.0.0.1:{SLOW_SERVER_PORT}"
    params = {
        "names": "localhost,nothing.invalid",
        "targets": f"127.0.0.1:{refused},{base}/,{base}/slow?seconds=1.6,{base}/slow?seconds=6",
        "slowSeconds": 1,
    }
    finding = only(await env.run("network-check", "web", params))
    assert finding.severity == "medium"
    assert finding.title.startswith("Network from shop/web: 3 of 6 checks failed, 1 slow: nothing.invalid ")
    assert f"127.0.0.1:{refused} refused" in finding.title
    assert f"{base}/slow?seconds=6 timeout" in finding.title
    assert f"{base}/slow?seconds=1.6 slow (" in finding.title
    dns, connects, http, listening, _peers = finding.tables
    outcomes = {str(row[0]): str(row[1]) for row in dns.rows}
    assert outcomes["localhost"] == "resolved"
    assert outcomes["nothing.invalid"] in ("nxdomain", "timeout")  # no DNS server here: timeout
    assert [str(row[1]) for row in connects.rows] == ["refused"]
    statuses = {str(row[0]): str(row[1]) for row in http.rows}
    assert statuses[f"{base}/"] == "200 OK"
    assert statuses[f"{base}/slow?seconds=6"] == "timeout (firstByte)"
    assert "slow (over 1 s to the first byte)" in table_text(finding)
    assert f"127.0.0.1:{SLOW_SERVER_PORT}" in {str(row[0]) for row in listening.rows}
