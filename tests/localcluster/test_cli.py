"""`wfhost localcluster` as a standalone process: prints its URL, writes a kubeconfig, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import kubernetes
import psutil

from host.localcluster.testing import sleeping_pod, wait_for

# main.py wires the subcommand in; this drives `register` the same way without depending on it.
LAUNCH = (
    "import argparse, sys\n"
    "from host.cli import cmd_localcluster\n"
    "parser = argparse.ArgumentParser(prog='wfhost')\n"
    "cmd_localcluster.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def test_serves_until_sigterm_with_a_working_kubeconfig(tmp_path: Path) -> None:
    config_path = tmp_path / "out" / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "localcluster",
            "--port",
            "0",
            "--kubeconfig-out",
            str(config_path),
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with kubernetes.config.new_client_from_config(config_file=str(config_path)) as client:
            api = kubernetes.client.CoreV1Api(client)
            assert client.configuration.host == url
            api.create_namespaced_pod("default", sleeping_pod("standalone"))
            wait_for(
                lambda: api.read_namespaced_pod("standalone", "default").status.phase == "Running",
                what="Running",
            )
            children = psutil.Process(process.pid).children(recursive=True)
            assert children, "the kubelet should run the container as a child process"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        wait_for(
            lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children),
            timeout=15,
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_a_busy_port_is_reported_and_exits_nonzero(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", LAUNCH, "localcluster", "--port", str(port), "--no-kubelet"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
