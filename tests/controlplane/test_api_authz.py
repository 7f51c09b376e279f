"""The API's authentication and authorization with Kubernetes identities, on the real kube-apiserver.

Two ServiceAccounts get their rights from real Roles: `reader` may get pods in namespace authz-a
only; `debugger` also has what `kubectl debug` needs there (patch pods/ephemeralcontainers, create
pods/exec). Their tokens come from the TokenRequest API. The host runs in this process with
`api.auth.kubernetes.enabled` and the admin kubeconfig (so it may create TokenReviews and
SubjectAccessReviews), and each sentence of the acceptance is checked over HTTP:

- without credentials every data route answers 401 (the routes are taken from the router, so a new
  route that forgets auth fails here);
- the reader of authz-a reads authz-a's findings, not authz-b's (nor those about no namespace), and
  cannot trigger a debug workflow anywhere;
- the debugger of authz-a debugs pods in authz-a only;
- a garbage token and a revoked one (its ServiceAccount deleted) answer 401;
- a host whose own identity may not create TokenReviews fails closed (503), never open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml
from kubernetes import client, config

from host.api.server import PUBLIC
from host.localcluster.controlplane.cluster import KubernetesControlPlane
from host.model.events import Subject
from host.model.findings import Attachment, Finding
from host.runtime.app import Host
from host.service import Service
from tests.chart.support import NAMESPACE, fullname, render
from tests.conftest import make_config
from tests.controlplane.support import kubectl
from tests.logged import logged_at

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

A, B = "authz-a", "authz-b"
STATIC = "static-authz-token"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")

DEBUGGING = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "fake-debugger",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report", "debug.processList"],
  async run(ctx) {
    // Declares a debug capability (so the API asks for kubectl debug's rights) but only waits:
    // nothing is attached to the test's pods.
    await new Promise((resolve) => setTimeout(resolve, 20000));
  },
});
"""

READING = """
import { defineWorkflow } from "@wfhost/sdk";
export default defineWorkflow({
  name: "pod-reader",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report"],
  async run(ctx, event) {
    await ctx.report({ title: `read ${event.target.namespace}/${event.target.pod}` });
  },
});
"""

ROLES = {
    "reader": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    "debugger": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
    ],
}


def _admin(plane: KubernetesControlPlane) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(plane.kubeconfig_path)))


