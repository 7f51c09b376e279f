"""A process that has imported PyYAML and pydantic, then idles."""

import time

import pydantic
import yaml

assert yaml.__version__ and pydantic.VERSION
print("ready", flush=True)
while True:
    time.sleep(1)
