"""`Authorizer`: may this principal do that, as Kubernetes RBAC (or any authorizer) says.

Each question is a SubjectAccessReview about the caller's own user and groups, so the API never
lends the host's rights to someone who lacks them. What each API action asks:

- trigger a debug workflow on a pod (one declaring a `debug.*` capability), or cancel one: what
  `kubectl debug` needs there: patch `pods/ephemeralcontainers` and create `pods/exec` (and get pods);
- trigger a read-only workflow, cancel one, or read findings about a namespace: get pods there;
- anything not about one namespace (alerts, findings without a namespace): the cluster-wide right.

The static token's principal may do everything. Answers are kept `cache_seconds`; an answer that
cannot be had is an `AuthError` 503, never an allow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog

from host.api.auth.identity import AuthError, Principal, Reviewer
from host.config import KubernetesAuthConfig
from host.errors import KubeError
from host.expiring import ExpiringCache

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Check:
    """One right in one namespace ("" for every namespace), in the core API group."""

    verb: str
    resource: str
    namespace: str
    subresource: str = ""

    def describe(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f'in namespace "{self.namespace}"' if self.namespace else "in every namespace"
        return f"{self.verb} {what} {where}"

    def attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"verb": self.verb, "group": "", "resource": self.resource}
        if self.subresource:
            attrs["subresource"] = self.subresource
        if self.namespace:
            attrs["namespace"] = self.namespace
        return attrs


def read_checks(namespace: str) -> tuple[Check, ...]:
    """Reading findings about `namespace`, or running a read-only workflow there."""
    return (Check("get", "pods", namespace),)


def debug_checks(namespace: str) -> tuple[Check, ...]:
    """Running a debug workflow on a pod of `namespace`: what `kubectl debug` would need."""
    return (
        Check("get", "pods", namespace),
        Check("patch", "pods", namespace, "ephemeralcontainers"),
        Check("create", "pods", namespace, "exec"),
    )


def review_spec(who: Principal, check: Check) -> dict[str, Any]:
    spec: dict[str, Any] = {"user": who.name, "groups": list(who.groups), "resourceAttributes": check.attributes()}
    if who.uid:
        spec["uid"] = who.uid
    if who.extra:
        spec["extra"] = {key: list(values) for key, values in who.extra}
    return spec


class Authorizer:
    """Answers `allowed(who, check)` with SubjectAccessReviews (`reviewer` None: only the static
    token's principal is allowed anything)."""

    def __init__(self, reviewer: Reviewer | None, config: KubernetesAuthConfig) -> None:
        self.reviewer = reviewer
        self.cache: ExpiringCache[tuple[Principal, Check], bool] = ExpiringCache(
            seconds=config.cache_seconds, entries=config.cache_entries
        )
        self.reviews = 0  # SubjectAccessReviews asked

    async def allowed(self, who: Principal, check: Check) -> bool:
        if who.static:
            return True
        if self.reviewer is None:
            return False
        key = (who, check)
        answer = self.cache.get(key)
        if answer is None:
            answer = await self._review(who, check)
            self.cache.put(key, answer)
        return answer

    async def missing(self, who: Principal, checks: tuple[Check, ...]) -> list[Check]:
        """The checks `who` fails, asked together; empty when every one is allowed."""
        answers = await asyncio.gather(*(self.allowed(who, c) for c in checks))
        return [c for c, ok in zip(checks, answers, strict=True) if not ok]

    async def _review(self, who: Principal, check: Check) -> bool:
        assert self.reviewer is not None
        self.reviews += 1
        try:
            review = await self.reviewer.create_subject_access_review(review_spec(who, check))
        except KubeError as exc:
            log.warning("api.access_review_failed", user=who.name, check=check.describe(), error=str(exc))
            raise AuthError(503, f"cannot check whether {who.name} may {check.describe()}: "
                                 f"the SubjectAccessReview failed: {exc}") from exc
        status = review.get("status") or {}
        return status.get("allowed") is True and not status.get("denied")
