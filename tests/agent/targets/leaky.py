"""A process whose `leak_some` keeps appending fresh buffers to a module-level list."""

import time

LEAKED: list[bytearray] = []


def leak_some(count: int) -> None:
    for _ in range(count):
        LEAKED.append(bytearray(4096))  # the leaking line


print("ready", flush=True)
while True:
    leak_some(20)
    time.sleep(0.01)
