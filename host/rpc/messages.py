"""The four JSON-RPC 2.0 message shapes as frozen pydantic models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    jsonrpc: Literal["2.0"] = "2.0"


Id = StrictInt | StrictStr


class Request(_Msg):
    id: Id
    method: StrictStr = Field(min_length=1)
    params: dict[str, Any] | list[Any] | None = None


class Notification(_Msg):
    method: StrictStr = Field(min_length=1)
    params: dict[str, Any] | list[Any] | None = None


class ErrorObject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: StrictInt
    message: StrictStr
    data: Any = None


class Response(_Msg):
    id: Id | None
    result: Any = None
    error: ErrorObject | None = None


Message = Request | Notification | Response
