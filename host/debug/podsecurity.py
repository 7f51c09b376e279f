"""Recognise a Pod Security Admission rejection in the API server's 403, and say what it means.

The server's words, as the real kube-apiserver sends them for an ephemeral container with
SYS_PTRACE in a namespace enforcing `baseline`:

    pods "web" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities
    (container "wfhost-debug-app" must not include "SYS_PTRACE" in securityContext.capabilities.add)

Only that phrase counts: any other 403 (RBAC, another admission webhook) is not a reason to fall
back to a node pod.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from host.errors import Forbidden, KubeError

_VIOLATES = re.compile(r'violates PodSecurity "(?P<level>[a-z]+):(?P<version>[^"]+)"')


@dataclass(frozen=True)
class PodSecurityRejection:
    level: str  # "baseline", "restricted"
    version: str  # "latest", "v1.30"
    message: str  # the server's whole message


def rejection(exc: KubeError) -> PodSecurityRejection | None:
    """The Pod Security rejection `exc` reports, or None when it is another error."""
    if not isinstance(exc, Forbidden):
        return None
    message = str(exc)
    found = _VIOLATES.search(message)
    if found is None:
        return None
    return PodSecurityRejection(level=found["level"], version=found["version"], message=message)


def refusal_message(namespace: str, name: str, server_message: str) -> str:
    """What a Pod Security Admission refusal of the debug container means and what an operator can do."""
    return (
        f"Pod Security Admission refused the debug container for {namespace}/{name}: the namespace's enforced "
        f"level does not allow the SYS_PTRACE capability the debug tools need to attach to a process "
        f"(server: {server_message}). To debug pods there, an operator can set debug.mechanism to 'auto' "
        f"(a node pod in wfhost's own namespace then runs the agent), label the namespace "
        f"'pod-security.kubernetes.io/enforce=privileged' (or exempt it in the admission configuration), "
        f"or turn the debug workflows off for it; nothing was changed in the pod."
    )
