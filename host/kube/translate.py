"""The one place where the `kubernetes` client's errors become the host's `KubeError` tree.

Errors reach us in three shapes: `ApiException` from a request (HTTP status, a `Status` JSON body,
headers), an `ERROR` event inside a watch stream (a `Status` object with a `code`), and transport
failures (urllib3 / socket errors: no status at all). All three funnel into `error_for_status`, so
the mapping from status code to exception class exists exactly once:

    404 -> NotFound   409 -> Conflict   410 -> Gone   429 -> Throttled(retry_after)
    403 -> Forbidden  anything else -> KubeError(status, reason)
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from host.errors import Conflict, Forbidden, Gone, KubeError, NotFound, Throttled


def error_for_status(
    code: int | None,
    *,
    what: str,
    reason: str | None = None,
    message: str | None = None,
    retry_after: float | None = None,
) -> KubeError:
    """The exception for one API answer; `what` names the request (e.g. "get pod shop/web-1")."""
    text = f"{what}: {message or reason or f'HTTP {code}'}"
    if code == 404:
        return NotFound(text, status=404, reason=reason or "NotFound")
    if code == 409:
        return Conflict(text, status=409, reason=reason or "Conflict")
    if code == 410:
        return Gone(text, status=410, reason=reason or "Expired")
    if code == 429:
        return Throttled(text, retry_after=retry_after)
    if code == 403:
        return Forbidden(text, status=403, reason=reason or "Forbidden")
    return KubeError(text, status=code, reason=reason, retry_after=retry_after)


def error_from_status_object(status: dict[str, Any], *, what: str) -> KubeError:
    """The exception for a `Status` object, as carried by a watch stream's ERROR event."""
    code = status.get("code")
    return error_for_status(
        code if isinstance(code, int) else None,
        what=what,
        reason=_str_or_none(status.get("reason")),
        message=_str_or_none(status.get("message")),
        retry_after=_retry_after_from_details(status),
    )


_HANDSHAKE_SEPARATOR = " -+-+- "


def translate(exc: BaseException, *, what: str) -> KubeError:
    """Map any error the `kubernetes` client or urllib3 raised into the host's tree."""
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, ApiException):
        return _from_api_exception(exc, what=what)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return KubeError(f"{what}: connection failed: {exc}", status=None, reason="ConnectionError")
    return KubeError(f"{what}: {type(exc).__name__}: {exc}", status=None, reason=type(exc).__name__)


def _from_api_exception(exc: ApiException, *, what: str) -> KubeError:
    status = exc.status if isinstance(exc.status, int) and exc.status > 0 else None
    if status is None:
        # The websocket transport (exec) wraps a failed handshake as status 0; the real status
        # code is on the websocket library's exception, which the client raised from.
        status = _websocket_status(exc)
    body = _parse_status_body(exc.body)
    handshake = _str_or_none(exc.reason)
    if not body and handshake is not None and _HANDSHAKE_SEPARATOR in handshake:
        # A refused websocket handshake: "Handshake status 403 Forbidden -+-+- {headers} -+-+- {body}".
        body = _parse_status_body(handshake.rsplit(_HANDSHAKE_SEPARATOR, 1)[-1].strip())
        handshake = handshake.split(_HANDSHAKE_SEPARATOR, 1)[0].strip()
    reason = _str_or_none(body.get("reason")) or handshake
    message = _str_or_none(body.get("message"))
    if status is None and message is None:
        message = f"request failed: {exc.reason}"
    retry_after = parse_retry_after(_header(exc.headers, "Retry-After"))
    if retry_after is None:
        retry_after = _retry_after_from_details(body)
    return error_for_status(status, what=what, reason=reason, message=message, retry_after=retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _websocket_status(exc: ApiException) -> int | None:
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "status_code", None)
    return code if isinstance(code, int) and code > 0 else None


def _parse_status_body(body: object) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.startswith("{"):
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after_from_details(status: dict[str, Any]) -> float | None:
    details = status.get("details")
    if isinstance(details, dict):
        seconds = details.get("retryAfterSeconds")
        if isinstance(seconds, int | float) and seconds >= 0:
            return float(seconds)
    return None


def _header(headers: object, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None:
        value = getter(name.lower())
    return str(value) if value is not None else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
