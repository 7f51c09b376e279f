"""The write options of a request (`dryRun`, `fieldValidation`), checked as the API server checks them.

`dryRun` may be given in the query (`?dryRun=All`, repeated) or, for a delete, in the
DeleteOptions body; its only value is `All`. `fieldValidation` is `Strict`, `Warn` (the server's
default) or `Ignore`. A bad value answers 422 Invalid naming the options kind and field, with
the real server's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from host.localcluster import status

FIELD_VALIDATION = ("", "Ignore", "Strict", "Warn")


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool
    field_validation: str  # Strict, Warn or Ignore


def _unsupported(options_kind: str, field: str, shown: str, supported: str) -> status.ApiError:
    message = f"Unsupported value: {shown}: supported values: {supported}"
    error = status.invalid(options_kind, "", [(field, "FieldValueNotSupported", message)], "meta.k8s.io")
    return error


def _dry_run(values: list[Any], options_kind: str) -> bool:
    if not values:
        return False
    if any(value != "All" for value in values):
        shown = "[" + ", ".join(f'"{value}"' for value in values) + "]"
        raise _unsupported(options_kind, "dryRun", shown, '"All"')
    return True


def write_options(request: web.Request, options_kind: str, body: Any = None) -> WriteOptions:
    """`options_kind` is CreateOptions, UpdateOptions, PatchOptions or DeleteOptions."""
    values: list[Any] = list(request.query.getall("dryRun", []))
    if isinstance(body, dict) and isinstance(body.get("dryRun"), list):
        values += body["dryRun"]
    dry = _dry_run(values, options_kind)
    validation = request.query.get("fieldValidation", "")
    if validation not in FIELD_VALIDATION:
        raise _unsupported(
            options_kind, "fieldValidation", f'"{validation}"', ", ".join(f'"{v}"' for v in FIELD_VALIDATION)
        )
    return WriteOptions(dry_run=dry, field_validation=validation or "Warn")
