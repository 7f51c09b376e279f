"""Scripts for real child processes that tests stop (the sandbox's and the stand-in kubelet's staged stops)."""

from __future__ import annotations

# Notes when SIGTERM arrives (CLOCK_MONOTONIC, the clock of asyncio's loop) in the file named by its
# first argument, and carries on; prints `ready` once its handler is in place.
STUBBORN = (
    "import signal, sys, time\n"
    "def noted(*_):\n"
    "    with open(sys.argv[1], 'a') as f: f.write(f'{time.monotonic()}\\n')\n"
    "signal.signal(signal.SIGTERM, noted)\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)
