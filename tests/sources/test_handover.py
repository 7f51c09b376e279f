"""Failover without loss, in memory: the handled record (marks, merge, bounds, decoding), the
ledger (a mark moves only past finished invocations) and the `HandOver` gate (a standby holds its
events, the leader's record prunes them, a new leader fires exactly the ones not covered)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from host.model.events import Event
from host.sources.handled import ANNOTATION, MAX_DONE, MAX_RECORD_BYTES, HandledRecord
from host.sources.handover import HandOver, Role
from host.sources.ledger import Ledger

PODS = "v1/Pod@*"
JOBS = "batch/v1/Job@*"


def event(name: str) -> Event:
    return Event(kind="pod.crashLoop", object={"metadata": {"name": name}})


class Sink:
    """What a new leader emits, in order."""

    def __init__(self) -> None:
        self.emitted: list[str] = []
        self.ids: list[str] = []

    async def __call__(self, ev: Event) -> None:
        assert ev.object is not None
        self.emitted.append(ev.object["metadata"]["name"])
        self.ids.append(ev.id)


# -- the record -------------------------------------------------------------------------------


def test_a_mark_covers_its_position_and_every_lower_one_but_not_a_higher_or_an_unknown_stream() -> None:
    record = HandledRecord({PODS: "120"})
    assert record.covers(PODS, "120")
    assert record.covers(PODS, "7")
    assert not record.covers(PODS, "121")
    assert not record.covers(JOBS, "7")
    assert not record.covers(PODS, "opaque")  # not comparable: fire (at least once)


def test_the_record_round_trips_through_the_annotation() -> None:
    record = HandledRecord({PODS: "120", JOBS: "99"})
    annotations = record.annotations()
    assert list(annotations) == [ANNOTATION]
    assert HandledRecord.from_annotations(annotations) == record


@pytest.mark.parametrize("text", ["not json", '{"v": 2, "marks": {}}', '{"v": 1, "marks": {"a": 3}}', "[]"])
def test_an_unreadable_record_is_none(text: str) -> None:
    assert HandledRecord.decode(text) is None


def test_no_annotation_is_no_record() -> None:
    assert HandledRecord.from_annotations({"other": "x"}) is None
    assert HandledRecord.from_annotations(None) is None


def test_a_merged_mark_never_moves_back_and_done_changes_stay_only_above_it() -> None:
    old = HandledRecord({PODS: "120", JOBS: "50"}, {PODS: ("125", "130"), JOBS: ("55",)})
    record = old.merged(HandledRecord({PODS: "90", JOBS: "60", "v1/Node@*": "5"}, {PODS: ("140",)}))
    assert record.marks == {PODS: "120", JOBS: "60", "v1/Node@*": "5"}
    assert record.done == {PODS: ("125", "130", "140")}  # JOBS' 55 is below its new mark
    assert record.covers(PODS, "130") and not record.covers(PODS, "128")


def test_a_record_past_its_bound_leaves_out_the_done_lists_then_the_oldest_marks() -> None:
    marks = {f"example.com/v1/Widget{i:05d}@namespace-{i:05d}": str(1000 + i) for i in range(3000)}
    done = {stream: (str(int(mark) + 1),) for stream, mark in marks.items()}
    text = HandledRecord(marks, done).encode()
    assert len(text.encode()) <= MAX_RECORD_BYTES
    wire = json.loads(text)
    assert "done" not in wire
    kept = wire["marks"]
    assert 0 < len(kept) < len(marks)
    newest = sorted(marks.values(), key=int)[-len(kept):]
    assert sorted(kept.values(), key=int) == newest


def test_a_done_list_keeps_its_newest_entries() -> None:
    record = HandledRecord({PODS: "1"}, {PODS: tuple(str(p) for p in range(10, 10 + MAX_DONE + 50))})
    decoded = HandledRecord.decode(record.encode())
    assert decoded is not None
    assert len(decoded.done[PODS]) == MAX_DONE
    assert decoded.done[PODS][0] == str(10 + 50) and not decoded.covers(PODS, "59")


# -- the ledger -------------------------------------------------------------------------------


def test_a_mark_waits_for_the_oldest_unfinished_change_and_lists_the_finished_ones_above_it() -> None:
    ledger = Ledger()
    ledger.reach(PODS, "10")
    ledger.open(PODS, "11", "e11")
    ledger.queued("e11", 2)  # two workflows
    ledger.reach(PODS, "11")
    ledger.open(PODS, "12", "e12")
    ledger.queued("e12", 1)
    ledger.reach(PODS, "12")
    ledger.open(PODS, "13", "e13")
    ledger.queued("e13", 1)
    ledger.reach(PODS, "13")
    assert ledger.record() == HandledRecord({PODS: "10"})
    ledger.finished("e12")  # a later one finishes first: listed as done, the mark stays
    assert ledger.record() == HandledRecord({PODS: "10"}, {PODS: ("12",)})
    ledger.finished("e11")
    assert ledger.record() == HandledRecord({PODS: "10"}, {PODS: ("12",)})  # one of two still runs
    ledger.finished("e11")
    assert ledger.record() == HandledRecord({PODS: "12"})  # past 11 and 12; 13 still runs
    ledger.finished("e13")
    assert ledger.record() == HandledRecord({PODS: "13"})
    assert ledger.open_events == 0


def test_an_event_that_queued_nothing_is_done_at_once_and_unknown_ids_are_ignored() -> None:
    ledger = Ledger()
    ledger.reach(PODS, "10")
    ledger.open(PODS, "11", "e11")
    ledger.queued("e11", 0)  # rate limited, or no workflow matched
    ledger.reach(PODS, "11")
    ledger.finished("manual-event")
    ledger.queued("manual-event", 3)
    assert ledger.record() == HandledRecord({PODS: "11"})
    assert ledger.open_events == 0


# -- the gate ---------------------------------------------------------------------------------


def standby(sink: Sink, **kwargs: Any) -> HandOver:
    gate = HandOver(sink, **kwargs)
    assert gate.role is Role.STANDBY and not gate.ticking
    return gate


def see(gate: HandOver, stream: str, position: str, *names: str) -> list[Event]:
    passed = gate.admit(stream, position, [event(n) for n in names])
    gate.handled(stream, position)
    return passed


async def test_a_standby_holds_its_events_and_the_leaders_record_prunes_them() -> None:
    sink = Sink()
    gate = standby(sink)
    assert see(gate, PODS, "11", "a") == []
    assert see(gate, PODS, "12", "b", "c") == []
    assert see(gate, JOBS, "13", "j") == []
    assert gate.pending == 4
    gate.observed(HandledRecord({PODS: "11"}).annotations())
    assert gate.pending == 3
    gate.observed({})  # a read without a record changes nothing
    assert gate.pending == 3
    assert sink.emitted == []


async def test_a_new_leader_fires_the_gap_exactly_and_skips_what_the_old_one_handled() -> None:
    sink = Sink()
    gate = standby(sink)
    for position, name in [("11", "handled-1"), ("12", "handled-2"), ("13", "gap-1"), ("14", "gap-2")]:
        see(gate, PODS, position, name)
    see(gate, JOBS, "15", "unwatched-by-the-old-leader")
    # The old leader's last record, read with the winning take of the lease.
    gate.observed(HandledRecord({PODS: "12"}).annotations())
    await gate.take_over()
    assert gate.role is Role.LEADING and gate.ticking
    assert sink.emitted == ["gap-1", "gap-2", "unwatched-by-the-old-leader"]
    assert (gate.fired_at_takeover, gate.skipped_at_takeover) == (3, 0)
    # Leading: events pass; a later read of the lease (our own) does not touch anything.
    assert [e.object["metadata"]["name"] for e in see(gate, PODS, "16", "live") if e.object] == ["live"]


async def test_changes_the_old_leader_finished_above_its_mark_are_pruned_and_not_fired() -> None:
    sink = Sink()
    gate = standby(sink)
    for position, name in [("11", "slow"), ("12", "finished-above-the-mark"), ("13", "gap")]:
        see(gate, PODS, position, name)
    gate.observed(HandledRecord({PODS: "10"}, {PODS: ("12",)}).annotations())
    assert gate.pending == 2
    await gate.take_over()
    assert sink.emitted == ["slow", "gap"]


async def test_gap_changes_finishing_out_of_order_keep_the_mark_below_the_unfinished_one() -> None:
    sink = Sink()
    gate = standby(sink)
    see(gate, PODS, "11", "first")
    see(gate, PODS, "12", "second")
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    first, second = sink.ids
    gate.queued(first, 1)
    gate.queued(second, 1)
    gate.finished(second)
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "10"}, {PODS: ("12",)})
    gate.finished(first)
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "12"})


async def test_without_any_record_a_new_leader_fires_none_of_its_pending_events() -> None:
    sink = Sink()
    gate = standby(sink)
    see(gate, PODS, "11", "a")
    await gate.take_over()
    assert sink.emitted == []
    assert gate.skipped_at_takeover == 1


async def test_the_new_leaders_record_stays_at_the_old_mark_until_the_gap_has_finished() -> None:
    sink = Sink()
    gate = standby(sink)
    see(gate, PODS, "13", "gap")
    gate.observed(HandledRecord({PODS: "12"}).annotations())
    # The winning write carries the old record on while the gap is still to fire.
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "12"})
    writes: list[dict[str, str]] = []
    gate.on_handled = lambda: writes.append(gate.annotations())
    await gate.take_over()
    [gap] = sink.ids
    gate.queued(gap, 1)
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "12"})
    gate.finished(gap)
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "13"})
    assert writes  # each step asked the elector for a write


async def test_a_lagging_new_leader_drops_changes_the_old_leaders_record_covers() -> None:
    sink = Sink()
    gate = standby(sink)
    see(gate, PODS, "11", "seen-by-both")
    gate.observed(HandledRecord({PODS: "14"}).annotations())
    await gate.take_over()
    assert see(gate, PODS, "13", "late-but-handled") == []
    assert [e.object["metadata"]["name"] for e in see(gate, PODS, "15", "new") if e.object] == ["new"]


async def test_a_leader_that_stands_by_keeps_its_final_record_for_the_release() -> None:
    sink = Sink()
    gate = standby(sink)
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    for position in ("11", "12"):
        for ev in see(gate, PODS, position, f"e{position}"):
            gate.queued(ev.id, 0)
    gate.stand_by()
    assert gate.role is Role.STANDBY
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "12"})
    assert see(gate, PODS, "13", "after") == []  # held again
    assert gate.pending == 1


async def test_a_standby_drops_its_oldest_pending_events_past_the_bound() -> None:
    sink = Sink()
    gate = standby(sink, max_pending=3)
    for i in range(5):
        see(gate, PODS, str(10 + i), f"e{i}")
    assert (gate.pending, gate.dropped) == (3, 2)
    gate.observed(HandledRecord({PODS: "1"}).annotations())
    await gate.take_over()
    assert sink.emitted == ["e2", "e3", "e4"]


async def test_a_draining_leader_holds_new_events_and_records_what_finishes_before_its_release() -> None:
    sink = Sink()
    gate = standby(sink)
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    [running] = see(gate, PODS, "11", "running")
    gate.queued(running.id, 1)
    [dropped] = see(gate, PODS, "12", "dropped-at-close")
    gate.queued(dropped.id, 1)
    gate.drain()
    assert gate.role is Role.DRAINING and not gate.ticking
    assert see(gate, PODS, "13", "after-the-sigterm") == []  # held for the next leader
    gate.finished(running.id)
    gate.stand_by()  # the dropped one never finished: the release's record stops below it
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "11"})
    assert gate.pending == 1


async def test_a_draining_leaders_record_never_covers_a_change_it_held() -> None:
    sink = Sink()
    gate = standby(sink)
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    [done] = see(gate, PODS, "11", "done")
    gate.queued(done.id, 0)
    gate.drain()
    assert see(gate, PODS, "12", "held-at-the-sigterm") == []
    see(gate, PODS, "13")  # a change without events, after it
    gate.stand_by()
    record = HandledRecord.from_annotations(gate.annotations())
    assert record is not None and not record.covers(PODS, "12")
    assert record == HandledRecord({PODS: "11"})


async def test_an_event_of_an_earlier_leadership_that_never_finished_does_not_hold_the_next_one_back() -> None:
    sink = Sink()
    gate = standby(sink)
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    [stuck] = see(gate, PODS, "11", "never-finishes")
    gate.queued(stuck.id, 1)
    gate.stand_by()  # the lease lost; that invocation is cancelled as the host stops, unreported
    see(gate, PODS, "12", "held")
    gate.observed(HandledRecord({PODS: "11"}).annotations())  # the other leader ran 11
    await gate.take_over()
    assert sink.emitted == ["held"]
    gate.queued(sink.ids[-1], 0)
    [live] = see(gate, PODS, "13", "live")
    gate.queued(live.id, 0)
    assert HandledRecord.from_annotations(gate.annotations()) == HandledRecord({PODS: "13"})


async def test_a_pending_event_comes_back_at_take_over_exactly_as_it_was_seen() -> None:
    pod = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "11"},
           "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 4}]}}
    seen = Event(kind="pod.crashLoop", subject={"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "u-1"},
                 pod=pod, object=pod, old_object={**pod, "status": {"phase": "Pending"}}, changes=["status"],
                 container="app", reason="CrashLoopBackOff", message="back-off 10s \u2028 é", restart_count=4,
                 resource="v1/Pod")
    emitted: list[Event] = []

    async def keep(ev: Event) -> None:
        emitted.append(ev)

    gate = HandOver(keep)
    assert gate.admit(PODS, "11", [seen]) == []
    gate.observed(HandledRecord({PODS: "10"}).annotations())
    await gate.take_over()
    assert [ev.model_dump() for ev in emitted] == [seen.model_dump()]
    assert emitted[0].wire() == seen.wire()


async def test_a_standby_bounds_its_pending_events_by_bytes_and_drops_the_oldest() -> None:
    sink = Sink()
    one = len(json.dumps(event("e0").wire(), separators=(",", ":"))) + 1
    gate = standby(sink, max_pending_bytes=3 * one + one // 2)
    for i in range(6):
        see(gate, PODS, str(10 + i), f"e{i}")
    assert (gate.pending, gate.dropped) == (3, 3)
    assert gate.pending_bytes <= gate.max_pending_bytes
    gate.observed(HandledRecord({PODS: "13"}).annotations())  # prunes e3: the bytes follow
    assert (gate.pending, gate.pending_bytes) == (2, 2 * one)
    await gate.take_over()
    assert sink.emitted == ["e4", "e5"]
    assert gate.pending_bytes == 0
