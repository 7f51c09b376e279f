"""`javaprofile`: a short JFR recording of a real JVM through its attach mechanism: the hot method
leads the profile and the flamegraph, the allocating loop's classes lead the allocations, the
recording leaves nothing in the target's /tmp; clear errors without the jfr tool, for another
runtime and for a JVM that refuses attach."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import Any

from tests.agent.conftest import Spawner, SpawnTarget, run_agent
from tests.agent.test_javathreads import JVM_FLAGS


def _artifact(result: dict[str, Any], name: str) -> bytes:
    (found,) = [a for a in result["artifacts"] if a["name"] == name]
    return base64.b64decode(found["data"])


def test_the_hot_method_and_the_allocating_class_lead_the_recording(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = spawn([java, *JVM_FLAGS, "-cp", str(java_hot_classes), "JavaHot"])

    result = run_agent("javaprofile", "--pid", str(target.pid), "--duration", "3").result

    assert result["settings"] == "profile" and result["durationSeconds"] == 3
    hottest = result["topFunctions"][0]
    assert hottest["function"] == "JavaHot.burnCpu"
    assert hottest["selfShare"] > 0.5 and hottest["line"] is not None
    assert result["samples"] > 50
    flamegraph = _artifact(result, "flamegraph.svg")
    assert b"JavaHot.burnCpu" in flamegraph and b"java.lang.Thread.run" in flamegraph
    allocations = result["topAllocations"]
    assert result["allocationSamples"] >= len(allocations) > 0
    top = allocations[0]
    assert top["className"] == "byte[]" and top["topSite"] == "JavaHot$Order.<init>"
    assert top["share"] > 0.5 and top["bytes"] > 0
    assert _artifact(result, "recording.jfr")[:4] == b"FLR\0"
    assert result["recordingBytes"] == len(_artifact(result, "recording.jfr"))
    assert not [name for name in os.listdir(f"/proc/{target.pid}/root/tmp") if name.endswith(".jfr")]


def test_a_second_recording_right_after_the_first_works(spawn: Spawner, java: str, java_hot_classes: Path) -> None:
    target = spawn([java, *JVM_FLAGS, "-cp", str(java_hot_classes), "JavaHot"])

    run_agent("javaprofile", "--pid", str(target.pid), "--duration", "1")
    second = run_agent("javaprofile", "--pid", str(target.pid), "--duration", "1").result

    assert second["topFunctions"][0]["function"] == "JavaHot.burnCpu"


def test_without_the_jfr_tool_the_error_names_it_before_any_recording_starts(
    spawn: Spawner, java: str, java_hot_classes: Path
) -> None:
    target = spawn([java, *JVM_FLAGS, "-cp", str(java_hot_classes), "JavaHot"])

    run = run_agent(
        "javaprofile", "--pid", str(target.pid), "--duration", "1", env={"PATH": str(Path(sys.executable).parent)}
    )

    assert run.error["code"] == "tool_missing"
    assert run.error["message"].startswith("jfr is not installed in the debug image")
    threads = run_agent("javathreads", "--pid", str(target.pid)).result
    assert not [t for t in threads["threads"] if t["name"].startswith("JFR ")]  # JFR never started


def test_a_jvm_that_refuses_attach_gets_the_clear_error(spawn: Spawner, java: str, java_hot_classes: Path) -> None:
    target = spawn([java, *JVM_FLAGS, "-XX:+DisableAttachMechanism", "-cp", str(java_hot_classes), "JavaHot"])

    run = run_agent("javaprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.error["code"] == "attach_unavailable"
    assert "-XX:+DisableAttachMechanism" in run.error["message"]


def test_a_python_process_is_refused_naming_its_runtime(spawn_target: SpawnTarget) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("javaprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.error["code"] == "wrong_runtime"
    assert run.error["message"].endswith("is a python process, not jvm")


def test_bad_arguments_are_refused_before_the_target_is_touched() -> None:
    assert run_agent("javaprofile", "--pid", "1", "--duration", "0").error["code"] == "bad_argument"
    assert run_agent("javaprofile", "--pid", "1", "--duration", "301").error["code"] == "bad_argument"
