"""The reply envelope round-trips through `parse_reply` / `typed_result` for the host's use."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from host.agent.models import AgentFailed, AgentOk, WaitResult, parse_reply, typed_result


def test_a_success_reply_parses_into_its_actions_result_model() -> None:
    reply = parse_reply('{"ok":true,"action":"wait","result":{"signal":"SIGTERM","waitedSeconds":1.5}}')

    assert isinstance(reply, AgentOk)
    result = typed_result(reply)
    assert isinstance(result, WaitResult) and result.waited_seconds == 1.5
    assert result.to_wire() == {"signal": "SIGTERM", "waitedSeconds": 1.5}


def test_an_error_reply_parses_with_code_and_details() -> None:
    reply = parse_reply(
        '{"ok":false,"action":"profile","error":{"code":"not_python","message":"m","details":{"pid":3}}}'
    )

    assert isinstance(reply, AgentFailed)
    assert (reply.error.code, reply.error.details) == ("not_python", {"pid": 3})


def test_text_that_is_not_a_reply_is_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_reply('{"hello": 1}')
    with pytest.raises(ValueError, match="Expecting value"):
        parse_reply("Traceback (most recent call last):")
