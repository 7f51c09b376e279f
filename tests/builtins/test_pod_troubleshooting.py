"""The six built-in workflows end to end: local cluster, real host, real debug backend and agent.

Each runs against the demo's sample app (`checksum_catalogue` is its CPU hotspot, `remember_session`
leaks, a thread is named `metrics-reporter`) with its defaults and with per-call overrides, and
against pods it cannot act on (no Python process, a pid that is not there, several Python processes).
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from host.config import parse_config
from host.model.findings import Finding
from host.workflows.builtins import DEBUG_BUILTINS, builtin_settings
from tests.builtins.conftest import BuiltinsEnv, free_port, only, table_text

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow, pytest.mark.timeout(240)]


def attachment(finding: Finding, media_type: str) -> bytes:
    found = [a for a in finding.attachments if a.media_type == media_type]
    assert found, f"no {media_type} attachment in {[a.name for a in finding.attachments]}"
    return found[0].data


async def accepts_tcp(port: int, *, timeout: float = 20) -> bool:
    """Whether 127.0.0.1:port accepts a connection within `timeout` (the local cluster shares our network)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.2)


# --- loading --------------------------------------------------------------------------------


DEBUG_CAPABILITIES = {
    "python-profiler": {"debug.pythonProfile"}, "pod-process-list": set(),
    "python-memory-analysis": {"debug.pythonMemory"}, "debugger-stack-trace": {"debug.pythonStackTrace"},
    "python-process-inspector": {"debug.pythonInspect"}, "python-debugger": {"debug.pythonDebugger"},
    "go-profiler": {"debug.goProfile"}, "node-profiler": {"debug.nodeProfile"},
    "network-check": {"debug.networkCheck"},
    "java-profiler": {"debug.javaThreadDump", "debug.javaProfile", "debug.javaHeapHistogram"},
}
# What every debug built-in holds besides its action; the network check lists no processes.
BASE_CAPABILITIES = {"network-check": {"k8s.read", "findings.report"}}


async def test_loads_all_six_with_exactly_the_params_and_capabilities_config_grants(env: BuiltinsEnv) -> None:
    chart = parse_config({})
    for name in DEBUG_BUILTINS:
        base = BASE_CAPABILITIES.get(name, {"k8s.read", "findings.report", "debug.processList"})
        wf = env.host.registry.get(name)
        assert wf is not None, f"{name} is not loaded"
        settings = builtin_settings(chart, name)
        assert settings is not None
        # Granted exactly what the manifest declares, which is exactly what the tool needs.
        assert wf.policy.effective == frozenset(base | DEBUG_CAPABILITIES[name]), name
        assert wf.policy.granted.capabilities == frozenset(wf.manifest.capabilities), name
        assert [t.on for t in wf.manifest.triggers] == ["manual"], name
        assert {"pid", "process"} <= set(wf.manifest.params) or name == "network-check", name
        for param, value in settings.params.items():
            assert wf.manifest.params[param].default == value, f"{name}.{param}: manifest default differs from the chart's"


# --- pod-process-list -----------------------------------------------------------------------


async def test_process_list_flags_the_sample_app_as_python(env: BuiltinsEnv) -> None:
    finding = only(await env.run("pod-process-list", "web-1"))
    assert finding.title.startswith("1 process in shop/web-1 (container app), 1 Python: pid ")
    assert "host.demo.sample_app" in finding.title
    assert "python-profiler" in finding.body  # says what to run next, with the pid
    rows = finding.tables[0].rows
    assert len(rows) == 1 and rows[0][3] == "3.11"


async def test_process_list_narrowed_to_a_pid_shows_only_that_process(env: BuiltinsEnv) -> None:
    pythons = await env.python_pids("two-pythons")
    assert len(pythons) == 2  # the sh was replaced by the sleeper (exec)
    app = next(pid for pid, command in pythons.items() if "sample_app" in command)
    finding = only(await env.run("pod-process-list", "two-pythons", {"pid": app}))
    assert finding.title.startswith("1 process in shop/two-pythons (container app) (of 2), 1 Python: ")
    assert [int(str(row[0])) for row in finding.tables[0].rows] == [app]
    assert f"`pid={app}` was asked for" in finding.body


