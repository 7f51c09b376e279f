"""Descriptors of the listable, watchable resources the host follows (pods, core/v1 Events).

A watch loop is generic over a `Resource`: it only needs to know which `CoreV1Api` methods list
(and, with `watch=True`, watch) the resource in one namespace or across all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    """A namespaced core/v1 resource and the client methods that list or watch it."""

    kind: str
    plural: str
    list_namespaced: str
    list_all_namespaces: str

    def describe(self, namespace: str | None) -> str:
        return f"{self.plural} in {namespace}" if namespace else f"{self.plural} in all namespaces"


PODS = Resource(
    kind="Pod",
    plural="pods",
    list_namespaced="list_namespaced_pod",
    list_all_namespaces="list_pod_for_all_namespaces",
)

EVENTS = Resource(
    kind="Event",
    plural="events",
    list_namespaced="list_namespaced_event",
    list_all_namespaces="list_event_for_all_namespaces",
)
