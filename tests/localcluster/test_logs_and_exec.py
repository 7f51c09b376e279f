"""pods/log (current, previous, tail, limit, timestamps, follow) and pods/exec over the WebSocket channels."""

from __future__ import annotations

import contextlib
import gc
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from host.localcluster import LocalCluster
from host.localcluster.testing import python_pod, sleeping_pod, wait_for

FIVE_LINES = "import sys, time\nfor i in range(5):\n    print(f'line {i}')\nprint('oops', file=sys.stderr)\ntime.sleep(600)"


def running(api: Any, name: str) -> None:
    wait_for(
        lambda: api.read_namespaced_pod(name, "default").status.phase == "Running", what=f"{name} Running"
    )


def log_of(api: Any, name: str, **kwargs: Any) -> str:
    text: str = api.read_namespaced_pod_log(name, "default", **kwargs)
    return text


def test_logs_hold_stdout_and_stderr_and_honour_tail_and_limit(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", python_pod("chatty", FIVE_LINES))
    wait_for(lambda: log_of(node_api, "chatty").count("\n") == 6, what="six log lines")
    assert log_of(node_api, "chatty") == "line 0\nline 1\nline 2\nline 3\nline 4\noops\n"
    assert log_of(node_api, "chatty", tail_lines=2) == "line 4\noops\n"
    assert log_of(node_api, "chatty", limit_bytes=10) == "line 0\nlin"
    stamped = log_of(node_api, "chatty", timestamps=True, tail_lines=1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n", stamped)
    assert log_of(node_api, "chatty", since_seconds=3600).count("\n") == 6


def test_previous_log_is_the_instance_before_the_current_one(node_api: Any) -> None:
    code = "import uuid, sys\nprint('run', uuid.uuid4().hex)\nsys.exit(1)"
    node_api.create_namespaced_pod("default", python_pod("again", code))
    wait_for(
        lambda: (
            (s := node_api.read_namespaced_pod("again", "default").status.container_statuses)
            and s[0].restart_count >= 2
        ),
        timeout=60,
        what="two restarts",
    )
    previous = log_of(node_api, "again", previous=True)
    current = wait_for(lambda: log_of(node_api, "again"), what="output of the current instance")
    assert current.startswith("run ")
    assert previous.startswith("run ")
    assert current != previous


def test_previous_log_of_a_container_that_never_restarted_is_a_bad_request(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("fresh"))
    running(node_api, "fresh")
    with pytest.raises(ApiException) as caught:
        log_of(node_api, "fresh", previous=True)
    assert caught.value.status == 400
    assert (
        json.loads(caught.value.body)["message"]
        == 'previous terminated container "app" in pod "fresh" not found'
    )


def test_pods_with_several_containers_need_a_container_name(node_api: Any) -> None:
    manifest = python_pod("duo", "print('first')\nimport time\ntime.sleep(600)")
    manifest["spec"]["containers"].append(
        {
            "name": "second",
            "image": "python:3.12",
            "command": ["python", "-u", "-c", "print('second')\nimport time\ntime.sleep(600)"],
        }
    )
    node_api.create_namespaced_pod("default", manifest)
    running(node_api, "duo")
    with pytest.raises(ApiException) as caught:
        log_of(node_api, "duo")
    assert caught.value.status == 400
    assert "choose one of: [app second]" in json.loads(caught.value.body)["message"]
    wait_for(
        lambda: log_of(node_api, "duo", container="second") == "second\n", what="the second container's log"
    )


def test_logs_of_a_container_still_waiting_are_a_bad_request(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("waits", image="invalid.example/x:1"))
    with pytest.raises(ApiException) as caught:
        wait_for(lambda: log_of(node_api, "waits") and False, timeout=5)
    assert caught.value.status == 400
    assert "is waiting to start" in json.loads(caught.value.body)["message"]


def test_follow_streams_lines_until_the_container_exits(node_api: Any) -> None:
    code = "import time\nfor i in range(8):\n    print('tick', i)\n    time.sleep(0.05)"
    node_api.create_namespaced_pod("default", python_pod("ticker", code, restart_policy="Never"))
    wait_for(
        lambda: node_api.read_namespaced_pod("ticker", "default").status.container_statuses, what="a status"
    )
    wait_for(
        lambda: (
            node_api.read_namespaced_pod("ticker", "default").status.container_statuses[0].started is not None
        )
    )
    response = wait_for(
        lambda: _try_follow(node_api, "ticker"),
        what="the log stream to open",
    )
    lines = [line.decode() for line in response.stream(amt=None) if line]
    response.release_conn()
    assert "".join(lines) == "".join(f"tick {i}\n" for i in range(8))


def _try_follow(api: Any, name: str) -> Any:
    try:
        return api.read_namespaced_pod_log(name, "default", follow=True, _preload_content=False)
    except ApiException as error:
        if error.status == 400:
            return None
        raise


@contextlib.contextmanager
def exec_in(api: Any, name: str, command: list[str], **kwargs: Any) -> Iterator[Any]:
    response = stream(
        api.connect_get_namespaced_pod_exec,
        name,
        "default",
        command=command,
        stderr=True,
        stdout=True,
        tty=False,
        _preload_content=False,
        **kwargs,
    )
    try:
        yield response
    finally:
        response.close()
        # kubernetes 37's WSClient.close() leaves the socket open once the server has closed the
        # stream (which it always does after the exit status); shut it down ourselves.
        if response.sock is not None:
            response.sock.shutdown()


def test_exec_returns_stdout_stderr_and_exit_code(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("box", env={"COLOR": "blue"}))
    running(node_api, "box")
    with exec_in(
        node_api, "box", ["sh", "-c", "echo out $COLOR; echo err >&2; exit 3"], stdin=False
    ) as response:
        response.run_forever(timeout=30)
        assert response.read_stdout() == "out blue\n"
        assert response.read_stderr() == "err\n"
        assert response.returncode == 3
    with exec_in(node_api, "box", ["true"], stdin=False) as ok:
        ok.run_forever(timeout=30)
        assert ok.returncode == 0


# The client's preloaded mode never closes its WebSocket (kubernetes 37); the warning is the client's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_exec_preloaded_output_joins_both_streams(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("pre"))
    running(node_api, "pre")
    output = stream(
        node_api.connect_get_namespaced_pod_exec,
        "pre",
        "default",
        command=["python", "-c", "print('hello')"],
        stdout=True,
        stderr=True,
    )
    assert output == "hello\n"
    gc.collect()


def test_exec_forwards_stdin_until_it_is_closed(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("cat"))
    running(node_api, "cat")
    with exec_in(
        node_api, "cat", ["python", "-c", "import sys; print(sys.stdin.read().upper(), end='')"], stdin=True
    ) as response:
        response.write_stdin("hello ")
        response.write_stdin("there")
        assert response.subprotocol == "v5.channel.k8s.io"
        response.close_channel(0)
        response.run_forever(timeout=30)
        assert response.read_stdout() == "HELLO THERE"
        assert response.returncode == 0


def test_exec_of_a_missing_command_exits_127(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("nocmd"))
    running(node_api, "nocmd")
    with exec_in(node_api, "nocmd", ["no-such-command-anywhere"], stdin=False) as response:
        response.run_forever(timeout=30)
        assert response.returncode == 127
        assert "executable file not found" in response.read_stderr()


def test_exec_into_a_finished_container_is_refused(node: LocalCluster, node_api: Any) -> None:
    node_api.create_namespaced_pod("default", python_pod("done", "pass", restart_policy="Never"))
    wait_for(
        lambda: node_api.read_namespaced_pod("done", "default").status.phase == "Succeeded", what="Succeeded"
    )
    with pytest.raises(ApiException) as caught:
        stream(
            node_api.connect_get_namespaced_pod_exec,
            "done",
            "default",
            command=["true"],
            stdout=True,
            stderr=True,
        )
    assert "400" in str(caught.value.reason)


def test_exec_also_speaks_the_v4_channel_protocol(node_api: Any) -> None:
    node_api.create_namespaced_pod("default", sleeping_pod("old"))
    running(node_api, "old")
    with exec_in(
        node_api,
        "old",
        ["sh", "-c", "echo v4; exit 5"],
        stdin=False,
        _headers={"sec-websocket-protocol": "v4.channel.k8s.io"},
    ) as response:
        response.run_forever(timeout=30)
        assert response.subprotocol == "v4.channel.k8s.io"
        assert response.read_stdout() == "v4\n"
        assert response.returncode == 5
