"""`goprofile`: a Go program's CPU profile and goroutine dump through its own net/http/pprof,
found by probing its listening ports; a clear error without pprof or for another runtime."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from host.agent.pprof import decode_profile
from tests.agent.conftest import Spawner, SpawnTarget, run_agent


def _artifact(result: dict[str, object], name: str) -> bytes:
    artifacts = result["artifacts"]
    assert isinstance(artifacts, list)
    (found,) = [a for a in artifacts if a["name"] == name]
    return base64.b64decode(found["data"])


def test_the_hot_function_leads_the_profile_and_the_goroutines_are_summarized(
    spawn: Spawner, go_pprof_binary: Path
) -> None:
    target = spawn([str(go_pprof_binary)])
    port = int(target.ready_line.split()[1])

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "2")

    result = run.result
    assert result["endpoint"] == f"http://127.0.0.1:{port}/debug/pprof/"
    assert result["probedPorts"] == [port]
    assert result["goVersion"].startswith("go1.") and result["mainPackage"] == "wfhost.test/gopprof"
    hottest = result["topFunctions"][0]
    assert hottest["function"] == "main.burnCPU"
    assert hottest["file"].endswith("targets/go_pprof/main.go")
    assert hottest["selfShare"] > 0.5
    assert result["samples"] > 20 and result["cpuSeconds"] > 0.2
    states = {entry["state"]: entry["count"] for entry in result["goroutines"]["byState"]}
    assert states["chan receive"] == 3 and states["sync.Mutex.Lock"] == 1
    blocked = {g["function"] for g in result["goroutines"]["longestBlocked"]}
    assert "main.waitForOrders" in blocked
    waiting = next(g for g in result["goroutines"]["longestBlocked"] if g["function"] == "main.waitForOrders")
    assert waiting["createdBy"].startswith("main.main (") and waiting["line"] is not None
    assert b"main.burnCPU" in _artifact(result, "flamegraph.svg")
    assert b"goroutine " in _artifact(result, "goroutines.txt")
    profile = decode_profile(_artifact(result, "cpu.pb.gz"))  # the raw profile, for go tool pprof
    assert profile.sample_types[1] == ("cpu", "nanoseconds")


def test_a_named_port_is_used_without_probing(spawn: Spawner, go_pprof_binary: Path) -> None:
    target = spawn([str(go_pprof_binary)])
    port = int(target.ready_line.split()[1])

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "1", "--port", str(port))

    assert run.result["probedPorts"] == [port]
    assert run.result["durationSeconds"] == 1


def test_a_go_program_without_pprof_gets_not_available_with_the_two_line_change(
    spawn: Spawner, go_plain_binary: Path
) -> None:
    target = spawn([str(go_plain_binary)])
    port = int(target.ready_line.split()[1])

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.returncode == 1
    error = run.error
    assert error["code"] == "pprof_unavailable"
    assert error["message"].startswith("not available: this Go program does not serve net/http/pprof")
    assert 'import _ "net/http/pprof"' in error["message"]
    assert 'go http.ListenAndServe("localhost:6060", nil)' in error["message"]
    assert error["details"]["probedPorts"] == [port]


def test_a_named_port_nobody_listens_on_is_not_available(
    spawn: Spawner, go_plain_binary: Path, free_port: int
) -> None:
    target = spawn([str(go_plain_binary)])

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "1", "--port", str(free_port))

    assert run.error["code"] == "pprof_unavailable"
    assert f"port {free_port} does not answer GET /debug/pprof/" in run.error["message"]


def test_a_python_process_is_refused_naming_its_runtime(spawn_target: SpawnTarget) -> None:
    target = spawn_target("cpu_bound.py")

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.error["code"] == "wrong_runtime"
    assert f"pid {target.pid} (python" in run.error["message"]
    assert run.error["message"].endswith("is a python process, not go")
    assert run.error["details"]["runtime"] == "python"


def test_bad_arguments_are_refused_before_the_target_is_touched() -> None:
    assert run_agent("goprofile", "--pid", "1", "--duration", "0").error["code"] == "bad_argument"
    assert run_agent("goprofile", "--pid", "1", "--duration", "1", "--port", "70000").error["code"] == "bad_argument"


def test_a_pprof_port_in_another_network_namespace_is_reached_from_inside_it(
    spawn: Spawner, go_pprof_binary: Path
) -> None:
    """As in a pod: the target listens on loopback in its own network namespace; the agent joins it."""
    if os.geteuid() != 0:
        pytest.skip("unshare --net and setns need root")
    unshare = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    target = spawn([str(go_pprof_binary)], prefix=unshare)
    port = int(target.ready_line.split()[1])

    run = run_agent("goprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.result["endpoint"] == f"http://127.0.0.1:{port}/debug/pprof/"
    assert run.result["topFunctions"][0]["function"] == "main.burnCPU"
