"""The host's data at its boundaries: events, workflow manifests, invocations and findings.

The lowest layer: imports nothing else from `host` but `host.config` types and errors.
"""
