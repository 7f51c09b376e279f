"""Query parameters as the API server reads them: booleans, integers with bounds."""

from __future__ import annotations

from aiohttp import web

from host.localcluster import status


def flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name)
    return value is not None and value.lower() in ("1", "true", "yes", "")


def optional_flag(request: web.Request, name: str) -> bool | None:
    value = request.query.get(name)
    if value is None:
        return None
    return value.lower() in ("1", "true", "yes", "")


def integer(request: web.Request, name: str, *, minimum: int | None = None) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = int(value)
    except ValueError:
        raise status.bad_request(f"invalid value for {name}: {value!r}") from None
    if minimum is not None and parsed < minimum:
        raise status.bad_request(
            f"{name}: Invalid value: {parsed}: must be greater than or equal to {minimum}"
        )
    return parsed
