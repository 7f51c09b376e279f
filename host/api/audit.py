"""`audit`: one structured line per privileged API action (trigger, cancel, alerts) and per refusal.

Each line is the event `api.audit` of the logger `wfhost.audit`, with `who` (the principal: a
Kubernetes user, or "static token"), `groups`, `action`, `target`, `decision` ("allow" or "deny")
and, when denied, `reason`. Log pipelines can route on the logger name.
"""

from __future__ import annotations

from typing import Any

import structlog

from host.api.auth.identity import Principal

AUDIT_LOGGER = "wfhost.audit"


def audit(who: Principal | None, action: str, target: str, *, allowed: bool, **extra: Any) -> None:
    """Record that `who` (None: credentials refused) asked for `action` on `target`."""
    structlog.get_logger(AUDIT_LOGGER).info(  # looked up per call: the logging setup in force applies
        "api.audit",
        who=who.name if who is not None else "(not authenticated)",
        groups=list(who.groups) if who is not None else [],
        action=action,
        target=target,
        decision="allow" if allowed else "deny",
        **extra,
    )
