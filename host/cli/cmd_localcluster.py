"""`wfhost localcluster`: run the local Kubernetes API server (and kubelet) standalone until SIGINT/SIGTERM.

Prints the server URL as the first line on stdout and, with `--kubeconfig-out`, writes a
kubeconfig for it, so kubectl-style tools and `wfhost run --kubeconfig` can use it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from host.localcluster import ClusterServer, LocalClusterSettings, kubeconfig
from host.localcluster.controlplane.build import ControlPlaneUnavailable
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.logs import configure_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "localcluster", help="run a local Kubernetes API server whose kubelet runs pods as processes"
    )
    p.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument(
        "--kubeconfig-out", type=Path, default=None, metavar="PATH", help="write a kubeconfig here"
    )
    p.add_argument(
        "--control-plane",
        choices=("builtin", "kubernetes"),
        default="builtin",
        help="builtin: the pip-only stand-in (default); kubernetes: real etcd, kube-apiserver, "
        "controller-manager and scheduler built with Go from tools/controlplane (first use builds it)",
    )
    p.add_argument("--no-kubelet", action="store_true", help="serve the API only; pods are never run")
    p.add_argument("--fast-backoff", action="store_true", help="sub-second restart and image-pull back-offs")
    p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(format=args.log_format, level=args.log_level)
    if args.control_plane == "kubernetes":
        return serve_kubernetes(args.port, args.kubeconfig_out)
    overrides: dict[str, object] = {"host": args.host, "port": args.port, "kubelet": not args.no_kubelet}
    if args.fast_backoff:
        settings = LocalClusterSettings.for_tests(**overrides)
    else:
        settings = LocalClusterSettings.model_validate(overrides)
    try:
        return asyncio.run(serve(settings, args.kubeconfig_out))
    except OSError as exc:
        print(
            f"wfhost localcluster: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1


async def serve(
    settings: LocalClusterSettings, kubeconfig_out: Path | None, *, out: TextIO = sys.stdout
) -> int:
    """Serve until SIGINT or SIGTERM; then stop every pod process and exit 0."""
    server = ClusterServer(settings)
    await server.start()
    try:
        if kubeconfig_out is not None:
            kubeconfig.write(kubeconfig_out, server.url)
        print(server.url, file=out, flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
    finally:
        await server.stop()
    return 0


def serve_kubernetes(port: int, kubeconfig_out: Path | None, *, out: TextIO = sys.stdout) -> int:
    """Run the real control plane until SIGINT or SIGTERM (the process kubelet does not join it yet)."""
    plane = KubernetesControlPlane(port=port)
    try:
        plane.start()
    except ControlPlaneUnavailable as exc:
        print(f"wfhost localcluster: {exc}", file=sys.stderr)
        return 1
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        if kubeconfig_out is not None:
            kubeconfig_out.write_bytes(plane.kubeconfig_path.read_bytes())
            kubeconfig_out.chmod(0o600)
        print(plane.url, file=out, flush=True)
        stopping.wait()
    finally:
        plane.stop()
    return 0
