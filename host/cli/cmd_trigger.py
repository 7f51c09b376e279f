"""`wfhost trigger WORKFLOW --pod NS/NAME`: ask a running host, over its API, to run a workflow.

URL and token come from flags or the environment (WFHOST_URL, WFHOST_TOKEN). Without a token, the
current kubeconfig context's bearer token is sent (`--kubeconfig`, `--context`, as kubectl's), so a
host with `api.auth.kubernetes.enabled` runs it only if the caller's own rights allow. Prints the
API's JSON answer; exit 0 when the invocation was accepted (and, with --wait, ran ok), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from host.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, parse_params
from host.cli.kube_token import kubeconfig_token
from host.errors import ConfigError
from host.text import dumps_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("trigger", help="ask a running host to run a workflow against a pod")
    p.add_argument("workflow")
    p.add_argument("--pod", required=True, metavar="NAMESPACE/NAME")
    p.add_argument("--container", default=None)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--wait", action="store_true", help="wait for the invocation and print its findings")
    p.add_argument("--url", default=os.environ.get("WFHOST_URL", "http://127.0.0.1:8080"))
    p.add_argument("--token", default=os.environ.get("WFHOST_TOKEN"),
                   help="bearer token (default: WFHOST_TOKEN, else the current kubeconfig context's token)")
    p.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig for the default token (default: "
                   "KUBECONFIG, else ~/.kube/config)")
    p.add_argument("--context", default=None, help="kubeconfig context for the default token (default: current)")
    p.add_argument("--timeout", type=float, default=600)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    namespace, sep, pod = args.pod.partition("/")
    if not sep or not namespace or not pod:
        return fail(f"--pod {args.pod!r}: expected NAMESPACE/NAME")
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        return fail(str(exc))
    token = args.token
    if not token:
        try:
            token = kubeconfig_token(args.kubeconfig, context=args.context)
        except ConfigError as exc:
            return fail(f"no API token: {exc}", EXIT_USAGE)
    target: dict[str, Any] = {"namespace": namespace, "pod": pod}
    if args.container:
        target["container"] = args.container
    body = {"workflow": args.workflow, "target": target, "params": params, "wait": args.wait}
    return asyncio.run(_post(args.url, token, body, timeout=args.timeout))


async def _post(url: str, token: str, body: dict[str, Any], *, timeout: float) -> int:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session, session.post(
            f"{url.rstrip('/')}/api/v1/trigger", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            text = await resp.text()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return fail(f"cannot reach {url}: {exc or type(exc).__name__}", EXIT_USAGE)
    try:
        doc = json.loads(text)
    except ValueError:
        return fail(f"{url} answered {status} with no JSON: {text[:300]}", EXIT_FAILED)
    sys.stdout.write(dumps_json(doc, indent=2))
    sys.stdout.write("\n")
    if status >= 400:
        return fail(str(doc.get("error", status)), EXIT_FAILED)
    if doc.get("outcome") not in (None, "ok"):
        return EXIT_FAILED
    return EXIT_OK
