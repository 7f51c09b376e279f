"""The hot paths' JSON: events go out as the serializer would write them, and orjson's gaps fall back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from host.model.events import Event, Subject, Target
from host.rpc.framing import encode_message, encode_request
from host.rpc.messages import Request
from host.wirejson import dumps_line, loads
from tests.sources.pods import POD


def _walked(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


EVENTS = [
    Event(kind="pod.update", subject=Subject(namespace="shop", name="web-1", uid="u"), pod={"name": "web-1"},
          object=POD, old_object=POD, changes=["labels"], resource="v1/Pod", container="app"),
    Event(kind="k8s.warningEvent", k8s_event={"reason": "BackOff", "count": 3}, object={"kind": "Event"}),
    Event(kind="alert", alert={"labels": {"alertname": "HighMemory"}, "status": "firing"}),
    Event(kind="manual", target=Target(namespace="shop", pod="web-1"), requested_by="api"),
    Event(kind="schedule", schedule="*/5 * * * *", extraField={"kept": True}),  # extra="allow"
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.kind for e in EVENTS])
def test_an_event_on_the_wire_is_what_walking_it_gives(event: Event) -> None:
    assert event.wire() == _walked(event)


def test_a_request_is_the_same_document_as_the_model_encoding() -> None:
    params = {"invocationId": "inv-1", "event": EVENTS[0].wire(), "params": {"n": 1.5, "s": "ünï\n\u2028"}}
    fast = encode_request(7, "run", params)
    assert fast.endswith(b"\n") and fast.count(b"\n") == 1
    assert json.loads(fast) == json.loads(encode_message(Request(id=7, method="run", params=params)))


def test_what_orjson_refuses_to_read_the_standard_library_still_reads() -> None:
    assert loads(b'{"a": NaN}')["a"] != loads(b'{"a": NaN}')["a"]  # NaN, as before
    assert loads(b'{"s": "\\ud800"}') == {"s": "\ud800"}
    with pytest.raises(ValueError, match="Expecting"):
        loads(b'{"a": ')


def test_what_orjson_cannot_write_the_standard_library_writes_or_refuses() -> None:
    assert json.loads(dumps_line({"big": 2**70})) == {"big": 2**70}
    assert dumps_line({1: "int key"}) == b'{"1":"int key"}\n'
    assert dumps_line({"nan": float("nan")}) == b'{"nan":null}\n'  # documented: non-finite is null
