"""Params models shared by capability methods: strict, camelCase on the wire, namespace-aware."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from host.capabilities.context import CallContext

K8S_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


class CallParams(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    def subject_namespace(self, ctx: CallContext) -> str | None:
        """The namespace of what the call acts on; None (no target) is denied under a namespaced grant."""
        return None

    def subject_kind(self, ctx: CallContext) -> str | None:
        return "Pod"


class PodRef(BaseModel):
    """`{namespace, name, container?}`; a whole Pod object is accepted too (extra keys ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    namespace: str = Field(pattern=K8S_NAME, max_length=63)
    name: str = Field(pattern=K8S_NAME, max_length=253)
    container: str | None = Field(default=None, pattern=K8S_NAME, max_length=63)
    kind: str | None = Field(default=None, max_length=63, description="Kept from a whole object, for the scope check.")
