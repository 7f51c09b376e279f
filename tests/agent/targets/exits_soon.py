"""A process that burns CPU for the number of seconds given, then exits."""

import sys
import time


def spin_until(deadline: float) -> None:
    while time.monotonic() < deadline:
        pass


print("ready", flush=True)
spin_until(time.monotonic() + float(sys.argv[1]))
