"""The pieces of the API's auth that need no cluster: the answer cache's window and bound, the
config's refusals naming the key, a host without a cluster refusing Kubernetes identities, and the
static token's reach when Kubernetes identities are off (the rest runs on the real API server:
tests/controlplane/test_api_authz.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.api.auth.access import Authorizer, debug_checks, read_checks
from host.api.auth.identity import STATIC_PRINCIPAL, Authenticator, AuthError, Principal, bearer
from host.config import KubernetesAuthConfig
from host.errors import ConfigError
from host.expiring import ExpiringCache
from host.runtime.app import Host
from host.service import build_api
from tests.conftest import make_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_its_window_and_not_a_moment_longer() -> None:
    clock = Clock()
    cache: ExpiringCache[str, bool] = ExpiringCache(seconds=10, entries=100, clock=clock)
    cache.put("a", True)
    clock.now += 9.99
    assert cache.get("a") is True
    clock.now += 0.01
    assert cache.get("a") is None
    assert len(cache) == 0  # an expired entry is dropped when met


def test_a_refusal_is_kept_as_an_allow_is() -> None:
    cache: ExpiringCache[str, bool] = ExpiringCache(seconds=10, entries=100, clock=Clock())
    cache.put("no", False)
    assert cache.get("no") is False  # False, not "not cached" (None)


def test_the_cache_holds_at_most_its_bound_dropping_the_oldest() -> None:
    cache: ExpiringCache[int, int] = ExpiringCache(seconds=60, entries=3, clock=Clock())
    for i in range(5):
        cache.put(i, i)
    assert len(cache) == 3
    assert [cache.get(i) for i in range(5)] == [None, None, 2, 3, 4]
    cache.put(2, 20)  # put again: now the newest
    cache.put(5, 5)
    assert [cache.get(i) for i in (2, 3, 4, 5)] == [20, None, 4, 5]


def test_a_zero_window_keeps_nothing() -> None:
    cache: ExpiringCache[str, bool] = ExpiringCache(seconds=0, entries=10, clock=Clock())
    cache.put("a", True)
    assert cache.get("a") is None and len(cache) == 0


@pytest.mark.parametrize(("header", "token"), [("Bearer abc", "abc"), ("bearer  abc ", "abc")])
def test_a_bearer_header_gives_its_token(header: str, token: str) -> None:
    assert bearer(header) == token


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer   ", "Basic abc", "abc"])
def test_anything_else_is_401_missing(header: str) -> None:
    with pytest.raises(AuthError) as caught:
        bearer(header)
    assert (caught.value.status, caught.value.reason) == (401, "missing bearer token")


async def test_without_kubernetes_identities_only_the_static_token_is_anyone() -> None:
    config = KubernetesAuthConfig()
    auth = Authenticator(static_token="s3cret", reviewer=None, config=config)
    assert await auth.identify("Bearer s3cret") is STATIC_PRINCIPAL
    with pytest.raises(AuthError) as caught:
        await auth.identify("Bearer a-kubernetes-token")
    assert (caught.value.status, caught.value.reason) == (401, "wrong bearer token")
    nobody = Authenticator(static_token=None, reviewer=None, config=config)
    with pytest.raises(AuthError) as caught:
        await nobody.identify("Bearer s3cret")
    assert caught.value.status == 401 and "no API token configured" in caught.value.reason


async def test_without_a_reviewer_nobody_but_the_static_token_may_do_anything() -> None:
    authorizer = Authorizer(None, KubernetesAuthConfig())
    assert await authorizer.missing(STATIC_PRINCIPAL, debug_checks("a")) == []
    someone = Principal(name="jane", groups=("system:authenticated",))
    assert await authorizer.missing(someone, read_checks("a")) == list(read_checks("a"))  # closed, not open
    assert authorizer.reviews == 0


def test_the_debug_rights_are_those_of_kubectl_debug() -> None:
    assert [c.describe() for c in debug_checks("shop")] == [
        'get pods in namespace "shop"',
        'patch pods/ephemeralcontainers in namespace "shop"',
        'create pods/exec in namespace "shop"',
    ]
    assert [c.describe() for c in read_checks("")] == ["get pods in every namespace"]


@pytest.mark.parametrize(
    ("kubernetes", "key"),
    [({"cacheSeconds": -1}, "api.auth.kubernetes.cacheSeconds"), ({"cacheSeconds": 301}, "api.auth.kubernetes.cacheSeconds"),
     ({"cacheEntries": 0}, "api.auth.kubernetes.cacheEntries"), ({"enabled": "maybe"}, "api.auth.kubernetes.enabled"),
     ({"cache": 1}, "api.auth.kubernetes.cache")],
)
def test_a_bad_auth_setting_is_a_config_error_naming_the_key(tmp_path: Path, kubernetes: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_config(tmp_path, api={"auth": {"kubernetes": kubernetes}})


def test_kubernetes_identities_without_a_cluster_are_refused_naming_the_key(tmp_path: Path) -> None:
    config = make_config(tmp_path, api={"token": "t", "auth": {"kubernetes": {"enabled": True}}},
                         workflows={"builtinDirectory": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"api\.auth\.kubernetes\.enabled: Kubernetes identities need the cluster"):
        build_api(Host(config, with_cluster=False))
