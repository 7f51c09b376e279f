"""Lists in chunks, list-then-watch without gaps, bookmarks, 410 Gone, dropped and timed-out streams."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import urllib3
from kubernetes.client.rest import ApiException

from host.localcluster import LocalCluster, LocalClusterSettings
from host.localcluster.testing import WatchRecorder, sleeping_pod, wait_for


def names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["raw_object"]["metadata"].get("name", "")) for e in events]


def make_pods(api: Any, *pod_names: str, **kwargs: Any) -> None:
    for name in pod_names:
        api.create_namespaced_pod("default", sleeping_pod(name, **kwargs))


def test_lists_in_chunks_that_add_up_to_the_whole_list(api: Any) -> None:
    make_pods(api, *(f"p{i}" for i in range(7)))
    first = api.list_namespaced_pod("default", limit=3)
    assert [p.metadata.name for p in first.items] == ["p0", "p1", "p2"]
    assert first.metadata.remaining_item_count == 4
    seen = [p.metadata.name for p in first.items]
    token = first.metadata._continue
    while token:
        page = api.list_namespaced_pod("default", limit=3, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += [p.metadata.name for p in page.items]
        token = page.metadata._continue
    assert seen == [f"p{i}" for i in range(7)]


def test_continued_list_shows_the_state_of_its_first_page(api: Any) -> None:
    make_pods(api, "a", "b", "c", "d")
    first = api.list_namespaced_pod("default", limit=2)
    api.delete_namespaced_pod("d", "default")
    api.patch_namespaced_pod("c", "default", {"metadata": {"labels": {"changed": "yes"}}})
    make_pods(api, "e")
    rest = api.list_namespaced_pod("default", limit=10, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["c", "d"]
    assert rest.items[0].metadata.labels in (None, {})
    assert rest.metadata.resource_version == first.metadata.resource_version


def test_continue_token_older_than_the_history_is_expired(cluster: LocalCluster, api: Any) -> None:
    make_pods(api, "a", "b", "c")
    first = api.list_namespaced_pod("default", limit=1)
    api.patch_namespaced_pod("b", "default", {"metadata": {"labels": {"x": "y"}}})
    cluster.compact()
    with pytest.raises(ApiException) as caught:
        api.list_namespaced_pod("default", limit=1, _continue=first.metadata._continue)
    assert caught.value.status == 410
    assert json.loads(caught.value.body)["reason"] == "Expired"


def test_watch_from_a_list_version_sees_every_later_change_exactly_once(api: Any) -> None:
    make_pods(api, "old1", "old2")
    listed = api.list_namespaced_pod("default")
    make_pods(api, "new1", "new2")
    api.patch_namespaced_pod("old1", "default", {"metadata": {"labels": {"v": "2"}}})
    api.delete_namespaced_pod("old2", "default")
    recorder = WatchRecorder(
        api.list_namespaced_pod,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    events = recorder.drain()
    assert names(events) == [("ADDED", "new1"), ("ADDED", "new2"), ("MODIFIED", "old1"), ("DELETED", "old2")]
    versions = [int(e["raw_object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)
    assert versions[0] > int(listed.metadata.resource_version)


def test_watch_without_a_version_starts_with_the_current_objects(cluster: LocalCluster, api: Any) -> None:
    make_pods(api, "x", "y")
    recorder = WatchRecorder(api.list_namespaced_pod, "default", timeout_seconds=30)
    assert names(recorder.take(2)) == [("ADDED", "x"), ("ADDED", "y")]
    make_pods(api, "z")
    assert names(recorder.take(1)) == [("ADDED", "z")]
    recorder.stop()


def test_watch_streams_chunked_json_lines(cluster: LocalCluster, api: Any) -> None:
    make_pods(api, "line")
    http = urllib3.PoolManager()
    try:
        response = http.request(
            "GET",
            f"{cluster.url}/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1",
            preload_content=False,
        )
        assert response.headers["Transfer-Encoding"] == "chunked"
        lines = [json.loads(line) for line in response.read().decode().splitlines()]
        response.release_conn()
    finally:
        http.clear()
    assert [(e["type"], e["object"]["metadata"]["name"], e["object"]["kind"]) for e in lines] == [
        ("ADDED", "line", "Pod")
    ]


def test_bookmark_on_demand_carries_the_current_version(cluster: LocalCluster, api: Any) -> None:
    listed = api.list_namespaced_pod("default")
    recorder = WatchRecorder(
        api.list_namespaced_pod,
        "default",
        resource_version=listed.metadata.resource_version,
        allow_watch_bookmarks=True,
    )
    wait_for(lambda: cluster.open_watches() == 1, what="the watch to open")
    api.create_namespace({"metadata": {"name": "moves-the-counter"}})
    assert cluster.send_bookmarks() == 1
    (bookmark,) = recorder.take(1)
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["raw_object"]["kind"] == "Pod"
    assert int(bookmark["raw_object"]["metadata"]["resourceVersion"]) == cluster.resource_version()
    assert recorder.watch.resource_version == str(cluster.resource_version())
    recorder.stop()


def test_bookmarks_arrive_periodically_without_activity() -> None:
    settings = LocalClusterSettings.for_tests(bookmark_interval_seconds=0.3)
    with LocalCluster(settings, kubelet=False) as lc:
        api = lc.core_v1()
        recorder = WatchRecorder(
            api.list_namespaced_pod, "default", resource_version="0", allow_watch_bookmarks=True
        )
        events = recorder.take(2, timeout=20)
        assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
        recorder.stop()


def test_watch_without_bookmarks_allowed_gets_none(cluster: LocalCluster, api: Any) -> None:
    recorder = WatchRecorder(api.list_namespaced_pod, "default", timeout_seconds=2)
    wait_for(lambda: cluster.open_watches() == 1, what="the watch to open")
    assert cluster.send_bookmarks() == 0
    assert recorder.drain() == []


def test_send_initial_events_ends_with_an_annotated_bookmark(api: Any) -> None:
    make_pods(api, "i1", "i2")
    recorder = WatchRecorder(
        api.list_namespaced_pod,
        "default",
        send_initial_events=True,
        allow_watch_bookmarks=True,
        resource_version_match="NotOlderThan",
        timeout_seconds=30,
    )
    events = recorder.take(3)
    assert names(events)[:2] == [("ADDED", "i1"), ("ADDED", "i2")]
    assert events[2]["type"] == "BOOKMARK"
    assert events[2]["raw_object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    recorder.stop()


def test_watch_from_a_compacted_version_fails_with_410_gone(cluster: LocalCluster, api: Any) -> None:
    make_pods(api, "c1")
    old = api.list_namespaced_pod("default").metadata.resource_version
    api.patch_namespaced_pod("c1", "default", {"metadata": {"labels": {"a": "b"}}})
    cluster.compact()
    with_timeout = WatchRecorder(api.list_namespaced_pod, "default", resource_version=old, timeout_seconds=5)
    assert with_timeout.drain() == []
    assert isinstance(with_timeout.error, ApiException)
    assert with_timeout.error.status == 410
    assert "Expired" in str(with_timeout.error.reason)
    retrying = WatchRecorder(api.list_namespaced_pod, "default", resource_version=old)
    assert retrying.drain() == []
    assert isinstance(retrying.error, ApiException)
    assert retrying.error.status == 410


def test_versions_older_than_the_history_window_are_gone(cluster: LocalCluster, api: Any) -> None:
    cluster.set_history_window(5)
    start = api.list_namespaced_pod("default").metadata.resource_version
    make_pods(api, *(f"w{i}" for i in range(8)))
    recent = cluster.resource_version() - 3
    gone = WatchRecorder(api.list_namespaced_pod, "default", resource_version=start, timeout_seconds=5)
    gone.drain()
    assert isinstance(gone.error, ApiException)
    assert gone.error.status == 410
    kept = WatchRecorder(api.list_namespaced_pod, "default", resource_version=str(recent), timeout_seconds=1)
    assert names(kept.drain()) == [("ADDED", "w5"), ("ADDED", "w6"), ("ADDED", "w7")]


def test_abruptly_dropped_watch_resumes_from_its_last_version_without_gaps(
    cluster: LocalCluster, api: Any
) -> None:
    start = api.list_namespaced_pod("default").metadata.resource_version
    first = WatchRecorder(api.list_namespaced_pod, "default", resource_version=start)
    wait_for(lambda: cluster.open_watches() == 1, what="the watch to open")
    make_pods(api, "d0", "d1", "d2")
    received = first.take(3)
    assert cluster.drop_watches() == 1
    make_pods(api, "d3", "d4")
    first.ended.wait(20)
    assert first.ended.is_set(), "the client should notice the reset connection"
    last_seen = received[-1]["raw_object"]["metadata"]["resourceVersion"]
    resumed = WatchRecorder(api.list_namespaced_pod, "default", resource_version=last_seen, timeout_seconds=2)
    assert names(resumed.drain()) == [("ADDED", "d3"), ("ADDED", "d4")]


def test_gracefully_ended_watch_is_resumed_by_the_client_without_loss(
    cluster: LocalCluster, api: Any
) -> None:
    start = api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(api.list_namespaced_pod, "default", resource_version=start)
    wait_for(lambda: cluster.open_watches() == 1, what="the watch to open")
    make_pods(api, "g0", "g1")
    recorder.take(2)
    cluster.drop_watches(abrupt=False)
    make_pods(api, "g2", "g3")
    assert names(recorder.take(2)) == [("ADDED", "g2"), ("ADDED", "g3")]
    recorder.stop()


def test_timeout_seconds_ends_the_stream(api: Any) -> None:
    began = time.monotonic()
    recorder = WatchRecorder(api.list_namespaced_pod, "default", timeout_seconds=1)
    assert recorder.drain(timeout=30) == []
    assert recorder.error is None
    assert time.monotonic() - began >= 0.9


def test_selector_watch_sees_objects_enter_and_leave_the_selection(cluster: LocalCluster, api: Any) -> None:
    start = api.list_namespaced_pod("default").metadata.resource_version
    recorder = WatchRecorder(
        api.list_namespaced_pod, "default", label_selector="app=x", resource_version=start
    )
    make_pods(api, "sel", labels={"app": "y"})
    api.patch_namespaced_pod("sel", "default", {"metadata": {"labels": {"app": "x"}}})
    api.patch_namespaced_pod("sel", "default", {"metadata": {"labels": {"app": "x", "more": "1"}}})
    api.patch_namespaced_pod("sel", "default", {"metadata": {"labels": {"app": "z"}}})
    api.delete_namespaced_pod("sel", "default")
    events = recorder.take(3)
    assert names(events) == [("ADDED", "sel"), ("MODIFIED", "sel"), ("DELETED", "sel")]
    assert events[2]["raw_object"]["metadata"]["labels"]["app"] == "x"
    recorder.stop()


def test_watch_across_namespaces_and_on_one_namespace(cluster: LocalCluster, api: Any) -> None:
    api.create_namespace({"metadata": {"name": "elsewhere"}})
    start = api.list_pod_for_all_namespaces().metadata.resource_version
    everywhere = WatchRecorder(api.list_pod_for_all_namespaces, resource_version=start)
    only_default = WatchRecorder(api.list_namespaced_pod, "default", resource_version=start)
    api.create_namespaced_pod("elsewhere", sleeping_pod("far"))
    api.create_namespaced_pod("default", sleeping_pod("near"))
    assert names(everywhere.take(2)) == [("ADDED", "far"), ("ADDED", "near")]
    assert names(only_default.take(1)) == [("ADDED", "near")]
    everywhere.stop()
    only_default.stop()
