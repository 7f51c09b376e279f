"""A process that spends nearly all its time in one pure-Python function, `burn_cpu`."""

import sys


def burn_cpu(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


print("ready", flush=True)
while True:
    burn_cpu(200_000)
    if sys.argv[1:] == ["--once"]:
        break
