"""Alertmanager webhook payloads (the real version 4 shape) with fields missing, null, of the wrong
type, with odd timestamps and unicode, posted to a running host. A payload is accepted (every alert
an `alert` event that the workflow then runs with, to the end) or refused with a 400 naming the
field; the host stays healthy. And an event the guest cannot be sent fails its invocation, not
the workflow's queue."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.model.events import Event
from tests.hostile.conftest import RunningHost

pytestmark = pytest.mark.timeout(300)

ALERT_KEYS = ("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint")
TOP_KEYS = ("version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
            "commonAnnotations", "externalURL", "alerts")

ODD_TEXT = st.text(max_size=40) | st.sampled_from(["", "\u0000", "🔥" * 20, "ünïcødé", "a\nb", "\u202e", "\ufeff"])
TIMESTAMPS = st.sampled_from(["2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "yesterday",
                              "", "2026-01-01T00:00:00.123456789+14:00", "9999-12-31T23:59:59Z", "1970-01-01"])
ANY = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ODD_TEXT,
                   lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_TEXT, inner, max_size=3),
                   max_leaves=10)
LABELS = st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=5)


@st.composite
def alert(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "status": draw(st.sampled_from(["firing", "resolved", "", "FIRING"])),
        "labels": {"alertname": draw(ODD_TEXT), **draw(LABELS),
                   **draw(st.fixed_dictionaries({}, optional={"namespace": ODD_TEXT, "pod": ODD_TEXT}))},
        "annotations": draw(LABELS), "startsAt": draw(TIMESTAMPS), "endsAt": draw(TIMESTAMPS),
        "generatorURL": draw(ODD_TEXT), "fingerprint": draw(ODD_TEXT),
    }
    for key in draw(st.sets(st.sampled_from(ALERT_KEYS), max_size=3)):
        doc[key] = draw(st.sampled_from([None, "missing"]) | ANY)
        if doc[key] == "missing":
            del doc[key]
    if draw(st.booleans()):
        doc[draw(ODD_TEXT)] = draw(ANY)  # a field Alertmanager may add one day
    return doc


@st.composite
def payload(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "4", "groupKey": draw(ODD_TEXT), "truncatedAlerts": draw(st.integers(0, 10)),
        "status": draw(st.sampled_from(["firing", "resolved"])), "receiver": draw(ODD_TEXT),
        "groupLabels": draw(LABELS), "commonLabels": draw(LABELS), "commonAnnotations": draw(LABELS),
        "externalURL": draw(ODD_TEXT), "alerts": draw(st.lists(alert(), max_size=4)),
    }
    for key in draw(st.sets(st.sampled_from(TOP_KEYS), max_size=2)):
        doc[key] = draw(st.sampled_from([None, "missing"]) | ANY)
        if doc[key] == "missing":
            del doc[key]
    return doc


def outcomes(running: RunningHost, event_ids: set[str]) -> dict[str, str]:
    return {r.event_id: r.outcome for r in running.host.dispatcher.results if r.event_id in event_ids}


@settings(max_examples=100, deadline=None)
@given(payload())
def test_a_webhook_payload_is_accepted_whole_or_refused_naming_the_field(running_host: RunningHost,
                                                                           doc: dict[str, Any]) -> None:
    answer = running_host.post_json("/api/v1/alerts", doc)
    assert answer.status in (202, 400), answer
    if answer.status == 400:
        error = answer.doc["error"]
        assert error.split(":")[0].split(".")[0].split("[")[0] in ("alerts", "version", "status", "receiver"), error
        return
    alerts = doc["alerts"]
    assert answer.doc["accepted"] == len(alerts)
    assert [e["workflows"] for e in answer.doc["events"]] == [["echo"]] * len(alerts)
    # Each of them reaches the guest and runs to the end: nothing in an alert breaks the run.
    ids = {e["eventId"] for e in answer.doc["events"]}
    deadline = time.monotonic() + 30
    while len(outcomes(running_host, ids)) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcomes(running_host, ids) == dict.fromkeys(ids, "ok")


def test_the_alerts_past_the_batch_cap_are_refused_naming_the_field(running_host: RunningHost) -> None:
    answer = running_host.post_json("/api/v1/alerts", {"version": "4", "alerts": [{"labels": {}}] * 1001})
    assert answer.status == 400
    assert answer.doc["error"].startswith("alerts: List should have at most 1000 items")


@pytest.mark.parametrize("labels", [{"alertname": "\ud800"}, {"\udfff": "x"}], ids=["value", "key"])
def test_an_event_that_cannot_be_written_to_the_guest_fails_its_invocation_not_the_queue(
    running_host: RunningHost, labels: dict[str, str]
) -> None:
    # The API refuses such a body (tests/hostile/test_api_bodies.py), but a source is free to make
    # one: before, the encoding error escaped the workflow's consumer task and its queue stopped.
    event = Event(kind="alert", alert={"labels": labels})

    async def submit() -> list[str]:
        return await running_host.host.submit(event)

    assert running_host.call(submit) == ["echo"]
    deadline = time.monotonic() + 30
    while not outcomes(running_host, {event.id}) and time.monotonic() < deadline:
        time.sleep(0.01)
    (result,) = [r for r in running_host.host.dispatcher.results if r.event_id == event.id]
    assert result.outcome == "crashed"
    assert result.error is not None and "cannot be written as JSON" in result.error
    assert running_host.healthy()


def test_the_host_is_healthy_after_all_of_it(running_host: RunningHost) -> None:
    assert running_host.healthy()
    ok = json.dumps({"version": "4", "alerts": [{"labels": {"alertname": "Still", "namespace": "a", "pod": "b"}}]})
    answer = running_host.request("POST", "/api/v1/alerts", body=ok.encode())
    assert answer.status == 202 and answer.doc["events"][0]["workflows"] == ["echo"]
