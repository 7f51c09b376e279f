"""The debug agent (`wfhost-agent`): one subcommand per debug action, one JSON object on stdout.

It runs inside the ephemeral debug container (or as a plain local process in tests and the demo)
and drives py-spy, gdb, memray, tracemalloc and debugpy against a Python process it can see.
"""
