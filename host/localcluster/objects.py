"""Small helpers for Kubernetes object dicts: timestamps, uids, generated names, metadata access."""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet apimachinery uses for generateName


def now() -> str:
    """RFC 3339 at second precision, as `metav1.Time` is serialized."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    """RFC 3339 with microseconds, as `metav1.MicroTime` is serialized."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(epoch: float) -> str:
    """RFC 3339 with nanosecond digits, as log timestamps are written."""
    stamp = datetime.fromtimestamp(epoch, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_NAME_SUFFIX_ALPHABET, k=5))


def random_hex(length: int) -> str:
    return "".join(random.choices(string.hexdigits.lower()[:16], k=length))


def meta(obj: Obj) -> dict[str, Any]:
    """The object's metadata dict, created when missing."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        obj["metadata"] = metadata
    return metadata


def labels(obj: Obj) -> dict[str, str]:
    found = obj.get("metadata", {}).get("labels")
    return found if isinstance(found, dict) else {}
