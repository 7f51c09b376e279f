"""How config switches and tunes the built-ins, seen through a real host's registry (no cluster needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from host.config import parse_config
from host.runtime.app import Host
from host.workflows.builtins import DEBUG_BUILTINS

# Loading a workflow starts a Deno worker; switching most of them off keeps these tests quick.
ALL_OFF: dict[str, Any] = {
    key: {"enabled": False}
    for key in ("pythonProfiler", "podProcessList", "pythonMemoryAnalysis", "debuggerStackTrace",
                "pythonProcessInspector", "pythonDebugger", "goProfiler", "nodeProfiler", "javaProfiler",
                "networkCheck")
}


@pytest.fixture
async def start_host(tmp_path: Path) -> AsyncIterator[Any]:
    hosts: list[Host] = []

    async def start(workflows: dict[str, Any]) -> Host:
        config = parse_config({
            "sandbox": {"stateDir": str(tmp_path / "state")},
            "api": {"enabled": False},
            "workflows": {"podTroubleshooting": workflows},
        })
        host = Host(config, with_cluster=False)
        hosts.append(host)
        await host.start(watch=False)
        return host

    yield start
    for host in hosts:
        await host.stop()


async def test_a_built_in_disabled_in_config_is_not_loaded(start_host: Any) -> None:
    host = await start_host({**ALL_OFF, "podProcessList": {"enabled": True}})
    assert host.registry.get("python-profiler") is None
    debug = [w.name for w in host.registry.workflows() if w.name in DEBUG_BUILTINS]
    assert debug == ["pod-process-list"]


async def test_config_values_become_the_built_ins_params(start_host: Any) -> None:
    host = await start_host({
        **ALL_OFF,
        "pythonProfiler": {"enabled": True, "defaultDuration": 7, "includeIdle": True},
        "debuggerStackTrace": {"enabled": True, "tracesAmount": 3, "sleepDuration": 0.5},
    })
    profiler = host.registry.get("python-profiler")
    stack = host.registry.get("debugger-stack-trace")
    assert profiler is not None and stack is not None
    assert profiler.config_params == {"duration": 7, "includeIdle": True}
    assert stack.config_params == {"count": 3, "interval": 0.5}


async def test_the_go_node_and_network_settings_become_their_params(start_host: Any) -> None:
    host = await start_host({
        **ALL_OFF,
        "goProfiler": {"enabled": True, "defaultDuration": 12, "pprofPort": 6061},
        "nodeProfiler": {"enabled": True, "defaultDuration": 3},
        "networkCheck": {
            "enabled": True, "names": ["db.shop", "api.example.com"], "targets": ["db.shop:5432", "https://x.example/"],
            "timeoutSeconds": 2.5, "slowSeconds": 0.5,
        },
    })
    go, node, network = (host.registry.get(n) for n in ("go-profiler", "node-profiler", "network-check"))
    assert go is not None and node is not None and network is not None
    assert go.config_params == {"duration": 12, "port": 6061}
    assert node.config_params == {"duration": 3}
    assert network.config_params == {
        "names": "db.shop,api.example.com", "targets": "db.shop:5432,https://x.example/",
        "timeoutSeconds": 2.5, "slowSeconds": 0.5,
    }
    assert "debug.processList" not in network.policy.effective  # it lists sockets, not processes


async def test_the_java_settings_become_its_params(start_host: Any) -> None:
    host = await start_host({**ALL_OFF, "javaProfiler": {"enabled": True, "defaultDuration": 20, "heapHistogram": True}})
    java = host.registry.get("java-profiler")
    assert java is not None
    assert java.config_params == {"duration": 20, "heapHistogram": True}
    assert {"debug.javaThreadDump", "debug.javaProfile", "debug.javaHeapHistogram"} <= java.policy.effective


def test_network_entries_with_spaces_or_commas_are_refused_with_their_key() -> None:
    from host.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config({"workflows": {"podTroubleshooting": {"networkCheck": {"targets": ["db:5432, api:80"]}}}})
    assert "workflows.podTroubleshooting.networkCheck.targets" in str(info.value)


def test_a_config_value_outside_what_the_agent_accepts_fails_fast_with_its_key() -> None:
    # py-spy (and so the agent and the manifest) stops at 300 s: the config model refuses more.
    from host.config import parse_config
    from host.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config({"workflows": {"podTroubleshooting": {"pythonProfiler": {"defaultDuration": 400}}}})
    assert "workflows.podTroubleshooting.pythonProfiler.defaultDuration" in str(info.value)
