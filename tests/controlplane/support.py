"""Helpers the real-control-plane tests share."""

from __future__ import annotations

import subprocess

from host.localcluster.controlplane.cluster import KubernetesControlPlane


def kubectl(plane: KubernetesControlPlane, *args: str, stdin: str | None = None, check: bool = True) -> str:
    """Run kubectl 1.32 with the admin kubeconfig; stdout, or stdout and stderr when not `check`ed."""
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(plane.kubeconfig_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
    )
    if check:
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
        return result.stdout
    return result.stdout + result.stderr
