"""Kubernetes resource quantities (`500m`, `128Mi`, `1.5G`, `2e3`) as exact decimals.

The grammar of `k8s.io/apimachinery/pkg/api/resource`: a signed decimal number, then a binary
suffix (Ki Mi Gi Ti Pi Ei), a decimal one (n u m "" k M G T P E) or an exponent (`e3`, `E-2`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from host.errors import WfhostError

_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[KMGTPE]i)|[numkMGTPE]?|[eE][+-]?[0-9]+)$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


class InvalidQuantity(WfhostError, ValueError):
    """Not a Kubernetes quantity; the message is the API server's."""


def parse_quantity(text: object) -> Decimal:
    """The value of `text` (a string or a number): `parse_quantity("256Mi") == 268435456`."""
    if isinstance(text, bool):
        raise InvalidQuantity(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _QUANTITY.match(str(text).strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidQuantity(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise InvalidQuantity(f"invalid quantity {text!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    return value * Decimal(10) ** int(suffix[1:])
