"""`stacktrace`: py-spy dump of every thread, several times, optionally with locals."""

from __future__ import annotations

from tests.agent.conftest import SpawnTarget, run_agent


def test_named_threads_appear_in_every_snapshot(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")

    run = run_agent("stacktrace", "--pid", str(target.pid), "--count", "3", "--interval", "0.2")

    snapshots = run.result["snapshots"]
    assert len(snapshots) == 3
    for snapshot in snapshots:
        threads = {thread["name"]: thread for thread in snapshot["threads"]}
        assert {"MainThread", "worker-alpha", "worker-beta"} <= set(threads)
        functions = [frame["function"] for frame in threads["worker-alpha"]["frames"]]
        assert "wait_for_work" in functions
        assert threads["worker-alpha"]["osThreadId"] != threads["worker-beta"]["osThreadId"]
    assert snapshots[0]["takenAt"] < snapshots[2]["takenAt"]


def test_includes_local_variables_when_asked(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")

    run = run_agent("stacktrace", "--pid", str(target.pid), "--locals")

    (snapshot,) = run.result["snapshots"]
    beta = next(thread for thread in snapshot["threads"] if thread["name"] == "worker-beta")
    frame = next(frame for frame in beta["frames"] if frame["function"] == "wait_for_work")
    local_vars = {var["name"]: var for var in frame["locals"]}
    assert local_vars["secret_number"]["repr"] == "4242"
    assert local_vars["greeting"]["arg"] is True
    assert "worker-beta" in local_vars["greeting"]["repr"]


def test_leaves_locals_out_by_default(spawn_target: SpawnTarget) -> None:
    target = spawn_target("named_threads.py")

    run = run_agent("stacktrace", "--pid", str(target.pid))

    frames = [frame for thread in run.result["snapshots"][0]["threads"] for frame in thread["frames"]]
    assert frames and all(frame["locals"] is None for frame in frames)
