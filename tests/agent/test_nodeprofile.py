"""`nodeprofile`: a Node.js CPU profile through the inspector that SIGUSR1 opens on loopback,
closed again afterwards; an inspector already open is used and left open; clear errors when
none opens or the process is not Node.js."""

from __future__ import annotations

import base64
import json
import socket
import time
from pathlib import Path

import pytest

from host.agent import netns
from tests.agent.conftest import TARGETS, Spawner, run_agent

HOT = str(TARGETS / "node_hot.js")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def default_port_free() -> None:
    if not _port_free(9229):
        pytest.skip("something on this machine listens on 127.0.0.1:9229, the inspector's port")


def _artifact(result: dict[str, object], name: str) -> bytes:
    artifacts = result["artifacts"]
    assert isinstance(artifacts, list)
    (found,) = [a for a in artifacts if a["name"] == name]
    return base64.b64decode(found["data"])


@pytest.mark.usefixtures("default_port_free")
def test_the_hot_function_leads_and_the_inspector_is_closed_again(spawn: Spawner, node: str) -> None:
    target = spawn([node, HOT])

    run = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "2")

    result = run.result
    assert (result["inspectorPort"], result["inspectorWasOpen"], result["inspectorClosed"]) == (9229, False, True)
    assert result["nodeVersion"] and result["nodeVersion"][0].isdigit()
    hottest = result["topFunctions"][0]
    assert (hottest["function"], Path(hottest["file"]).name) == ("burnCpu", "node_hot.js")
    assert hottest["selfShare"] > 0.3
    assert result["samples"] > 50
    assert b"burnCpu" in _artifact(result, "flamegraph.svg")
    profile = json.loads(_artifact(result, "profile.cpuprofile"))
    assert {"nodes", "samples", "startTime", "endTime"} <= set(profile)
    assert 9229 not in {s.local_port for s in netns.listening(target.pid)}
    assert "Debugger listening on ws://127.0.0.1:9229/" in spawn.stderr(target)
    # closed for good: the next profile opens it again
    again = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "1")
    assert again.result["inspectorClosed"] is True


@pytest.mark.usefixtures("default_port_free")
def test_a_function_v8_inlined_long_before_the_profile_is_still_named(spawn: Spawner, node: str) -> None:
    target = spawn([node, HOT])
    time.sleep(10)  # burnCpu is optimized and inlined into loop and processImmediate by now

    hot = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "2").result["topFunctions"][0]

    # Without the agent's precise coverage (--keep-jit) V8 blamed it on processImmediate (91-99 %).
    assert (hot["function"], hot["selfShare"] > 0.5) == ("burnCpu", True)


def test_an_inspector_already_open_is_used_and_left_open(spawn: Spawner, node: str) -> None:
    port = 9231
    if not _port_free(port):
        pytest.skip(f"127.0.0.1:{port} is taken")
    target = spawn([node, f"--inspect=127.0.0.1:{port}", HOT])

    run = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "1")

    result = run.result
    assert (result["inspectorPort"], result["inspectorWasOpen"], result["inspectorClosed"]) == (port, True, False)
    assert result["topFunctions"][0]["function"] == "burnCpu"
    assert port in {s.local_port for s in netns.listening(target.pid)}


@pytest.mark.usefixtures("default_port_free")
def test_a_process_that_handles_sigusr1_itself_gets_inspector_unavailable(spawn: Spawner, node: str) -> None:
    target = spawn([node, HOT, "--trap-sigusr1"])

    run = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.error["code"] == "inspector_unavailable"
    assert "opened no inspector within 10 s of SIGUSR1" in run.error["message"]
    assert "SIGUSR1 handled by the application" in spawn.stderr(target)


def test_a_go_process_is_refused_naming_its_runtime(spawn: Spawner, go_plain_binary: Path) -> None:
    target = spawn([str(go_plain_binary)])

    run = run_agent("nodeprofile", "--pid", str(target.pid), "--duration", "1")

    assert run.error["code"] == "wrong_runtime"
    assert run.error["message"] == f"pid {target.pid} (go_plain) is a go process, not node"


def test_bad_arguments_are_refused() -> None:
    assert run_agent("nodeprofile", "--pid", "1", "--duration", "301").error["code"] == "bad_argument"
    assert run_agent("nodeprofile", "--pid", "1", "--duration", "1", "--interval", "5").error["code"] == "bad_argument"
