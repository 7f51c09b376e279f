"""A Python process with a non-Python child (`sleep`), for scope and detection tests."""

import signal
import subprocess
import sys
import time

child = subprocess.Popen(["sleep", "300"])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `finally` reaps the child
print(f"ready {child.pid}", flush=True)
try:
    while True:
        time.sleep(1)
finally:
    child.kill()
    child.wait()
