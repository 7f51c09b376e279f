"""Capabilities: everything a workflow can reach, each call checked against policy in the host.

`policy` decides (declared ∩ granted, namespace scope); `context` carries one invocation's
state and limits; `router` maps a method to its handler; one module per capability family.
"""