# --- python-profiler ------------------------------------------------------------------------


async def test_profiler_defaults_sample_two_seconds_and_attach_a_flamegraph(env: BuiltinsEnv) -> None:
    finding = only(await env.run("python-profiler", "web-1"))
    assert finding.title.startswith("Profile of shop/web-1 pid ")
    assert "(python -u -m host.demo.sample_app): " in finding.title
    assert "Sampled for 2 s at 100 Hz (idle threads left out)" in finding.body
    assert "It is the only Python process in the container." in finding.body
    # The sample app mostly sleeps: at 100 Hz without idle threads py-spy may catch nothing,
    # and the finding must then say so rather than show an empty table.
    rows = finding.tables[0].rows
    assert rows or "py-spy took no samples" in finding.body
    assert b"<svg" in attachment(finding, "image/svg+xml")[:400]


async def test_profiler_overrides_reach_py_spy_and_find_the_hot_function(env: BuiltinsEnv) -> None:
    params = {"duration": 2, "includeIdle": True, "rate": 250}
    finding = only(await env.run("python-profiler", "web-1", params))
    assert "Sampled for 2 s at 250 Hz (idle threads included)" in finding.body
    functions = [str(row[1]) for row in finding.tables[0].rows]
    assert "checksum_catalogue" in functions
    # Only with idle threads sampled does the waiting metrics-reporter thread show up.
    assert "background_reporter" in functions
    assert b"checksum_catalogue" in attachment(finding, "image/svg+xml")


# --- debugger-stack-trace -------------------------------------------------------------------


async def test_stack_trace_defaults_name_every_thread(env: BuiltinsEnv) -> None:
    finding = only(await env.run("debugger-stack-trace", "web-1"))
    assert "metrics-reporter" in finding.title and "MainThread" in finding.title
    assert "One dump taken with py-spy." in finding.body
    assert "background_reporter (" in finding.body
    threads = {str(row[0]) for row in finding.tables[0].rows}
    assert threads == {"MainThread", "metrics-reporter"}


async def test_stack_trace_takes_two_dumps_with_locals_when_asked(env: BuiltinsEnv) -> None:
    finding = only(await env.run("debugger-stack-trace", "web-1", {"count": 2, "interval": 0.3, "locals": True}))
    assert ": 2 dumps, 2 threads" in finding.title
    assert "Dump 2 of 2" in finding.body
    assert "arg stop = " in finding.body  # background_reporter's argument, read by py-spy


# --- python-memory-analysis -----------------------------------------------------------------


@pytest.mark.gdb_call
async def test_memory_analysis_defaults_point_at_the_leak(env: BuiltinsEnv) -> None:
    finding = only(await env.run("python-memory-analysis", "web-1"))
    assert finding.title.startswith("Memory of shop/web-1 pid ")
    assert "still held after 2 s" in finding.title
    top = finding.tables[0]
    assert top.title == "Top allocation sites"
    assert any("remember_session" in str(row[1]) or "sample_app.py" in str(row[2]) for row in top.rows)
    assert finding.severity == "medium", finding.body  # about 4 KiB per request, never freed
    assert b"<html" in attachment(finding, "text/html")[:2000].lower()


@pytest.mark.gdb_call
async def test_memory_analysis_takes_the_duration_and_pid_given(env: BuiltinsEnv) -> None:
    [pid] = await env.python_pids("web-1")
    finding = only(await env.run("python-memory-analysis", "web-1", {"duration": 1, "pid": pid}))
    assert f"pid {pid} " in finding.title and "still held after 1 s" in finding.title
    assert f"`pid={pid}` was asked for." in finding.body


# --- python-process-inspector ---------------------------------------------------------------