def _apply(plane: KubernetesControlPlane, *objects: dict[str, Any]) -> None:
    kubectl(plane, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def _service_account(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": A}}


def _token(plane: KubernetesControlPlane, account: str) -> str:
    minted = _admin(plane).create_namespaced_service_account_token(
        account, A, {"spec": {"expirationSeconds": 3600}}
    )
    return str(minted.status.token)


@pytest.fixture(scope="module")
def identities(control_plane: KubernetesControlPlane) -> Iterator[dict[str, str]]:
    """Namespaces authz-a and authz-b, a pod `web` in each (never scheduled: nothing runs), the
    two ServiceAccounts with their Roles in authz-a, and a token for each."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in (A, B)
    ]
    _apply(control_plane, *objects)
    pods = [{
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": ns},
        # Selecting a node that does not exist: the pod is real to the API and never starts (one
        # bound to a missing node would be garbage-collected by the controller-manager).
        "spec": {"nodeSelector": {"wfhost.test/nowhere": "true"},
                 "containers": [{"name": "app", "image": "python:3.12"}]},
    } for ns in (A, B)]
    rbac: list[dict[str, Any]] = []
    for name, rules in ROLES.items():
        rbac += [
            _service_account(name),
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": f"wfhost-{name}", "namespace": A}, "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": f"wfhost-{name}", "namespace": A},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"wfhost-{name}"},
             "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": A}]},
        ]
    _apply(control_plane, *pods, *rbac, _service_account("nobody"))
    tokens = {name: _token(control_plane, name) for name in (*ROLES, "nobody")}
    try:
        yield tokens
    finally:
        kubectl(control_plane, "delete", "namespace", A, B, "--wait=false", "--ignore-not-found")


def _workflows(tmp_path: Path) -> tuple[Path, Path]:
    custom = tmp_path / "custom"
    custom.mkdir(exist_ok=True)
    (custom / "debugging.ts").write_text(textwrap.dedent(DEBUGGING))
    (custom / "reading.ts").write_text(textwrap.dedent(READING))
    builtin = tmp_path / "builtin"
    builtin.mkdir(exist_ok=True)
    return custom, builtin


@pytest_asyncio.fixture
async def start(tmp_path: Path) -> AsyncIterator[Any]:
    """Start a host (`Service`: host and API) on a kubeconfig, with Kubernetes identities on."""
    services: list[Service] = []

    async def started(kubeconfig: Path, *, cache_seconds: float = 10) -> Service:
        custom, builtin = _workflows(tmp_path)
        settings = make_config(
            tmp_path / uuid.uuid4().hex[:6],
            api={"host": "127.0.0.1", "port": 0, "token": STATIC,
                 "auth": {"kubernetes": {"enabled": True, "cacheSeconds": cache_seconds}}},
            cluster={"kubeconfig": str(kubeconfig), "namespaces": [A, B]},
            workflows={"builtinDirectory": str(builtin)},
            customWorkflows={"typescript": {"enabled": True, "volume": {"mountPath": str(custom)}}},
            sinks={"log": {"enabled": False}},
        )
        service = Service(Host(settings))
        services.append(service)
        await service.start(watch=False)
        return service

    yield started
    for service in services:
        await service.stop()


async def _call(method: str, url: str, *, token: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as s, s.request(method, url, json=body, headers=headers) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


def _trigger(workflow: str, namespace: str) -> dict[str, Any]:
    return {"workflow": workflow, "target": {"namespace": namespace, "pod": "web"}}


async def _publish(service: Service) -> dict[str, Finding]:
    """One finding about each namespace (with an attachment) and one about no namespace."""
    found = {
        A: Finding(workflow="pod-reader", title="stack trace in a", subject=Subject(kind="Pod", namespace=A, name="web"),
                   attachments=[Attachment(name="trace.txt", media_type="text/plain", data=b"secret of a")]),
        B: Finding(workflow="pod-reader", title="stack trace in b", subject=Subject(kind="Pod", namespace=B, name="web"),
                   attachments=[Attachment(name="trace.txt", media_type="text/plain", data=b"secret of b")]),
        "": Finding(workflow="pod-reader", title="cluster-wide finding"),
    }
    for finding in found.values():
        await service.host.findings.publish(finding)
    return found


@contextlib.contextmanager
def _audit_lines() -> Iterator[list[dict[str, Any]]]:
    """The audit lines logged meanwhile, as the host writes them in a cluster (JSON), even with the
    level at error, which filters out every other info line."""
    lines: list[dict[str, Any]] = []
    with logged_at("error") as out:
        try:
            yield lines
        finally:
            lines += [json.loads(line) for line in out.getvalue().splitlines() if '"audit.api_action"' in line]


def _sample_path(canonical: str) -> str:
    return canonical.replace("{id}", "f-0").replace("{name}", "x.txt")


async def test_without_credentials_every_data_route_answers_401(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any
) -> None:
    service = await start(control_plane.kubeconfig_path)
    await _publish(service)
    assert {"/healthz", "/readyz", "/metrics", "/", "/static"} == PUBLIC  # widening it is a decision
    guarded = 0
    for route in service.api.app.router.routes():
        canonical = route.resource.canonical
        if canonical in PUBLIC or route.method == "HEAD":
            continue
        path = _sample_path(canonical)
        for token in (None, "not-a-token", identities["reader"] + "x"):
            status, doc = await _call(route.method, f"{service.url}{path}", token=token)
            assert status == 401, (route.method, path, token, doc)
            assert "stack trace" not in json.dumps(doc)
        guarded += 1
    assert guarded >= 7  # trigger, alerts, cancel, workflows, findings, a finding, an attachment
    for public in ("/healthz", "/metrics", "/", "/static/findings.js"):
        assert (await _call("GET", f"{service.url}{public}", token=None))[0] == 200, public


async def test_a_reader_of_one_namespace_reads_its_findings_only_and_cannot_debug(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any
) -> None:
    service = await start(control_plane.kubeconfig_path)
    found = await _publish(service)
    url, reader = service.url, identities["reader"]

    status, listing = await _call("GET", f"{url}/api/v1/findings", token=reader)
    assert status == 200, listing
    assert [f["title"] for f in listing["items"]] == ["stack trace in a"]
    status, all_of_them = await _call("GET", f"{url}/api/v1/findings", token=STATIC)
    assert {f["title"] for f in all_of_them["items"]} == {"stack trace in a", "stack trace in b", "cluster-wide finding"}

    assert (await _call("GET", f"{url}/api/v1/findings/{found[A].id}", token=reader))[0] == 200
    status, text = await _call("GET", f"{url}/api/v1/findings/{found[A].id}/attachments/trace.txt", token=reader)
    assert (status, text) == (200, "secret of a")
    for other in (found[B], found[""]):  # as if it did not exist
        status, doc = await _call("GET", f"{url}/api/v1/findings/{other.id}", token=reader)
        assert (status, doc["error"]) == (404, f"no finding {other.id!r}")
        status, doc = await _call("GET", f"{url}/api/v1/findings/{other.id}/attachments/trace.txt", token=reader)
        assert status == 404 and "secret" not in json.dumps(doc)
    status, doc = await _call("GET", f"{url}/api/v1/findings?namespace={B}", token=reader)
    assert status == 403
    assert f'get pods in namespace "{B}"' in doc["error"]
    assert (await _call("GET", f"{url}/api/v1/workflows", token=reader))[0] == 200

    for namespace in (A, B):
        status, doc = await _call("POST", f"{url}/api/v1/trigger", token=reader, body=_trigger("fake-debugger", namespace))
        assert status == 403, doc
        assert doc["error"].startswith("system:serviceaccount:authz-a:reader may not run workflow fake-debugger")
        assert f'patch pods/ephemeralcontainers in namespace "{namespace}"' in doc["error"]
    # A read-only workflow needs only get pods: in a yes, in b no.
    status, doc = await _call("POST", f"{url}/api/v1/trigger", token=reader, body=_trigger("pod-reader", A))
    assert status == 202, doc
    status, doc = await _call("POST", f"{url}/api/v1/trigger", token=reader, body=_trigger("pod-reader", B))
    assert status == 403, doc
    # Alerts may start any workflow on any pod: only the static token (or the rights everywhere).
    alert = {"alerts": [{"labels": {"alertname": "X", "namespace": A, "pod": "web"}}]}
    assert (await _call("POST", f"{url}/api/v1/alerts", token=reader, body=alert))[0] == 403
    assert (await _call("POST", f"{url}/api/v1/alerts", token=STATIC, body=alert))[0] == 202


async def test_a_debugger_of_one_namespace_debugs_there_only_and_every_decision_is_audited(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any
) -> None:
    service = await start(control_plane.kubeconfig_path)
    url, debugger, reader = service.url, identities["debugger"], identities["reader"]
    with _audit_lines() as logs:
        status, doc = await _call("POST", f"{url}/api/v1/trigger", token=debugger, body=_trigger("fake-debugger", A))
        assert status == 202, doc
        invocation = doc["invocationId"]
        status, doc = await _call("POST", f"{url}/api/v1/trigger", token=debugger, body=_trigger("fake-debugger", B))
        assert status == 403, doc
        assert f'in namespace "{B}"' in doc["error"]
        # Cancelling takes the same rights as triggering, on that invocation's pod.
        status, doc = await _call("POST", f"{url}/api/v1/invocations/{invocation}/cancel", token=reader)
        assert status == 403, doc
        status, doc = await _call("POST", f"{url}/api/v1/invocations/{invocation}/cancel", token=debugger)
        assert status == 202, doc
        assert (await _call("POST", f"{url}/api/v1/trigger", token=None, body=_trigger("fake-debugger", A)))[0] == 401
    audits = [(e["who"], e["action"], e["target"], e["decision"]) for e in logs if e["event"] == "audit.api_action"]
    sa = "system:serviceaccount:authz-a:"
    assert audits == [
        (f"{sa}debugger", "run workflow fake-debugger", f"pod {A}/web", "allow"),
        (f"{sa}debugger", "run workflow fake-debugger", f"pod {B}/web", "deny"),
        (f"{sa}reader", f"cancel invocation {invocation} of fake-debugger", f"namespace {A}", "deny"),
        (f"{sa}debugger", f"cancel invocation {invocation} of fake-debugger", f"namespace {A}", "allow"),
        ("(not authenticated)", "POST /api/v1/trigger", "/api/v1/trigger", "deny"),
    ]
    assert {e["level"] for e in logs} == {"info"}
    denied = [e for e in logs if e["event"] == "audit.api_action" and e["decision"] == "deny"]
    assert all(e["reason"] for e in denied)
    assert denied[0]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:authz-a", "system:authenticated"]


async def test_garbage_and_revoked_tokens_answer_401(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any
) -> None:
    service = await start(control_plane.kubeconfig_path, cache_seconds=0)
    _apply(control_plane, _service_account("ghost"))
    ghost = _token(control_plane, "ghost")
    status, _ = await _call("GET", f"{service.url}/api/v1/workflows", token=ghost)
    assert status == 200  # accepted while its ServiceAccount exists
    kubectl(control_plane, "-n", A, "delete", "serviceaccount", "ghost")
    status, doc = await _call("GET", f"{service.url}/api/v1/findings", token="garbage")
    assert status == 401, doc
    assert doc["error"].startswith("bearer token refused"), doc
    # kube-apiserver itself keeps a token it accepted for up to 10 s: the revocation shows after that.
    deadline = time.monotonic() + 30
    while (answer := await _call("GET", f"{service.url}/api/v1/findings", token=ghost))[0] == 200:
        assert time.monotonic() < deadline, "the revoked token was still accepted after 30 s"
        await asyncio.sleep(0.5)
    status, doc = answer
    assert status == 401, doc
    assert doc["error"].startswith("bearer token refused"), doc


async def test_answers_are_cached_for_the_window_and_asked_again_after_it(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any
) -> None:
    service = await start(control_plane.kubeconfig_path, cache_seconds=300)
    api = service.api
    for _ in range(3):
        assert (await _call("GET", f"{service.url}/api/v1/findings", token=identities["reader"]))[0] == 200
    assert api.authenticator.reviews == 1  # one TokenReview for three requests
    asked = api.authorizer.reviews
    assert (await _call("GET", f"{service.url}/api/v1/findings", token=identities["reader"]))[0] == 200
    assert api.authorizer.reviews == asked  # the SubjectAccessReviews were kept too
    uncached = await start(control_plane.kubeconfig_path, cache_seconds=0)
    for _ in range(2):
        assert (await _call("GET", f"{uncached.url}/api/v1/workflows", token=identities["reader"]))[0] == 200
    assert uncached.api.authenticator.reviews == 2


def _kubeconfig(plane: KubernetesControlPlane, token: str, path: Path) -> Path:
    """A kubeconfig whose current context authenticates with `token`."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": {"server": plane.url, "certificate-authority": str(plane.pki / "ca.crt")}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}],
    }))
    return path


