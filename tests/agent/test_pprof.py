"""The pure-Python pprof reader: profile.proto decoded into stacks (inlined frames expanded), bounded
on hostile input; the goroutine dump (debug=2) parsed into states, waits and creators."""

from __future__ import annotations

import gzip

import pytest

from host.agent import pprof
from host.agent.flamegraph import top_functions


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _packed(values: list[int]) -> bytes:
    return b"".join(_varint(v) for v in values)


def _profile() -> bytes:
    strings = ["", "samples", "count", "cpu", "nanoseconds", "main.main", "main.go", "main.hot", "main.inlined"]
    s = {text: i for i, text in enumerate(strings)}
    msg = b""
    msg += _field(1, _field(1, s["samples"]) + _field(2, s["count"]))
    msg += _field(1, _field(1, s["cpu"]) + _field(2, s["nanoseconds"]))
    # sample 1: hot (with main.inlined inlined into it) called from main, 3 samples
    msg += _field(2, _field(1, _packed([2, 1])) + _field(2, _packed([3, 30_000_000])))
    # sample 2: main alone, 1 sample, values unpacked
    msg += _field(2, _field(1, 1) + _field(2, 1) + _field(2, 10_000_000))
    msg += _field(4, _field(1, 1) + _field(4, _field(1, 1) + _field(2, 10)))
    msg += _field(4, _field(1, 2) + _field(4, _field(1, 3) + _field(2, 42)) + _field(4, _field(1, 2) + _field(2, 20)))
    msg += _field(5, _field(1, 1) + _field(2, s["main.main"]) + _field(4, s["main.go"]))
    msg += _field(5, _field(1, 2) + _field(2, s["main.hot"]) + _field(4, s["main.go"]))
    msg += _field(5, _field(1, 3) + _field(2, s["main.inlined"]) + _field(4, s["main.go"]))
    msg += b"".join(_field(6, text.encode()) for text in strings)
    msg += _field(10, 2_000_000_000) + _field(11, _field(1, s["cpu"]) + _field(2, s["nanoseconds"]))
    msg += _field(12, 10_000_000)
    return gzip.compress(msg)


def test_a_profile_decodes_into_stacks_with_inlined_frames_expanded() -> None:
    profile = pprof.decode_profile(_profile())
    assert profile.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert (profile.period, profile.duration_nanos, profile.period_type) == (10_000_000, 2_000_000_000, ("cpu", "nanoseconds"))
    stacks = pprof.stacks(profile, 0)
    labels = sorted((tuple(f.label for f in frames), count) for frames, count in stacks)
    assert labels == [
        (("main.main (main.go:10)",), 1),
        (("main.main (main.go:10)", "main.hot (main.go:20)", "main.inlined (main.go:42)"), 3),
    ]
    top = top_functions(stacks)
    assert (top[0].function, top[0].self_samples, top[0].total_share) == ("main.inlined", 3, 0.75)
    assert [(v[1]) for _, v in profile.samples] == [30_000_000, 10_000_000]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x1f\x8b\x08garbage", id="broken-gzip"),
        pytest.param(bytes([0x12, 0xFF, 0xFF, 0xFF, 0x0F]), id="length-past-end"),
        pytest.param(b"\xff" * 20, id="overlong-varint"),
        pytest.param(bytes([0x0B]), id="group-wire-type"),
    ],
)
def test_malformed_profiles_raise_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformation is a ValueError
        pprof.decode_profile(raw)


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(bytes(8 << 20))
    with pytest.raises(ValueError, match="decompressed"):
        pprof.gunzip(bomb, limit=1 << 20)


DUMP = """goroutine 1 [running]:
main.main()
\t/src/main.go:60 +0x285

goroutine 20 [chan receive, 12 minutes]:
main.waitForOrders(0x0?)
\t/src/main.go:29 +0x15
created by main.main in goroutine 1
\t/src/main.go:49 +0xe8

goroutine 7 gp=0xc000007c00 m=nil [select, 3 minutes, locked to thread]:
main.(*Server).loop(0xc0000b2000)
\t/src/server.go:101 +0x1a5
main.(*Server).Start.gowrap1()
\t/src/server.go:80 +0x25
created by main.(*Server).Start in goroutine 1
\t/src/server.go:80 +0x96

goroutine 9 [sync.Mutex.Lock]:
internal/sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)
\t/go/src/runtime/sema.go:95 +0x25
"""


def test_the_goroutine_dump_gives_states_waits_frames_and_creators() -> None:
    goroutines = {g.id: g for g in pprof.parse_goroutines(DUMP)}
    assert set(goroutines) == {1, 20, 7, 9}
    assert (goroutines[1].state, goroutines[1].wait_minutes, goroutines[1].frames[0].function) == (
        "running", None, "main.main"
    )
    assert (goroutines[20].state, goroutines[20].wait_minutes) == ("chan receive", 12)
    assert goroutines[20].created_by == "main.main (/src/main.go:49)"
    server = goroutines[7]
    assert (server.state, server.wait_minutes, server.locked_to_thread) == ("select", 3, True)
    assert [f.function for f in server.frames] == ["main.(*Server).loop", "main.(*Server).Start.gowrap1"]
    assert (server.frames[0].file, server.frames[0].line) == ("/src/server.go", 101)
    assert goroutines[9].frames[0].function == "internal/sync.runtime_SemacquireMutex"
