"""The demo's sample application: a web-like request loop with a deliberate CPU hotspot and a slow leak.

Runs as a real local process in the demo pod, so the built-in workflows have something true to find:
`checksum_catalogue` is the hottest function, `remember_session` leaks, and a named worker thread
shows up in stack traces.
"""

from __future__ import annotations

import hashlib
import random
import signal
import sys
import threading
import time

SESSIONS: list[bytes] = []  # the leak: sessions are remembered and never forgotten


def checksum_catalogue(items: int) -> str:
    """The CPU hotspot: hashes the whole catalogue on every request instead of caching it."""
    digest = hashlib.sha256()
    for i in range(items):
        digest.update(f"product-{i}-{i * 7919 % 1000}".encode())
    return digest.hexdigest()


def remember_session(request_id: int) -> None:
    """The leak: about 4 KiB per request kept forever."""
    SESSIONS.append(random.randbytes(4 * 1024) + request_id.to_bytes(8, "little"))


def handle_request(request_id: int) -> str:
    remember_session(request_id)
    return checksum_catalogue(25000)


def background_reporter(stop: threading.Event) -> None:
    while not stop.wait(1.0):
        print(f"reporter: {len(SESSIONS)} sessions held, {len(SESSIONS) * 4} KiB", flush=True)


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=background_reporter, args=(stop,), name="metrics-reporter", daemon=True).start()
    print("shop-web: serving requests", flush=True)
    request_id = 0
    while not stop.is_set():
        request_id += 1
        handle_request(request_id)
        time.sleep(0.01)
    return 0


if __name__ == "__main__":
    sys.exit(main())
