"""java-profiler end to end: local cluster, real host, real debug backend and agent, against a JVM
with a hot method, an allocating loop and two deadlocked threads, a JVM that refuses attach, and a
Python pod; the process list points JVMs to java-profiler."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.agent.conftest import build_java
from tests.builtins.conftest import (
    SLEEPER,
    BuiltinsEnv,
    attachment_named,
    host_with_pods,
    only,
    table_text,
)
from tests.clusters import CONTROL_PLANES, open_cluster

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow, pytest.mark.timeout(300)]


def _pods() -> dict[str, list[str]]:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    jvm = [java, "-Xmx128m", "-cp", str(build_java("JavaHot"))]
    return {
        "jvm-app": [*jvm, "JavaHot", "deadlock"],
        "jvm-locked": [java, "-Xmx64m", "-XX:+DisableAttachMechanism", *jvm[2:], "JavaHot"],
        "python-only": SLEEPER,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CONTROL_PLANES)
async def env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[BuiltinsEnv]:
    pods = _pods()
    root = tmp_path_factory.mktemp("java")
    with open_cluster(request.param, request) as lc:
        off = {"enabled": False}
        async with host_with_pods(
            lc, root, pods,
            javaProfiler={"defaultDuration": 2},
            pythonProfiler=off, pythonMemoryAnalysis=off, debuggerStackTrace=off, pythonProcessInspector=off,
            pythonDebugger=off, goProfiler=off, nodeProfiler=off, networkCheck=off,
        ) as built:
            yield built



async def test_the_process_list_points_a_jvm_to_java_profiler(env: BuiltinsEnv) -> None:
    finding = only(await env.run("pod-process-list", "jvm-app"))
    assert "| jvm 17" in table_text(finding) or "| jvm " in table_text(finding)
    assert "JVM" in finding.body and "wfhost trigger java-profiler --pod shop/jvm-app" in finding.body


async def test_java_profiler_reports_the_deadlock_the_hot_method_and_the_allocating_class(env: BuiltinsEnv) -> None:
    finding = only(await env.run("java-profiler", "jvm-app"))
    assert finding.title.startswith("Java profile of shop/jvm-app pid ")
    assert "1 deadlock" in finding.title and "JavaHot.burnCpu" in finding.title
    assert finding.severity == "high"
    functions, allocations, states, blocked = finding.tables
    assert str(functions.rows[0][1]) == "JavaHot.burnCpu"
    assert str(allocations.rows[0][1]) == "byte[]" and str(allocations.rows[0][5]) == "JavaHot$Order.<init>"
    assert ["BLOCKED", "2"] in [[str(cell) for cell in row] for row in states.rows]
    assert {"locker-a", "locker-b"} <= {str(row[0]) for row in blocked.rows}
    assert "**The JVM found 1 deadlock**" in finding.body
    assert "`locker-a` waiting to lock monitor" in finding.body and "held by `locker-b`" in finding.body
    assert b"JavaHot.burnCpu" in attachment_named(finding, "flamegraph.svg")
    assert attachment_named(finding, "recording.jfr")[:4] == b"FLR\0"
    assert b'"locker-a"' in attachment_named(finding, "threads.txt")


async def test_java_profiler_adds_the_heap_histogram_when_asked(env: BuiltinsEnv) -> None:
    finding = only(await env.run("java-profiler", "jvm-app", {"heapHistogram": True, "duration": 1}))
    heap = finding.tables[-1]
    assert heap.title.startswith("Heap by class (live objects, ")
    assert "JavaHot$Order" in {str(row[1]) for row in heap.rows}
    assert attachment_named(finding, "histogram.txt").startswith(b" num ")


async def test_java_profiler_on_a_jvm_that_refuses_attach_says_why(env: BuiltinsEnv) -> None:
    finding = only(await env.run("java-profiler", "jvm-locked"))
    assert finding.title.startswith("Could not profile shop/jvm-locked pid ")
    assert "attach_unavailable" in finding.body
    assert "-XX:+DisableAttachMechanism" in finding.body


async def test_java_profiler_on_a_python_pod_finds_no_jvm(env: BuiltinsEnv) -> None:
    finding = only(await env.run("java-profiler", "python-only"))
    assert finding.title == "No JVM process in shop/python-only (container app)"
    assert "Runtimes seen: python 1" in finding.body
