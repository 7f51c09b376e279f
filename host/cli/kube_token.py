"""The bearer token of the current kubeconfig context, as kubectl would send it: what `wfhost trigger`
passes to a host with `api.auth.kubernetes.enabled`, so the host checks the caller's own rights.

Read with the official client's loader (tokens, token files, exec plugins and auth providers all
end as a bearer token). A context that authenticates with a client certificate has no token to
pass on: that is a clear error naming the context, never a silent fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes.client
import kubernetes.config
from kubernetes.config.config_exception import ConfigException

from host.errors import ConfigError


def default_kubeconfig() -> Path:
    """`KUBECONFIG`'s first file, else ~/.kube/config, as kubectl picks it."""
    return Path(os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config")


def kubeconfig_token(kubeconfig: Path | None = None, *, context: str | None = None) -> str:
    """The bearer token of `context` (default: the current one) in `kubeconfig`; `ConfigError` why not."""
    path = kubeconfig or default_kubeconfig()
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context=context, client_configuration=configuration
        )
        _, current = kubernetes.config.list_kube_config_contexts(config_file=str(path))  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as exc:
        raise ConfigError(f"cannot read the kubeconfig {path}: {exc}") from exc
    name = context or (current or {}).get("name", "?")
    header = str(configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization") or "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ConfigError(
            f"the kubeconfig context {name!r} ({path}) has no bearer token (a client certificate cannot be "
            "passed on to wfhost): pass --token or set WFHOST_TOKEN, for instance to a token from "
            "`kubectl create token SERVICEACCOUNT`"
        )
    return token
