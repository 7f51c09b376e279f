"""`debugger`: debugpy listens on the port and answers a DAP client."""

from __future__ import annotations

import socket

import pytest

from tests.agent.conftest import SpawnTarget, run_agent
from tests.agent.dap import dap_initialize

pytestmark = pytest.mark.gdb_call


def test_a_debugpy_client_can_initialize_on_the_opened_port(
    spawn_target: SpawnTarget, free_port: int
) -> None:
    target = spawn_target("named_threads.py")

    run = run_agent(
        "debugger",
        "--pid",
        str(target.pid),
        "--port",
        str(free_port),
        "--pod",
        "shop-7",
        "--namespace",
        "shop",
    )

    result = run.result
    assert (result["host"], result["port"]) == ("127.0.0.1", free_port)
    assert (
        result["portForwardCommand"]
        == f"kubectl port-forward --namespace shop pod/shop-7 {free_port}:{free_port}"
    )
    assert result["launchJson"]["request"] == "attach"
    assert result["launchJson"]["connect"] == {"host": "localhost", "port": free_port}
    response = dap_initialize(free_port)
    assert response["command"] == "initialize"
    assert response["success"] is True
    assert response["body"]["supportsConfigurationDoneRequest"] is True


def test_a_slim_interpreter_gets_the_agents_debugpy(spawn_target: SpawnTarget, free_port: int) -> None:
    target = spawn_target("named_threads.py", python_flags=["-I", "-S"])

    run = run_agent("debugger", "--pid", str(target.pid), "--port", str(free_port))

    assert run.result["debugpySource"] == "agent"
    assert dap_initialize(free_port)["success"] is True


def test_refuses_a_port_already_in_use(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        run = run_agent("debugger", "--pid", str(target.pid), "--port", str(port))

    assert run.error["code"] == "port_in_use"
    assert str(port) in run.error["message"]


def test_refuses_a_second_debugger_in_the_same_process(spawn_target: SpawnTarget, free_port: int) -> None:
    target = spawn_target("named_threads.py")
    assert run_agent("debugger", "--pid", str(target.pid), "--port", str(free_port)).reply["ok"]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        other_port = probe.getsockname()[1]
    run = run_agent("debugger", "--pid", str(target.pid), "--port", str(other_port))

    assert run.error["code"] == "already_debugging"
