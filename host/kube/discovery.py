"""`KindResolver`: `apps/v1/Deployment` -> its `Resource` (plural, namespaced), for any kind.

Well-known kinds resolve from `host.model.resources.WELL_KNOWN` without a request; any other kind
(a CRD, an aggregated API) from the API server's discovery document of its group version
(`/api/v1`, `/apis/{group}/{version}`), fetched once per group version and cached. A group
version the server does not serve, or a kind it does not list, is `UnknownKind`; a failed
request is the client's `KubeError` and is not cached.
"""

from __future__ import annotations

import asyncio

from host.errors import NotFound, WfhostError
from host.kube.client import KubeClient
from host.model.resources import WELL_KNOWN, KindRef, Resource


class UnknownKind(WfhostError, LookupError):
    """The API server serves no such kind."""


class KindResolver:
    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube
        self._by_group_version: dict[str, dict[str, Resource]] = {}
        self._lock = asyncio.Lock()

    async def resolve(self, ref: KindRef) -> Resource:
        known = WELL_KNOWN.get(ref.key)
        if known is not None:
            return known
        kinds = await self._discover(ref)
        resource = kinds.get(ref.kind)
        if resource is None:
            served = ", ".join(sorted(kinds)) or "none"
            raise UnknownKind(
                f"the API server serves no kind {ref.kind} in {ref.api_version} (it serves: {served})"
            )
        return resource

    async def _discover(self, ref: KindRef) -> dict[str, Resource]:
        async with self._lock:
            cached = self._by_group_version.get(ref.api_version)
            if cached is not None:
                return cached
            path = f"/apis/{ref.group}/{ref.version}" if ref.group else f"/api/{ref.version}"
            try:
                document = await self._kube.get_path(path, what=f"discover {ref.api_version}")
            except NotFound as exc:
                raise UnknownKind(f"the API server serves no API group version {ref.api_version}") from exc
            kinds: dict[str, Resource] = {}
            for entry in document.get("resources") or []:
                if not isinstance(entry, dict):
                    continue
                name, kind = entry.get("name"), entry.get("kind")
                if not isinstance(name, str) or not isinstance(kind, str) or "/" in name:
                    continue  # subresources (pods/log) are not kinds of their own
                kinds.setdefault(
                    kind,
                    Resource(
                        group=ref.group,
                        version=ref.version,
                        kind=kind,
                        plural=name,
                        namespaced=bool(entry.get("namespaced")),
                    ),
                )
            self._by_group_version[ref.api_version] = kinds
            return kinds
