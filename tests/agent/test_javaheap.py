"""`javaheap`: a real JVM's class histogram through its attach mechanism: the classes its code
keeps alive, by bytes; a clear error for another runtime and for bad arguments."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.agent.conftest import Spawner, SpawnTarget, run_agent
from tests.agent.test_javathreads import JVM_FLAGS


def test_the_classes_the_program_keeps_alive_lead_the_live_histogram(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = spawn([java, *JVM_FLAGS, "-cp", str(java_hot_classes), "JavaHot"])

    result = run_agent("javaheap", "--pid", str(target.pid), "--top", "10").result

    assert result["liveOnly"] is True
    classes = {c["className"]: c for c in result["topClasses"]}
    assert len(result["topClasses"]) == 10
    assert [c["bytes"] for c in result["topClasses"]] == sorted((c["bytes"] for c in result["topClasses"]), reverse=True)
    # JavaHot keeps a ring of 20,000 live Order objects, each with a 256-byte array.
    order = classes["JavaHot$Order"]
    assert 20_000 <= order["instances"] < 21_000 and order["module"] is None
    assert order["bytes"] % order["instances"] == 0 and order["bytes"] // order["instances"] >= 16
    assert classes["[B"]["module"].startswith("java.base@")
    assert classes["[B"]["bytes"] >= order["instances"] * 256
    assert result["totalBytes"] >= sum(c["bytes"] for c in result["topClasses"])
    assert result["classCount"] > 100
    assert 0 < classes["[B"]["share"] <= 1
    (artifact,) = result["artifacts"]
    assert b"Total" in base64.b64decode(artifact["data"])


def test_all_objects_are_counted_without_a_full_gc_when_asked(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = spawn([java, *JVM_FLAGS, "-cp", str(java_hot_classes), "JavaHot"])

    result = run_agent("javaheap", "--pid", str(target.pid), "--all", "--top", "10").result

    assert result["liveOnly"] is False
    classes = {c["className"]: c for c in result["topClasses"]}
    assert classes["JavaHot$Order"]["instances"] >= 20_000  # the live ring, and garbage not yet collected
    assert classes["[B"]["bytes"] >= 20_000 * 256
    assert result["totalInstances"] > 20_000


def test_a_node_or_python_process_is_refused_naming_its_runtime(spawn_target: SpawnTarget) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("javaheap", "--pid", str(target.pid))

    assert run.error["code"] == "wrong_runtime"
    assert run.error["message"].endswith("is a python process, not jvm")


def test_bad_arguments_are_refused_before_the_target_is_touched() -> None:
    assert run_agent("javaheap", "--pid", "1", "--top", "0").error["code"] == "bad_argument"
    assert run_agent("javaheap", "--pid", "1", "--top", "201").error["code"] == "bad_argument"