@pytest.mark.gdb_call
async def test_inspector_defaults_list_the_interpreter_and_the_modules_the_app_imported(env: BuiltinsEnv) -> None:
    finding = only(await env.run("python-process-inspector", "web-1"))
    assert finding.title.startswith("CPython 3.11.")
    assert "in shop/web-1 pid " in finding.title
    assert "`hashlib`" in finding.body and "`threading`" in finding.body
    assert "metrics-reporter" in table_text(finding)


@pytest.mark.gdb_call
async def test_inspector_picks_processes_by_command_line(env: BuiltinsEnv) -> None:
    result = await env.run("python-process-inspector", "two-pythons", {"process": "sample_app"})
    finding = only(result)
    assert "host.demo.sample_app" in finding.title
    assert "Its command line matches `process=sample_app` (1 of 2 Python processes" in finding.body
    assert "`hashlib`" in finding.body


# --- python-debugger ------------------------------------------------------------------------


@pytest.mark.gdb_call
async def test_debugger_defaults_listen_on_the_configured_port_and_say_how_to_attach(env: BuiltinsEnv) -> None:
    port = env.default_port
    finding = only(await env.run("python-debugger", "debug-defaults"))
    assert finding.title.endswith(f"on port {port}")
    assert f"kubectl port-forward --namespace shop pod/debug-defaults {port}:{port}" in finding.body
    launch = json.loads(attachment(finding, "application/json"))
    config = launch["configurations"][0]
    assert config["request"] == "attach" and config["connect"] == {"host": "localhost", "port": port}
    assert await accepts_tcp(port)


@pytest.mark.gdb_call
async def test_debugger_override_port_and_a_second_run_says_it_already_listens(env: BuiltinsEnv) -> None:
    port = free_port()
    finding = only(await env.run("python-debugger", "debug-override", {"port": port}))
    assert f"pod/debug-override {port}:{port}" in finding.body
    assert '"port": ' + str(port) in finding.body
    assert await accepts_tcp(port)
    again = only(await env.run("python-debugger", "debug-override", {"port": free_port()}))
    assert again.title.startswith("Could not start a debugger in shop/debug-override pid ")
    assert again.severity == "low"
    assert "already_debugging" in again.body


# --- pods the built-ins cannot act on -------------------------------------------------------


@pytest.mark.parametrize("workflow", ["python-profiler", "python-process-inspector"])
async def test_a_pod_without_python_gets_a_clear_finding_not_an_error(env: BuiltinsEnv, workflow: str) -> None:
    result = await env.run(workflow, "no-python", container=None)  # the container comes from the pod
    finding = only(result)
    assert finding.title == "No Python process in shop/no-python (container app)"
    assert finding.severity == "info"
    assert "none of them a CPython interpreter" in finding.body
    assert "sleep 300" in table_text(finding)


async def test_a_pid_that_is_not_in_the_pod_gets_a_clear_finding(env: BuiltinsEnv) -> None:
    [pid] = await env.python_pids("web-1")
    missing = 4_000_000
    finding = only(await env.run("debugger-stack-trace", "web-1", {"pid": missing}))
    assert finding.title == f"No process {missing} in shop/web-1 (container app)"
    assert finding.severity == "low"
    assert str(pid) in finding.body


async def test_a_pattern_matching_nothing_gets_a_clear_finding(env: BuiltinsEnv) -> None:
    finding = only(await env.run("python-profiler", "web-1", {"process": "gunicorn"}))
    assert finding.title == 'No process in shop/web-1 (container app) matches "gunicorn"'


async def test_several_python_processes_are_all_handled_each_in_its_own_finding(env: BuiltinsEnv) -> None:
    pids = list(await env.python_pids("two-pythons"))
    assert len(pids) == 2
    result = await env.run("debugger-stack-trace", "two-pythons")
    assert result.outcome == "ok", result.error
    assert sorted(int(f.title.split(" pid ")[1].split()[0]) for f in result.findings) == sorted(pids)
    for finding in result.findings:
        assert "It is one of the 2 Python processes in the container" in finding.body
    app = next(f for f in result.findings if "sample_app" in f.title)
    assert "metrics-reporter" in app.title
