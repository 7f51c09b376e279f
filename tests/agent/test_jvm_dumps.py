"""Reading HotSpot's text: thread dumps of other JDKs' header shapes and of many threads, a
histogram without its total line, and JFR's sizes with units."""

from __future__ import annotations

from host.agent.jfr import class_name, parse_events, weight_bytes
from host.agent.jvm_dumps import by_state, parse_histogram, parse_thread_dump

JDK21_DUMP = """2026-12-03 16:12:33
Full thread dump OpenJDK 64-Bit Server VM (21.0.5+11-LTS mixed mode, sharing):

"main" #1 [7] prio=5 os_prio=0 cpu=40.49ms elapsed=5.86s tid=0x00007f0a24017ed0 nid=7 waiting on condition  [0x0]
   java.lang.Thread.State: TIMED_WAITING (sleeping)
\tat java.lang.Thread.sleep0(java.base@21.0.5/Native Method)
\tat Main.main(Main.java:9)

"pool-1-thread-1" #29 [40] daemon prio=5 os_prio=0 cpu=1.00ms elapsed=5.00s tid=0x1 nid=40 waiting on condition  [0x0]
   java.lang.Thread.State: WAITING (parking)
\tat jdk.internal.misc.Unsafe.park(java.base@21.0.5/Native Method)
\t- parking to wait for  <0x000000008a0> (a java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionObject)

"GC Thread#0" os_prio=0 cpu=13.40ms elapsed=5.86s tid=0x00007f0a24041890 nid=0x18f0 runnable

JNI global refs: 4, weak refs: 0
"""


def test_a_jdk21_dump_with_os_thread_ids_in_brackets_is_read() -> None:
    dump = parse_thread_dump(JDK21_DUMP)

    assert dump.vm == "OpenJDK 64-Bit Server VM (21.0.5+11-LTS mixed mode, sharing)"
    main, pool, gc = dump.threads
    assert (main.name, main.number, main.daemon, main.state, main.state_detail) == (
        "main", 1, False, "TIMED_WAITING", "sleeping"
    )
    assert [f.method for f in main.frames] == ["java.lang.Thread.sleep0", "Main.main"]
    assert main.frames[0].location == "Native Method" and main.frames[1].location == "Main.java:9"
    assert pool.daemon is True and pool.number == 29 and main.cpu_millis == 40.49
    assert pool.frames[0].locks[0].startswith("parking to wait for")
    assert gc.number is None and gc.state is None  # the VM's own thread
    assert dump.deadlocks == []
    assert [(s.state, s.count) for s in by_state(dump.threads)] == [("TIMED_WAITING", 1), ("WAITING", 1)]


def test_every_thread_of_a_large_dump_is_counted() -> None:
    block = '"worker-{i}" #{n} prio=5 os_prio=0 cpu=1ms tid=0x1 nid=0x2 waiting on condition [0x0]\n' \
        "   java.lang.Thread.State: WAITING (parking)\n\tat jdk.internal.misc.Unsafe.park(Native Method)\n\n"
    text = "Full thread dump Test VM:\n\n" + "".join(block.format(i=i, n=i + 10) for i in range(1200))

    dump = parse_thread_dump(text)

    assert len(dump.threads) == 1200 and dump.threads[-1].name == "worker-1199"
    assert [(s.state, s.count) for s in by_state(dump.threads)] == [("WAITING", 1200)]


def test_a_histogram_without_its_total_line_sums_its_rows() -> None:
    text = (" num     #instances         #bytes  class name (module)\n"
            "-------------------------------------------------------\n"
            "   1:            10           1000  com.example.Order\n"
            "   2:           100           3000  [B (java.base@17.0.15)\n")

    histogram = parse_histogram(text, top=1)

    assert histogram.total_bytes == 4000 and histogram.total_instances == 110 and histogram.class_count == 2
    (top,) = histogram.classes
    assert (top.class_name, top.module, top.bytes, top.share) == ("[B", "java.base@17.0.15", 3000, 0.75)


def test_jfr_sizes_and_class_names_are_read_as_jfr_prints_them() -> None:
    assert weight_bytes("512 bytes") == 512
    assert weight_bytes("2.0 MB") == 2 << 20
    assert weight_bytes("1,024.5 kB") == 1049088
    assert weight_bytes("N/A") == 0
    assert class_name("byte[] (classLoader = bootstrap)") == "byte[]"
    (event,) = parse_events(
        "jdk.ExecutionSample {\n  startTime = 16:12:38.715\n  stackTrace = [\n"
        "    Hot.burn(long) line: 25\n    java.lang.Thread.run()\n    ...\n  ]\n}\n"
    )
    assert [(f.function, f.line) for f in event.frames] == [("Hot.burn", 25), ("java.lang.Thread.run", None)]
