"""`ApiServer`: one aiohttp app on `api.port` serving the API, health, metrics and the findings page.

Every route but `PUBLIC` (health, metrics, and the page's own HTML, script and style, which hold no
data) needs `Authorization: Bearer <token>`: the static `api.token` (every right), or, with
`api.auth.kubernetes.enabled`, a Kubernetes token whose user may do what is asked, as
SubjectAccessReviews about that user say (`host.api.auth`). A route added without thought is
guarded too: the check is a middleware over every matched route. Privileged actions are audited
(`host.api.audit`). Every error is JSON `{"error": reason}` with a 4xx/5xx status; no request
can crash the host. What the API asks of the host is `ApiBackend` (`host/api/backend.py`); it
never imports the runtime.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from host import __version__
from host.api.audit import audit
from host.api.auth.access import Authorizer, Check, debug_checks, read_checks
from host.api.auth.identity import Authenticator, AuthError, Principal, Reviewer
from host.api.backend import ApiBackend
from host.api.models import AlertmanagerPayload, TriggerRequest, parse_body
from host.config import ApiConfig
from host.errors import ConfigError, KubeError, NotFound, QueueFull, UnknownWorkflow
from host.findings.service import FindingsService
from host.findings.store import FindingQuery, Page
from host.model.events import Event, Subject
from host.model.findings import LABEL_KEY, MAX_LABEL_VALUE, Finding, Severity
from host.text import dumps_json
from host.validation import first_error

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_BODY = 1 << 20
PAGE_BYTES = 8 << 20  # a findings page holds at most about this much (one finding always fits)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = frozenset({"/healthz", "/readyz", "/metrics", "/", "/static"})
"""The routes served without credentials (by canonical path): no finding, log or workflow in them."""
PRINCIPAL = web.RequestKey("principal", Principal)


def error(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


def read_token(api: ApiConfig) -> str | None:
    if api.token:
        return api.token
    if api.token_file is not None:
        try:
            token = api.token_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"api.tokenFile: cannot read {api.token_file}: {exc.strerror}") from exc
        return token or None
    return None


def needs_debug(capabilities: frozenset[str]) -> bool:
    """A workflow declaring any `debug.*` capability attaches a debug container: `kubectl debug`'s rights."""
    return any(cap.startswith("debug.") for cap in capabilities)


def doc_namespace(doc: dict[str, Any]) -> str | None:
    """The namespace a stored finding's summary is about (as `finding_namespace` says of a Finding)."""
    subject = doc.get("subject") or {}
    return subject.get("namespace") or (doc.get("labels") or {}).get("namespace") or None


def event_namespace(event: Event) -> str:
    """The namespace an invocation's event is about ("" when none: the cluster-wide rights apply)."""
    if event.target is not None:
        return event.target.namespace
    if event.subject is not None and event.subject.namespace:
        return event.subject.namespace
    return ""


def finding_doc(f: Finding) -> dict[str, Any]:
    doc = f.summary()
    for att in doc["attachments"]:
        att["url"] = f.attachment_path(att["name"])
    return doc


def label_filter(given: list[str]) -> list[tuple[str, str]] | web.Response:
    """The `label=KEY=VALUE` query parameters as (key, value) pairs, or a 400 naming the bad one."""
    wanted: list[tuple[str, str]] = []
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(LABEL_KEY, key) or len(value) > MAX_LABEL_VALUE:
            return error(400, f"label: expected KEY=VALUE such as label=cause=OOMKilled, got {item!r}")
        wanted.append((key, value))
    return wanted


def render_page(service: FindingsService, items: list[Finding], *, offset: int, limit: int) -> str:
    """The JSON of one findings page (blocking: run in a thread). Each finding is encoded on its own,
    so the encoder lets go of the GIL, and so of the event loop, between findings."""
    parts: list[str] = []
    budget = PAGE_BYTES
    end = offset
    for f in items[offset:offset + limit]:
        size = service.size_of(f)
        if parts and size > budget:
            break
        budget -= size
        parts.append(dumps_json(finding_doc(f)))
        end += 1
    following = end if end < len(items) else None
    return '{"items": [' + ", ".join(parts) + '], "next": ' + dumps_json(following) + "}"


NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SEVERITIES = get_args(Severity)
_AGO = re.compile(r"^(\d{1,9})([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(name: str, text: str, *, now: float) -> float | web.Response:
    """`since`/`until`: an RFC 3339 time with its offset, or a duration that long before `now`."""
    ago = _AGO.match(text)
    if ago:
        return now - int(ago.group(1)) * _UNIT[ago.group(2)]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return error(400, f"{name}: expected an RFC 3339 time such as 2026-11-23T10:00:00Z or a duration such as "
                          f"30m, 2h or 7d, got {text!r}")
    return when.timestamp()


def findings_query(request: web.Request, *, now: float) -> FindingQuery | web.Response:
    """The listing's filters from the query string, or a 400 naming the bad value."""
    q = request.query
    labels = label_filter(q.getall("label", []))
    if isinstance(labels, web.Response):
        return labels
    namespace = q.get("namespace")
    if namespace is not None and not NAMESPACE.fullmatch(namespace):
        return error(400, f"namespace: expected a Kubernetes namespace name such as shop, got {namespace!r}")
    severities: list[str] = []
    for item in q.getall("severity", []):
        for severity in item.split(","):
            if severity not in SEVERITIES:
                return error(400, f"severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
            severities.append(severity)
    bounds: dict[str, float | None] = {"since": None, "until": None}
    for name in bounds:
        text = q.get(name)
        if text is not None:
            when = parse_when(name, text, now=now)
            if isinstance(when, web.Response):
                return when
            bounds[name] = when
    since, until = bounds["since"], bounds["until"]
    if since is not None and until is not None and since >= until:
        return error(400, f"since ({q['since']!r}) must be before until ({q['until']!r})")
    return FindingQuery(workflow=q.get("workflow"), namespace=namespace, severities=tuple(severities),
                        labels=tuple(labels), since=since, until=until)


def with_urls(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored finding's summary with each attachment's API path, as `finding_doc` gives them."""
    # Unvalidated, only for its paths: Finding is the one place that builds them.
    shell = Finding.model_construct(id=doc["id"], workflow=doc["workflow"], title=doc["title"])
    for att in doc["attachments"]:
        att["url"] = shell.attachment_path(att["name"])
    return doc


def render_stored_page(page: Page) -> str:
    """The JSON of one page read from the store (blocking: run in a thread), finding by finding."""
    parts = [dumps_json(with_urls(json.loads(text))) for text in page.docs]
    return '{"items": [' + ", ".join(parts) + '], "next": ' + dumps_json(page.next) + "}"


class ApiServer:
    """The API over `backend`; `wait_seconds` bounds a `wait: true` trigger without its own timeout."""

    def __init__(
        self, backend: ApiBackend, config: ApiConfig, *, wait_seconds: float, reviewer: Reviewer | None = None
    ) -> None:
        """`reviewer` (the host's Kubernetes client) when `api.auth.kubernetes.enabled`, else None."""
        self.host = backend
        self.config = config
        self.wait_seconds = wait_seconds
        self.token = read_token(config)
        settings = config.auth.kubernetes
        self.authenticator = Authenticator(static_token=self.token, reviewer=reviewer, config=settings)
        self.authorizer = Authorizer(reviewer, settings)
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors, self._authenticate])
        r = self.app.router
        r.add_post("/api/v1/trigger", self.trigger)
        r.add_post("/api/v1/alerts", self.alerts)
        r.add_post("/api/v1/invocations/{id}/cancel", self.cancel)
        r.add_get("/api/v1/workflows", self.workflows)
        r.add_get("/api/v1/findings", self.findings)
        r.add_get("/api/v1/findings/{id}", self.finding)
        r.add_get("/api/v1/findings/{id}/attachments/{name}", self.attachment)
        r.add_get("/healthz", self.healthz)
        r.add_get("/readyz", self.readyz)
        r.add_get("/metrics", self.metrics)
        r.add_get("/", self.page)
        r.add_static("/static/", STATIC, show_index=False)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        api = self.config
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, api.host, api.port)
        await site.start()
        port = api.port
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            port = sockets[0].getsockname()[1]
        shown = "127.0.0.1" if api.host in ("0.0.0.0", "::") else api.host
        self.url = f"http://{shown}:{port}"
        log.info("api.listening", url=self.url, token_configured=self.token is not None,
                 kubernetes_identities=self.authenticator.kubernetes)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- middleware -------------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except AuthError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="wfhost"'} if exc.status == 401 else None
            extra = {"hint": exc.hint} if exc.hint else {}
            return web.json_response({"error": exc.reason, **extra}, status=exc.status, headers=headers)
        except web.HTTPException as exc:
            if exc.status >= 400 and exc.content_type != "application/json":
                return error(exc.status, exc.reason)
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("api.request_failed", path=request.path)
            return error(500, f"internal error: {type(exc).__name__}")

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every matched route outside `PUBLIC` needs a principal (401 otherwise)."""
        route = request.match_info.route
        if request.match_info.http_exception is not None or route.resource is None:
            return await handler(request)  # no such route: its 404/405
        if route.resource.canonical in PUBLIC:
            return await handler(request)
        try:
            who = await self.authenticator.identify(request.headers.get("Authorization", ""))
        except AuthError as exc:
            if request.method != "GET":
                audit(None, f"{request.method} {route.resource.canonical}", request.path, allowed=False,
                      reason=exc.reason)
            raise
        request[PRINCIPAL] = who
        return await handler(request)

    async def _require(self, who: Principal, checks: tuple[Check, ...], *, action: str, target: str,
                       **extra: Any) -> None:
        """Audit `action` on `target` and raise 403 unless `who` passes every check (503 if they
        cannot be asked)."""
        try:
            missing = await self.authorizer.missing(who, checks)
        except AuthError as exc:
            audit(who, action, target, allowed=False, reason=exc.reason, **extra)
            raise
        if missing:
            reason = f"{who.name} may not {action} on {target}: that needs the right to " + \
                "; ".join(c.describe() for c in missing)
            audit(who, action, target, allowed=False, reason=reason, **extra)
            raise AuthError(403, reason)
        audit(who, action, target, allowed=True, **extra)

    async def _may_read(self, who: Principal, namespace: str | None) -> bool:
        """May `who` read findings about `namespace` (None: about no namespace, the cluster-wide right)?"""
        missing = await self.authorizer.missing(who, read_checks(namespace or ""))
        return not missing

    def _checks_for(self, workflow: str, namespace: str) -> tuple[tuple[Check, ...], bool]:
        caps = self.host.workflow_capabilities(workflow) or frozenset()
        debug = needs_debug(caps)
        return (debug_checks(namespace) if debug else read_checks(namespace)), debug

    @staticmethod
    async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
        if request.content_type != "application/json":
            return error(415, f"expected Content-Type application/json, got {request.content_type or 'none'}")
        try:
            data = parse_body(await request.read())
        except (ValueError, UnicodeDecodeError) as exc:
            return error(400, f"body is not valid JSON: {exc}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            return error(400, first_error(exc, root="body"), problems=len(exc.errors()))

    # -- mutating ---------------------------------------------------------------------------
    async def trigger(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request, TriggerRequest)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, TriggerRequest)
        known = self.host.workflow_names()
        if body.workflow not in known:
            return error(404, f"no loaded workflow named {body.workflow!r}", known=sorted(known))
        who = request[PRINCIPAL]
        target = body.target
        checks, debug = self._checks_for(body.workflow, target.namespace)
        await self._require(who, checks, action=f"run workflow {body.workflow}",
                            target=f"pod {target.namespace}/{target.pod}", debug=debug)
        try:
            event = await self.host.manual_event(target, requested_by=who.name)
        except NotFound:
            return error(404, f"pod {body.target.namespace}/{body.target.pod} not found")
        except KubeError as exc:
            return error(502, f"Kubernetes API: {exc}")
        try:
            inv_id, fut = self.host.trigger(body.workflow, event, body.params, wait=body.wait)
        except UnknownWorkflow as exc:
            return error(404, str(exc))
        except QueueFull as exc:
            return error(429, str(exc))
        log.info("api.triggered", workflow=body.workflow, invocation=inv_id,
                 target=f"{body.target.namespace}/{body.target.pod}", wait=body.wait)
        if fut is None:
            return web.json_response({"invocationId": inv_id, "status": "queued"}, status=202)
        timeout = body.timeout or self.wait_seconds
        try:
            result = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return web.json_response({"invocationId": inv_id, "status": "running",
                                      "error": f"still running after {timeout:g}s"}, status=202)
        except UnknownWorkflow as exc:
            return error(409, str(exc))
        status = {"ok": 200, "rejected": 400}.get(result.outcome, 200)
        return web.json_response({
            "invocationId": inv_id, "status": "done", "outcome": result.outcome, "error": result.error,
            "durationSeconds": round(result.duration_seconds, 4),
            "findings": [self._finding_doc(f) for f in result.findings],
        }, status=status)

    async def alerts(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request, AlertmanagerPayload)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, AlertmanagerPayload)
        # An alert names its pod itself and may start any workflow on it: the rights everywhere.
        await self._require(request[PRINCIPAL], debug_checks(""), action="submit alerts",
                            target=f"{len(body.alerts)} alerts")
        queued: list[dict[str, Any]] = []
        for alert in body.alerts:
            labels = alert.labels
            subject = None
            if labels.get("pod") and labels.get("namespace"):
                subject = Subject(kind="Pod", namespace=labels["namespace"], name=labels["pod"])
            event = Event(kind="alert", subject=subject, alert=alert.model_dump(exclude_none=True))
            names = await self.host.submit(event)
            queued.append({"alertname": labels.get("alertname"), "eventId": event.id, "workflows": names})
            await asyncio.sleep(0)  # one batch is up to 1000 events: let the loop serve others between them
        return web.json_response({"accepted": len(body.alerts), "events": queued}, status=202)

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        """Stop a queued or running invocation: a running one is sent `$/cancel` and its worker is
        killed unless its run stops within `sandbox.cancelGraceSeconds`. 202 when asked, 404 when no
        invocation with that id is queued or running (never was, or already finished)."""
        inv_id = request.match_info["id"]
        live = self.host.invocation(inv_id)
        if live is None:
            return error(404, f"no queued or running invocation {inv_id!r}")
        workflow, event = live
        namespace = event_namespace(event)
        checks, debug = self._checks_for(workflow, namespace)
        who = request[PRINCIPAL]
        where = f"namespace {namespace}" if namespace else "no namespace"
        await self._require(who, checks, action=f"cancel invocation {inv_id} of {workflow}",
                            target=where, debug=debug)
        if not self.host.cancel(inv_id, reason=f"by an API request of {who.name}"):
            return error(404, f"no queued or running invocation {inv_id!r}")
        log.info("api.cancel_requested", invocation=inv_id, by=who.name)
        return web.json_response({"invocationId": inv_id, "status": "cancelling"}, status=202)

    # -- reading ----------------------------------------------------------------------------
    async def workflows(self, request: web.Request) -> web.StreamResponse:
        items = []
        for st in self.host.workflow_statuses():
            wf = st.workflow
            items.append({
                "file": str(st.path), "origin": st.origin, "state": st.state, "error": st.error,
                "name": wf.name if wf else None,
                "version": wf.version if wf else None,
                "loadedAt": wf.loaded_at.isoformat() if wf else None,
                "description": wf.manifest.description if wf else None,
                "triggers": [t.wire() for t in wf.triggers] if wf else [],
                "capabilities": sorted(wf.policy.effective) if wf else [],
                "declaredCapabilities": sorted(wf.policy.declared) if wf else [],
                "namespaces": sorted(wf.policy.granted.namespaces) if wf else [],
                "params": {k: v.wire() for k, v in wf.manifest.params.items()} if wf else {},
                "queueDepth": self.host.queue_depth(wf.name) if wf else 0,
                "workerRestarts": wf.pool.stats.restarts if wf else 0,
            })
        return web.json_response({"items": items})

    def _finding_doc(self, f: Finding) -> dict[str, Any]:
        return finding_doc(f)

    async def findings(self, request: web.Request) -> web.StreamResponse:
        """A page of the stored findings, newest first: `limit` items from `offset`, at most PAGE_BYTES of
        them; `next` is the offset of the following page. Filters, all of which must hold:
        `workflow=NAME`; `namespace=NS` (the subject's, else the `namespace` label); `severity=high`
        (repeated or comma-separated: any of them); each `label=KEY=VALUE` (repeated: all of them);
        `since` and `until` (an RFC 3339 time, or a duration such as `2h` meaning that long ago;
        `since` inclusive, `until` exclusive). A bad value is a 400 naming it. Read from the store
        and encoded in threads, off the event loop."""
        try:
            limit = int(request.query.get("limit", "100"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return error(400, "limit and offset must be whole numbers")
        if not 1 <= limit <= 500:
            return error(400, "limit must be between 1 and 500")
        if offset < 0:
            return error(400, "offset must not be negative")
        query = findings_query(request, now=time.time())
        if isinstance(query, web.Response):
            return query
        scoped = await self._readable(request[PRINCIPAL], query)
        if isinstance(scoped, web.Response):
            return scoped
        page = await self.host.findings.query(scoped, offset=offset, limit=limit, budget=PAGE_BYTES)
        text = await asyncio.to_thread(render_stored_page, page)
        return web.Response(text=text, content_type="application/json")

    async def _readable(self, who: Principal, query: FindingQuery) -> FindingQuery | web.Response:
        """`query` narrowed to the namespaces `who` may get pods in (unchanged for the static token or
        a cluster-wide reader); asking for one namespace they may not read is a 403."""
        if query.namespace is not None:  # both questions at once: one round trip, not two
            everywhere, there = await asyncio.gather(self._may_read(who, None), self._may_read(who, query.namespace))
            if everywhere or there:
                return query
            audit(who, "read findings", f"namespace {query.namespace}", allowed=False)
            return error(403, f"{who.name} may not read findings about namespace {query.namespace!r}: that needs "
                              f"the right to {read_checks(query.namespace)[0].describe()}")
        if await self._may_read(who, None):
            return query
        known = await self.host.findings.namespaces()
        answers = await asyncio.gather(*(self._may_read(who, ns) for ns in known))
        allowed = tuple(ns for ns, ok in zip(known, answers, strict=True) if ok)
        return dataclasses.replace(query, namespaces=allowed)

    async def _readable_doc(self, who: Principal, fid: str) -> dict[str, Any] | None:
        """A stored finding's summary, or None when there is none or `who` may not read it: a finding
        about a namespace the caller cannot read is answered as if it did not exist (404)."""
        doc = await self.host.findings.summary(fid)
        if doc is None:
            return None
        namespace = doc_namespace(doc)
        if not await self._may_read(who, namespace):
            audit(who, "read finding", f"finding {fid} ({f'namespace {namespace}' if namespace else 'no namespace'})",
                  allowed=False)
            return None
        return doc

    async def finding(self, request: web.Request) -> web.StreamResponse:
        fid = request.match_info["id"]
        doc = await self._readable_doc(request[PRINCIPAL], fid)
        if doc is None:
            return error(404, f"no finding {fid!r}")
        return web.json_response(with_urls(doc))

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        fid, name = request.match_info["id"], request.match_info["name"]
        if await self._readable_doc(request[PRINCIPAL], fid) is None:
            return error(404, f"no finding {fid!r}")
        found, att = await self.host.findings.attachment(fid, name)
        if not found:
            return error(404, f"no finding {fid!r}")
        if att is None:
            return error(404, f"finding {fid} has no attachment {name!r}")
        media_type, data = att
        # Workflow-made content on our origin: scripts may run (flamegraph SVGs are interactive) but
        # only in a sandboxed, opaque origin that cannot reach the API or its token.
        return web.Response(body=data, content_type=media_type.split(";")[0], headers={
            "Content-Security-Policy": "sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; "
                                       "script-src 'unsafe-inline'; img-src data:",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{name}"',
        })

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok", "version": __version__})

    async def readyz(self, request: web.Request) -> web.StreamResponse:
        if self.host.ready:
            return web.json_response({"status": "ready", "leading": self.host.leading})
        reason = "standing by: another replica leads" if self.host.started else "starting"
        return web.json_response({"status": "not ready", "reason": reason}, status=503)

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.host.render_metrics(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