def _wfhost_trigger(*args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WFHOST_TOKEN"}
    env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([sys.executable, "-m", "host.cli.main", "trigger", *args],
                          capture_output=True, text=True, timeout=60, env=env)


async def test_wfhost_trigger_sends_the_current_kubeconfig_token_by_default(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any, tmp_path: Path
) -> None:
    service = await start(control_plane.kubeconfig_path)
    kubeconfig = _kubeconfig(control_plane, identities["debugger"], tmp_path / "debugger.kubeconfig")
    ok = await asyncio.to_thread(_wfhost_trigger, "fake-debugger", "--pod", f"{A}/web", "--url", service.url,
                                 kubeconfig=kubeconfig)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "queued"
    refused = await asyncio.to_thread(_wfhost_trigger, "fake-debugger", "--pod", f"{B}/web", "--url", service.url,
                                      kubeconfig=kubeconfig)
    assert refused.returncode == 1
    assert "system:serviceaccount:authz-a:debugger may not run workflow fake-debugger" in refused.stderr
    # The admin kubeconfig authenticates with a client certificate: nothing to pass on, and it says so.
    cert = await asyncio.to_thread(_wfhost_trigger, "fake-debugger", "--pod", f"{A}/web", "--url", service.url,
                                   kubeconfig=control_plane.kubeconfig_path)
    assert cert.returncode == 2
    assert "has no bearer token (a client certificate cannot be passed on to wfhost)" in cert.stderr
    assert "--token or set WFHOST_TOKEN" in cert.stderr


async def test_the_host_as_the_charts_service_account_with_the_mode_on_can_ask(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any, tmp_path: Path
) -> None:
    """The chart's RBAC with api.auth.kubernetes.enabled is enough for the reviews (and without
    the mode the chart grants none: tests/chart/test_api_auth.py)."""
    values = {"cluster": {"namespaces": [A, B]}, "api": {"auth": {"kubernetes": {"enabled": True}}}}
    objects = [o for o in render(values).objects if o["kind"] in RBAC_KINDS]
    assert any(o["metadata"]["name"] == f"{fullname()}-api-auth" for o in objects)
    _apply(control_plane, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    _apply(control_plane, *objects)
    try:
        minted = _admin(control_plane).create_namespaced_service_account_token(
            fullname(), NAMESPACE, {"spec": {"expirationSeconds": 3600}})
        service = await start(_kubeconfig(control_plane, str(minted.status.token), tmp_path / "chart.kubeconfig"))
        await _publish(service)
        status, listing = await _call("GET", f"{service.url}/api/v1/findings", token=identities["reader"])
        assert status == 200, listing
        assert [f["title"] for f in listing["items"]] == ["stack trace in a"]
        status, doc = await _call("POST", f"{service.url}/api/v1/trigger", token=identities["debugger"],
                                  body=_trigger("pod-reader", A))
        assert status == 202, doc
    finally:
        cluster_scoped = [o for o in objects if o["kind"].startswith("Cluster")]
        for o in cluster_scoped:
            kubectl(control_plane, "delete", o["kind"].lower(), o["metadata"]["name"], "--ignore-not-found")


async def test_a_host_that_may_not_ask_kubernetes_fails_closed(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any, tmp_path: Path
) -> None:
    # The host runs as `nobody`: no Role at all, so Kubernetes refuses its TokenReviews (403).
    service = await start(_kubeconfig(control_plane, identities["nobody"], tmp_path / "nobody.kubeconfig"))
    for method, path in (("GET", "/api/v1/findings"),
                         ("POST", "/api/v1/trigger")):
        status, doc = await _call(method, f"{service.url}{path}", token=identities["debugger"],
                                  body=_trigger("fake-debugger", A))
        assert status == 503, doc
        assert "cannot check the bearer token: the TokenReview failed" in doc["error"]
        assert "tokenreviews" in doc["error"]
    # The static token needs no review and still works.
    assert (await _call("GET", f"{service.url}/api/v1/findings", token=STATIC))[0] == 200


async def test_a_host_that_may_review_tokens_but_not_access_fails_closed_on_every_check(
    control_plane: KubernetesControlPlane, identities: dict[str, str], start: Any, tmp_path: Path
) -> None:
    # `halfway` may create TokenReviews and nothing else: who the caller is is known, what they
    # may do cannot be asked. Nothing is served or run for them then, not even their own namespace.
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "authz-halfway"},
            "rules": [{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                      {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "authz-halfway"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "authz-halfway"},
               "subjects": [{"kind": "ServiceAccount", "name": "halfway", "namespace": A}]}
    _apply(control_plane, _service_account("halfway"), role, binding)
    try:
        service = await start(_kubeconfig(control_plane, _token(control_plane, "halfway"), tmp_path / "h.kubeconfig"))
        found = await _publish(service)
        reader = identities["reader"]
        for method, path, body in (
            ("GET", "/api/v1/findings", None),
            ("GET", f"/api/v1/findings/{found[A].id}", None),
            ("GET", f"/api/v1/findings/{found[A].id}/attachments/trace.txt", None),
            ("POST", "/api/v1/trigger", _trigger("pod-reader", A)),
        ):
            status, doc = await _call(method, f"{service.url}{path}", token=reader, body=body)
            assert status == 503, (path, doc)
            assert "the SubjectAccessReview failed" in doc["error"] and "subjectaccessreviews" in doc["error"], doc
            assert "secret of a" not in json.dumps(doc)
        assert (await _call("GET", f"{service.url}/api/v1/workflows", token=reader))[0] == 200  # who: known
    finally:
        kubectl(control_plane, "delete", "clusterrolebinding,clusterrole", "authz-halfway", "--ignore-not-found")
