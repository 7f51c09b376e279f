"""The host's data at its boundaries: events, workflow manifests, invocations, findings, and the
Kubernetes resource model (kinds, paths). The lowest layer: imports nothing else from `host`.
"""
