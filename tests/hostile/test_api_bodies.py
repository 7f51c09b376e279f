"""Hostile request bodies against a running host over real HTTP: random JSON, valid bodies with a
field removed or replaced, bytes that are no JSON (or JSON only to a lenient parser), odd content
types and bodies past the size cap. Every one gets a 2xx or a 4xx with a reason, never a 5xx, and
the host still answers /healthz and runs a valid trigger afterwards."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import Answer, RunningHost

pytestmark = pytest.mark.timeout(300)

ENDPOINTS = ("/api/v1/trigger", "/api/v1/alerts")
VALID_TRIGGER: dict[str, Any] = {"workflow": "echo", "target": {"namespace": "shop", "pod": "web-1"},
                                 "params": {"word": "hi"}, "wait": False}
VALID_ALERTS: dict[str, Any] = {"version": "4", "status": "firing", "receiver": "wfhost",
                                "alerts": [{"status": "firing", "labels": {"alertname": "A"}}]}

SCALARS = (st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                                         max_size=5), max_leaves=25)


def assert_clear(answer: Answer) -> None:
    """A success, or a refusal that says why; never a server error."""
    assert answer.status < 500, (answer.status, answer.doc)
    if answer.status >= 400:
        assert answer.content_type == "application/json", answer
        assert isinstance(answer.doc.get("error"), str) and answer.doc["error"], answer.doc


def mutated(base: dict[str, Any], path: list[str], value: Any, *, remove: bool) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(base))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if remove:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return doc


TRIGGER_PATHS = [["workflow"], ["target"], ["target", "namespace"], ["target", "pod"], ["target", "container"],
                 ["params"], ["params", "word"], ["wait"], ["timeout"], ["surprise"]]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(ENDPOINTS), JSON)
def test_random_json_bodies_get_an_answer_with_a_reason(running_host: RunningHost, path: str, value: Any) -> None:
    assert_clear(running_host.request("POST", path, body=json.dumps(value).encode()))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(TRIGGER_PATHS), JSON, st.booleans())
def test_a_valid_trigger_with_one_field_replaced_or_removed_is_run_or_refused_naming_it(
    running_host: RunningHost, path: list[str], value: Any, remove: bool
) -> None:
    if path == ["timeout"] or path == ["wait"]:
        remove = remove or value is True  # never wait here: the property is about the answer
    body = mutated(VALID_TRIGGER, path, value, remove=remove)
    answer = running_host.post_json("/api/v1/trigger", body)
    assert_clear(answer)
    if answer.status == 400 and "body is not valid JSON" not in answer.doc["error"]:
        assert answer.doc["error"].startswith(path[0]) or answer.doc["error"].startswith("param "), answer.doc


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(ENDPOINTS), st.binary(max_size=300))
def test_random_bytes_get_an_answer_with_a_reason(running_host: RunningHost, path: str, raw: bytes) -> None:
    assert_clear(running_host.request("POST", path, body=raw))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_cancel_of_any_invocation_id_is_a_404_or_a_202(running_host: RunningHost, inv_id: str) -> None:
    answer = running_host.request("POST", f"/api/v1/invocations/{urllib.parse.quote(inv_id, safe='')}/cancel", body=b"")
    assert_clear(answer)
    assert answer.status in (202, 404, 405) or answer.status < 500


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ENDPOINTS), st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded",
                                                    "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                                    "application/JSON", "application/jsonx", "*/*"]))
def test_odd_content_types_are_refused_or_read_as_json(running_host: RunningHost, path: str, ctype: str | None) -> None:
    body = VALID_TRIGGER if path.endswith("trigger") else VALID_ALERTS
    answer = running_host.request("POST", path, body=json.dumps(body).encode(), content_type=ctype)
    assert_clear(answer)
    if answer.status >= 400:
        assert answer.status == 415 and "application/json" in answer.doc["error"]


@pytest.mark.parametrize(("raw", "says"), [
    (b'{"alerts": [], "x": NaN}', "body is not valid JSON"),
    (b'{"alerts": [{"labels": {"alertname": "\\ud800"}}]}', "body is not valid JSON: no low surrogate"),
    (b'{"alerts": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "body is not valid JSON: depth limit"),
    ('{"alerts": []}'.encode("utf-16"), "body is not valid JSON"),
    (b"\xef\xbb\xbf" + b'{"alerts": []}', "body is not valid JSON"),
    (b'{"alerts": [], "x": "' + b"a" * (2 << 20) + b'"}', "Request Entity Too Large"),
], ids=["nan", "lone-surrogate", "deep", "utf-16", "bom", "over-the-cap"])
def test_json_a_lenient_parser_takes_and_bodies_past_the_cap_are_refused(
    running_host: RunningHost, raw: bytes, says: str
) -> None:
    answer = running_host.request("POST", "/api/v1/alerts", body=raw)
    assert 400 <= answer.status < 500, answer
    assert says in answer.doc["error"], answer.doc


def test_the_host_is_healthy_after_all_of_it(running_host: RunningHost) -> None:
    # Last in the module (tests run in file order): every property above used this same host.
    assert running_host.host.started
    assert running_host.healthy()
