"""`audit`: one structured line per privileged API action (trigger, cancel, alerts) and per refusal.

Each line is the event `audit.api_action` with `who` (the principal: a Kubernetes user, or "static
token"), `groups`, `action`, `target`, `decision` ("allow" or "deny") and, when denied, `reason`.
It goes through the host's log pipeline (format, destination) but past its level filter: an audit
line is written even with `logging.level: warning` or `error`.
"""

from __future__ import annotations

from typing import Any

from host.api.auth.identity import Principal
from host.logs import audit_logger


def audit(who: Principal | None, action: str, target: str, *, allowed: bool, **extra: Any) -> None:
    """Record that `who` (None: credentials refused) asked for `action` on `target`."""
    audit_logger().info(
        "audit.api_action",
        who=who.name if who is not None else "(not authenticated)",
        groups=list(who.groups) if who is not None else [],
        action=action,
        target=target,
        decision="allow" if allowed else "deny",
        **extra,
    )
