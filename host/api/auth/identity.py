"""`Authenticator`: who sends a request, from its `Authorization: Bearer` header.

The static token (`api.token`, kept for Alertmanager and scripts) is the principal "static token",
which may do everything. With `api.auth.kubernetes.enabled`, any other bearer token is asked about
with a TokenReview; the user and groups it names are the principal, whose rights Kubernetes decides
(`host.api.auth.access`). It fails closed: a review that cannot be asked is a 503, never a pass.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from host.config import KubernetesAuthConfig
from host.errors import KubeError, WfhostError
from host.expiring import ExpiringCache

log = structlog.get_logger(__name__)


class AuthError(WfhostError):
    """A request's credentials were refused (401), its action forbidden (403), or they could not be
    checked (503); `reason` is what the caller is told."""

    def __init__(self, status: int, reason: str, *, hint: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class Principal:
    """Who is calling: the static token's holder (`static`: every right) or a Kubernetes user."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
    static: bool = False


STATIC_PRINCIPAL = Principal(name="static token", static=True)


class Reviewer(Protocol):
    """The two Kubernetes calls the API's auth makes (`host.kube.client.KubeClient` has them)."""

    async def create_token_review(self, token: str, *, audiences: list[str] | None = None) -> dict[str, Any]: ...

    async def create_subject_access_review(self, spec: dict[str, Any]) -> dict[str, Any]: ...


def bearer(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header; 401 when there is none."""
    scheme, _, given = header.partition(" ")
    token = given.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "missing bearer token", hint="Authorization: Bearer <token>")
    return token


def principal_of(review: dict[str, Any]) -> Principal | str:
    """The user an answered TokenReview names, or why the token was not accepted."""
    status = review.get("status") or {}
    user = status.get("user") or {}
    if not status.get("authenticated") or not user.get("username"):
        return str(status.get("error") or "the token is not valid")
    extra = user.get("extra") or {}
    return Principal(
        name=str(user["username"]),
        groups=tuple(str(g) for g in user.get("groups") or ()),
        uid=str(user.get("uid") or ""),
        extra=tuple(sorted((str(k), tuple(str(v) for v in vs)) for k, vs in extra.items())),
    )


class Authenticator:
    """Turns a request's Authorization header into a `Principal`, or raises `AuthError`.

    `reviewer` is None when Kubernetes identities are off: then only the static token is accepted.
    TokenReview answers (accepted or not) are kept `config.cache_seconds`, by the token's SHA-256.
    """

    def __init__(
        self, *, static_token: str | None, reviewer: Reviewer | None, config: KubernetesAuthConfig
    ) -> None:
        self.static_token = static_token
        self.reviewer = reviewer
        self.audiences = list(config.audiences)
        self.cache: ExpiringCache[bytes, Principal | str] = ExpiringCache(
            seconds=config.cache_seconds, entries=config.cache_entries
        )
        self.reviews = 0  # TokenReviews asked (the cache's effect shows in it)

    @property
    def kubernetes(self) -> bool:
        return self.reviewer is not None

    async def identify(self, header: str) -> Principal:
        if self.static_token is None and self.reviewer is None:
            raise AuthError(
                401, "this host has no API token configured (api.token or api.tokenFile) "
                     "and does not accept Kubernetes tokens (api.auth.kubernetes.enabled)")
        token = bearer(header)
        if self.static_token is not None and hmac.compare_digest(token.encode(), self.static_token.encode()):
            return STATIC_PRINCIPAL
        if self.reviewer is None:
            raise AuthError(401, "wrong bearer token")
        key = hashlib.sha256(token.encode()).digest()
        answer = self.cache.get(key)
        if answer is None:
            answer = await self._review(token)
            self.cache.put(key, answer)
        if isinstance(answer, str):
            raise AuthError(401, f"bearer token refused: neither the static token nor accepted by Kubernetes "
                                 f"({answer})")
        return answer

    async def _review(self, token: str) -> Principal | str:
        assert self.reviewer is not None
        self.reviews += 1
        try:
            review = await self.reviewer.create_token_review(token, audiences=self.audiences or None)
        except KubeError as exc:
            log.warning("api.token_review_failed", error=str(exc), status=exc.status)
            raise AuthError(503, f"cannot check the bearer token: the TokenReview failed: {exc}") from exc
        return principal_of(review)
