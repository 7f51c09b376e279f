"""A process with two named worker threads parked in `wait_for_work`, and an idle main thread."""

import threading
import time


def wait_for_work(stop: threading.Event, greeting: str) -> None:
    secret_number = 4242
    while not stop.wait(0.5):
        _ = (greeting, secret_number)


stop = threading.Event()
for name in ("worker-alpha", "worker-beta"):
    threading.Thread(target=wait_for_work, args=(stop, f"hello from {name}"), name=name, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(1)
